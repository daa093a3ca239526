"""What stands between ``POST /token`` and password guessing: rate limits and a bound on hash checks.

- Failed logins are counted per user name and per client address in fixed windows
  (``SKIT_API_LOGIN_LIMIT_PER_USER``, ``SKIT_API_LOGIN_LIMIT_PER_CLIENT``); past either limit a login is
  answered 429 with ``Retry-After`` *before* any password is hashed. A success does not reset the counts:
  a guesser who finds the password early still spent their budget.
- The counters live in the run database (``SKIT_DATABASE_URL``), so every API process on that database
  enforces the same limits; a process also remembers a window it saw full, so a flood from one address is
  refused without a database round trip until the window ends.
- At most ``SKIT_API_LOGIN_CONCURRENCY`` password hashes are checked at once per process (argon2id holds
  ~19 MiB and a core for ~0.1 s), in threads of their own, never on the event loop nor in the pool that
  serves requests; a few more logins may wait their turn, and past that they are answered 503 with
  ``Retry-After`` (before the database is asked). On Linux those threads run at a lower priority (nice
  10), so a flood of guesses yields the CPU to requests carrying a token.
- Every failed login is logged (user name, client address, whether the user exists); never the password.

Why ``limits``: a maintained implementation of the windows and of limit strings such as ``10 per 5
minutes``. Its storages are memory, Redis, Memcached, MongoDB and etcd; :class:`SqlStorage` adds the
database we already have, so a shared limit needs no new service.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi.concurrency import run_in_threadpool
from limits import RateLimitItem
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from skit_pipelines.api.auth import AuthError, authenticate
from skit_pipelines.api.db import rate_limits
from skit_pipelines.api.settings import ApiSettings, ApiUser, parse_limit
from skit_pipelines.errors import SkitPipelinesError

logger = logging.getLogger(__name__)

# Logins that may wait for a free hash check, per allowed concurrent check; past that: 503.
QUEUE_PER_SLOT = 4
BUSY_RETRY_AFTER_SECONDS = 1
# Windows seen full, remembered per process; more distinct keys than this (a flood of made-up user names)
# and the expired ones are dropped.
MAX_REMEMBERED_BLOCKS = 10_000
HASHER_NICE = 10


def _lower_priority() -> None:
    """Nice the calling thread (Linux: a thread id is a valid ``PRIO_PROCESS`` target); elsewhere nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHER_NICE)
    except (AttributeError, OSError):
        pass


