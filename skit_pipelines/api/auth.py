"""Users, passwords and access tokens of the HTTP API (OAuth2 password flow → JWT bearer tokens).

Why pwdlib: the maintained successor of passlib (which is unmaintained and breaks with bcrypt ≥ 4.1), with
argon2id as the default hash and bcrypt still verifiable, so hashes made for the reference keep working.
Why PyJWT: small, maintained, and it enforces ``exp`` (and any claim we ``require``) while decoding.

Token version: every token carries ``ver``, a keyed digest of the user's password hash at issue time. A
password change (a new hash in ``SKIT_API_USERS``) changes the digest, so the user's older tokens stop
working with nothing stored. It is keyed with the signing secret: the claim tells a reader nothing about
the hash.

Timing: a login for an unknown user still verifies a password against a dummy hash, so the time a login
takes does not tell which user names exist; hash verification itself compares in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from skit_pipelines.api.settings import ApiSettings, ApiUser
from skit_pipelines.errors import SkitPipelinesError

TOKEN_TYPE = "bearer"


class AuthError(SkitPipelinesError):
    """Credentials or a token that do not let the caller in; the message is safe to show."""


# OWASP's argon2id baseline (19 MiB, 2 iterations, 1 lane): ~0.1 s a login on a 2-core machine. pwdlib's
# default (64 MiB, 3 iterations, 4 lanes) measured 0.8 s here, which turns a burst of logins into a DoS.
# Verification reads the parameters from each hash, so stronger hashes made elsewhere still verify.
ARGON2 = {"time_cost": 2, "memory_cost": 19_456, "parallelism": 1}


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(**ARGON2), BcryptHasher()))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return password_hasher().hash("not a real password: equalises login timing")


def hash_password(password: str) -> str:
    """An argon2id hash for ``SKIT_API_USERS``."""
    if not password:
        raise ValueError("the password is empty")
    return password_hasher().hash(password)


def authenticate(settings: ApiSettings, username: str, password: str) -> ApiUser:
    """The user whose password matches, else :class:`AuthError` (same message for any mismatch)."""
    user = settings.users.get(username)
    hashed = user.password_hash if user is not None else _dummy_hash()
    try:
        valid = password_hasher().verify(password, hashed)
    except Exception:  # an unknown hash format in the settings: never let a malformed entry in
        valid = False
    if user is None or not valid:
        raise AuthError("Incorrect username or password")
    return user


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: dt.datetime


def issue_token(settings: ApiSettings, user: ApiUser, now: dt.datetime | None = None) -> IssuedToken:
    now = now or dt.datetime.now(dt.timezone.utc)
    expires = now + dt.timedelta(minutes=settings.jwt_expire_minutes)
    claims = {
        "sub": user.name,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "ver": token_version(settings, user),
    }
    token = jwt.encode(claims, settings.jwt_key(), algorithm=settings.jwt_algorithm)
    return IssuedToken(access_token=token, expires_at=expires)


def token_version(settings: ApiSettings, user: ApiUser) -> str:
    """Changes when the user's password hash does (see the module docstring)."""
    key = settings.jwt_key().encode()
    return hmac.new(key, b"token-version:" + user.password_hash.encode(), hashlib.sha256).hexdigest()[:16]


def verify_token(settings: ApiSettings, token: str) -> ApiUser:
    """The user a valid, unexpired token was issued to (who must still be configured)."""
    if not token:
        raise AuthError("Could not validate credentials")
    try:
        claims = jwt.decode(
            token,
            settings.jwt_key(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("Could not validate credentials: the token has expired") from None
    except jwt.PyJWTError:
        raise AuthError("Could not validate credentials") from None
    user = settings.users.get(str(claims.get("sub", "")))
    if user is None:  # removed from SKIT_API_USERS since the token was issued
        raise AuthError("Could not validate credentials")
    version = claims.get("ver")
    if not isinstance(version, str) or not hmac.compare_digest(version, token_version(settings, user)):
        raise AuthError("Could not validate credentials: the password changed since the token was issued")
    return user
