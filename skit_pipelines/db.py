"""The one engine factory and the one timestamp type for the product's databases.

Why one: the run tracker (``api/db.py``), the call warehouse (``warehouse/schema.py``) and the metrics tables
(``metrics/store.py``) may share one ``SKIT_DATABASE_URL``; two factories and two timestamp conventions in
one database meant a reader had to know which module wrote a row to know how to read it.

On disk nothing changed: :class:`UtcDateTime` is ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and SQLite's
``DATETIME`` text (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC, no offset): what both old conventions stored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["UtcDateTime", "create_engine", "ensure_sqlite_parent"]

SQLITE_LOCK_TIMEOUT_S = 30


class UtcDateTime(sa.types.TypeDecorator):
    """A timezone-aware timestamp stored as UTC on every backend.

    Values written must be aware (a naive datetime is a bug at the caller: which zone was meant?);
    values read are aware and in UTC, also rows written before this type existed (naive UTC text on SQLite).
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.DateTime(timezone=True))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: stored times must be timezone-aware")
        utc = value.astimezone(dt.timezone.utc)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _is_memory(url: sa.engine.URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def create_engine(url: str, *, bulk_writes: bool = False) -> sa.Engine:
    """An engine for ``url`` that behaves under concurrent writers on both backends.

    PostgreSQL: a checked pool (``pool_pre_ping``: a connection dropped by the server is replaced, not
    handed out). SQLite: WAL lets readers run beside the writer; a writer waits up to 30 s for the lock
    instead of failing; foreign keys on; transactions start with our own ``BEGIN`` (pysqlite's is
    deferred and skipped for some statements), ``BEGIN IMMEDIATE`` on connections opened with
    ``execution_options(immediate=True)`` so two writers never deadlock upgrading read locks.
    ``bulk_writes`` (warehouse and metrics loading) relaxes ``synchronous`` to NORMAL: in WAL mode that
    cannot corrupt the file, it only risks the last commits on a power loss, which a reload repeats.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    pool_args: dict[str, Any] = {} if _is_memory(parsed) else {"pool_size": 10, "max_overflow": 40}
    engine = sa.create_engine(
        url, connect_args={"timeout": SQLITE_LOCK_TIMEOUT_S, "check_same_thread": False}, **pool_args
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_TIMEOUT_S * 1000}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        if bulk_writes:
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _use_wal(cursor: Any) -> None:
    """Switch a SQLite file to WAL once, waiting out a concurrent opener instead of failing.

    Why not a plain ``PRAGMA journal_mode=WAL`` on every connect: the switch needs an exclusive lock, and
    SQLite answers "database is locked" at once, without its busy handler, when another process holds any
    lock on the file, as happens when two processes open a fresh database together. WAL is stored in the
    file, so a connection that finds it already set changes nothing; the switch itself is retried until
    the lock timeout.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_LOCK_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()
            if mode and str(mode[0]).lower() in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def ensure_sqlite_parent(url: str) -> None:
    """Create the folder of a SQLite file so that a fresh machine needs no setup."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not _is_memory(parsed):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