class SqlStorage(Storage):
    """A ``limits`` storage in a SQLAlchemy database (table ``api_rate_limits``): fixed-window counters.

    ``incr`` is one conditional UPDATE (or the INSERT of a new window), atomic on SQLite and PostgreSQL, so
    processes sharing the database count together.
    """

    STORAGE_SCHEME = None  # built with an engine, not from a URI

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        for _ in range(3):  # a concurrent INSERT of the same new key: count again with the row in place
            try:
                return self._incr(key, expiry, amount)
            except sa.exc.IntegrityError:
                continue
        raise RuntimeError(f"could not count rate limit key {key!r}")

    def _incr(self, key: str, expiry: int, amount: int) -> int:
        now = time.time()
        table = rate_limits
        expired = table.c.expires_at <= now
        with self.engine.connect().execution_options(immediate=True) as conn, conn.begin():
            updated = conn.execute(
                table.update()
                .where(table.c.key == key)
                .values(
                    count=sa.case((expired, amount), else_=table.c.count + amount),
                    expires_at=sa.case((expired, now + expiry), else_=table.c.expires_at),
                )
            )
            if updated.rowcount == 0:
                conn.execute(table.delete().where(expired))  # new windows are rare: tidy up old ones
                conn.execute(table.insert().values(key=key, count=amount, expires_at=now + expiry))
            return int(conn.execute(sa.select(table.c.count).where(table.c.key == key)).scalar_one())

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(
                sa.select(rate_limits.c.count).where(
                    rate_limits.c.key == key, rate_limits.c.expires_at > time.time()
                )
            ).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            expires = conn.execute(
                sa.select(rate_limits.c.expires_at).where(rate_limits.c.key == key)
            ).scalar()
        return float(expires) if expires is not None and expires > time.time() else time.time()

    def check(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(sa.select(1))
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return int(conn.execute(rate_limits.delete()).rowcount)

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(rate_limits.delete().where(rate_limits.c.key == key))


class LoginRefused(SkitPipelinesError):
    """A login not even checked: too many failures (429) or too many checks in progress (503)."""

    def __init__(self, status_code: int, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Limit:
    item: RateLimitItem
    identifiers: tuple[str, ...]
    refusal: str  # what the 429 says

    @property
    def key(self) -> str:
        return self.item.key_for(*self.identifiers)


def _digest(text: str) -> str:
    """Counter keys hold a digest: a user name typed into the wrong field may be a password."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class LoginGuard:
    """Checks one login at a time through the limits; one per API process, sharing counters via the DB."""

    def __init__(self, engine: sa.Engine, settings: ApiSettings) -> None:
        self.settings = settings
        self.limiter = FixedWindowRateLimiter(SqlStorage(engine))
        self.per_user = parse_limit(settings.api_login_limit_per_user)
        self.per_client = parse_limit(settings.api_login_limit_per_client)
        self.concurrency = settings.api_login_concurrency
        self._slots = asyncio.Semaphore(self.concurrency)
        self._hashers = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="password-check", initializer=_lower_priority
        )
        self._waiting = 0
        self._blocked: dict[str, float] = {}  # key → end of a window seen full (epoch seconds)

    def _limits(self, username: str, client: str) -> list[_Limit]:
        return [
            _Limit(self.per_user, ("login-user", _digest(username)), "too many failed logins for this user"),
            _Limit(self.per_client, ("login-client", client), "too many failed logins from this address"),
        ]

    async def login(self, username: str, password: str, client: str) -> ApiUser:
        """The user, or AuthError (wrong credentials) or LoginRefused (limited, busy)."""
        limits = self._limits(username, client)
        self._refuse_if_blocked(limits, time.time())  # a known-full window: no database, no hash
        if self._slots.locked() and self._waiting >= self.concurrency * QUEUE_PER_SLOT:
            raise LoginRefused(  # before the database: a flood must not turn into database load either
                503,
                "too many logins are being checked right now; try again in a moment",
                BUSY_RETRY_AFTER_SECONDS,
            )
        self._waiting += 1
        try:
            await run_in_threadpool(self._check_limits, limits, username, client)
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._hashers, authenticate, self.settings, username, password)
        except AuthError:
            await run_in_threadpool(self._record_failure, limits)
            logger.warning(
                "failed login for %s user %r from %s",
                "known" if username in self.settings.users else "unknown",
                username[:100],
                client,
            )
            raise
        finally:
            self._slots.release()

    def close(self) -> None:
        self._hashers.shutdown(wait=False, cancel_futures=True)

    def _refuse_if_blocked(self, limits: list[_Limit], now: float) -> None:
        for limit in limits:
            until = self._blocked.get(limit.key, 0.0)
            if until > now:
                raise LoginRefused(429, f"{limit.refusal}; try again later", math.ceil(until - now))

    def _check_limits(self, limits: list[_Limit], username: str, client: str) -> None:
        for limit in limits:
            if self.limiter.test(limit.item, *limit.identifiers):
                continue
            until = self.limiter.get_window_stats(limit.item, *limit.identifiers).reset_time
            self._remember_block(limit.key, until)
            logger.warning(
                "login refused (%s): user %r from %s, until the window ends in %.0f s",
                limit.refusal,
                username[:100],
                client,
                until - time.time(),
            )
            raise LoginRefused(
                429, f"{limit.refusal}; try again later", max(1, math.ceil(until - time.time()))
            )

    def _record_failure(self, limits: list[_Limit]) -> None:
        for limit in limits:
            self.limiter.hit(limit.item, *limit.identifiers)

    def _remember_block(self, key: str, until: float) -> None:
        if len(self._blocked) >= MAX_REMEMBERED_BLOCKS:
            now = time.time()
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
            if len(self._blocked) >= MAX_REMEMBERED_BLOCKS:
                self._blocked.clear()
        self._blocked[key] = until
