"""Settings of the HTTP API, the run tracker, webhooks and the Slack bot (``SKIT_*`` variables, ``.env``).

Same conventions as :mod:`skit_pipelines.config`: pydantic-settings, every field read from ``SKIT_<NAME>``,
secrets held as ``SecretStr`` (printing the settings never leaks them), and embedded defaults that work on
a laptop. They live in their own module because only ``skit-pipelines serve`` needs them.

Users (``SKIT_API_USERS``) are a JSON object ``{"username": "<password hash>"}``; a user may instead map to
``{"password_hash": "<hash>", "namespaces": ["skit", ...]}`` to be limited to some namespaces. Hashes are
argon2 or bcrypt strings as ``skit-pipelines create-user`` prints them. There is no default user: an API
without users answers ``POST /token`` with 401 and says so in its health check.

The JWT signing secret (``SKIT_JWT_SECRET``) defaults to a random secret generated once and kept in
``SKIT_HOME/api/jwt-secret`` (mode 0600), so tokens survive a restart and every API process on the machine
agrees on it, with nothing to configure.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import limits
from limits import RateLimitItem
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

JWT_ALGORITHMS = ("HS256", "HS384", "HS512")
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


@dataclass(frozen=True)
class ApiUser:
    """A user allowed to call the API. ``namespaces`` empty means every namespace."""

    name: str
    password_hash: str
    namespaces: tuple[str, ...] = ()

    def may_use(self, namespace: str) -> bool:
        return not self.namespaces or "*" in self.namespaces or namespace in self.namespaces


class ApiSettings(BaseSettings):
    """Configuration of ``skit-pipelines serve``. Field ``x`` is read from ``SKIT_X``."""

    model_config = SettingsConfigDict(env_prefix="SKIT_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".skit"), description="Folder for local state (shared with the main settings).")

    # Authentication.
    api_users: SecretStr = Field(
        SecretStr(""),
        description='JSON object of users: {"name": "<argon2/bcrypt hash>"} or {"name": {"password_hash": '
        '"...", "namespaces": ["skit"]}}. Hashes from `skit-pipelines create-user`.',
    )
    jwt_secret: SecretStr = Field(
        SecretStr(""), description="Secret that signs access tokens (default: generated in SKIT_HOME/api)."
    )
    jwt_algorithm: str = Field("HS256", description="HMAC algorithm of access tokens: HS256, HS384 or HS512.")
    jwt_expire_minutes: float = Field(60.0, gt=0, description="Lifetime of an access token in minutes.")
    api_login_limit_per_user: str = Field(
        "10 per 5 minutes",
        description="Failed logins allowed per user name in a window; more → 429 (shared by API processes).",
    )
    api_login_limit_per_client: str = Field(
        "30 per 5 minutes",
        description="Failed logins allowed per client address in a window; more → 429.",
    )
    api_login_concurrency: int = Field(
        2,
        ge=1,
        description="Password hashes checked at the same time per API process (excess waits, then 503).",
    )
    api_docs_public: bool = Field(
        False, description="Serve /docs, /redoc and /openapi.json without a token (default: token required)."
    )
    api_max_body_bytes: int = Field(1_048_576, gt=0, description="Largest accepted request body in bytes.")
    api_public_url: str = Field(
        "http://127.0.0.1:9991",
        description="Base URL of this API, used in run links of local runs (`serve`: its host and port).",
    )

    # Runs.
    api_workers: int = Field(2, ge=1, description="Local runs executed at the same time (worker processes).")
    api_max_queued: int = Field(1000, ge=1, description="Local runs waiting for a worker before 503s.")
    api_watch_seconds: float = Field(1.0, gt=0, description="How often the watcher looks at unfinished runs.")
    api_heartbeat_seconds: float = Field(5.0, gt=0, description="How often a worker says it is alive.")
    api_worker_stale_seconds: float = Field(
        60.0, gt=0, description="A worker silent for this long is dead: its run is marked FAILED."
    )

    # Webhooks.
    webhook_secret: SecretStr = Field(
        SecretStr(""), description="HMAC-SHA256 key signing webhook bodies (X-Skit-Signature header)."
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one webhook request.")
    webhook_retry_seconds: float = Field(
        3600.0, ge=0, description="How long a failing webhook (or Slack message) is retried."
    )
    webhook_backoff_seconds: float = Field(1.0, gt=0, description="First retry delay; doubles each attempt.")
    webhook_backoff_max_seconds: float = Field(300.0, gt=0, description="Longest delay between two attempts.")
    webhook_allow_private: bool = Field(
        True, description="Allow webhook_uri on loopback/private addresses (turn off on shared servers)."
    )

    # What runs started through the API or Slack may read (skit_pipelines.readpolicy).
    api_readable_paths: str = Field(
        "",
        description="Comma list of local folders, s3:// prefixes or http(s) URL prefixes that API and Slack "
        "runs may read besides the artifact root (default: none).",
    )

    # Slack bot.
    slack_signing_secret: SecretStr = Field(
        SecretStr(""), description="Signing secret of the Slack app (verifies /slack/events)."
    )
    slack_bot_name: str = Field("", description="Bot name used in /remind commands (default: its mention).")
    slack_namespace: str = Field("skit", description="Namespace of runs created from Slack.")

    @field_validator("jwt_algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in JWT_ALGORITHMS:
            raise ValueError(
                f"unsupported JWT algorithm {value!r} (expected one of {', '.join(JWT_ALGORITHMS)})"
            )
        return value

    @field_validator("api_readable_paths")
    @classmethod
    def _readable_paths_parse(cls, value: str) -> str:
        from skit_pipelines.readpolicy import ReadPolicy, parse_roots

        ReadPolicy.create(confined=True, allowed=parse_roots(value), secrets=())  # fail at start-up
        return value

    @field_validator("api_login_limit_per_user", "api_login_limit_per_client")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        parse_limit(value)
        return value

    @field_validator("api_users")
    @classmethod
    def _users_parse(cls, value: SecretStr) -> SecretStr:
        parse_users(value.get_secret_value())  # fail at start-up, not at the first login
        return value

    @property
    def users(self) -> dict[str, ApiUser]:
        return parse_users(self.api_users.get_secret_value())

    @property
    def state_dir(self) -> Path:
        return self.home / "api"

    def start_up_warnings(self) -> list[str]:
        """What an operator should fix: weak or missing secrets, nobody able to log in."""
        warnings = []
        secret = self.jwt_secret.get_secret_value()
        if secret and len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            warnings.append(
                f"SKIT_JWT_SECRET is {len(secret.encode())} bytes: anyone who guesses it can forge tokens; "
                f"use at least {MIN_JWT_SECRET_BYTES} random bytes (or unset it to use a generated one)"
            )
        if not self.users:
            warnings.append("SKIT_API_USERS is empty: nobody can get a token (add users with create-user)")
        if not self.webhook_secret.get_secret_value():
            warnings.append("SKIT_WEBHOOK_SECRET is not set: webhooks are sent unsigned")
        return warnings

    def jwt_key(self) -> str:
        """The configured secret, or the one generated and kept under ``SKIT_HOME/api``."""
        configured = self.jwt_secret.get_secret_value()
        return configured or _persistent_secret(self.state_dir / "jwt-secret")


def parse_users(text: str) -> dict[str, ApiUser]:
    """``SKIT_API_USERS`` → users; a clear error names the user whose entry is wrong."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"SKIT_API_USERS is not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(raw, dict):
        raise ValueError('SKIT_API_USERS must be a JSON object such as {"alice": "$argon2id$..."}')
    users: dict[str, ApiUser] = {}
    for name, entry in raw.items():
        namespaces: Any = ()
        if isinstance(entry, str):
            password_hash = entry
        elif isinstance(entry, dict) and isinstance(entry.get("password_hash"), str):
            password_hash = entry["password_hash"]
            namespaces = entry.get("namespaces") or ()
            if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
                raise ValueError(f"SKIT_API_USERS: namespaces of user {name!r} must be a list of strings")
        else:
            raise ValueError(
                f"SKIT_API_USERS: user {name!r} must map to a password hash or to "
                '{"password_hash": "...", "namespaces": [...]}'
            )
        if not name.strip():
            raise ValueError("SKIT_API_USERS: a user name is empty")
        if not password_hash.startswith("$"):
            raise ValueError(
                f"SKIT_API_USERS: the password of user {name!r} is not a hash (expected an argon2 or bcrypt "
                "string starting with '$'; make one with `skit-pipelines create-user`)"
            )
        users[name] = ApiUser(name=name, password_hash=password_hash, namespaces=tuple(namespaces))
    return users


def parse_limit(text: str) -> RateLimitItem:
    """``"10 per 5 minutes"`` (or ``10/5minutes``) → a ``limits`` rate limit; ValueError in words."""
    try:
        return limits.parse(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a rate limit (expected e.g. '10 per 5 minutes' or '30/hour')"
        ) from None


def _persistent_secret(path: Path) -> str:
    """Read the secret at ``path``, creating it atomically (0600) the first time; first writer wins."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # fails if another process created it meanwhile: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    """The API settings, read once per process (``get_api_settings.cache_clear()`` after changing env)."""
    return ApiSettings()
