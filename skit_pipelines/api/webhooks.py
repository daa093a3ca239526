"""Webhook requests: the signed POST of a run's result, one attempt at a time, and the retry schedule.

Why one attempt per call (and not tenacity's retry loop): the schedule must survive a restart of the API,
so each attempt's outcome and the time of the next one are written to the database, and whichever API
process is alive then makes the next attempt. The delay doubles from ``webhook_backoff_seconds`` up to
``webhook_backoff_max_seconds``, with ±25 % jitter so that many failing webhooks do not retry in lockstep,
until ``webhook_retry_seconds`` have passed since the first attempt.

Delivery is at-least-once. ``X-Skit-Delivery`` is the same on every attempt of one delivery (the run id for
the final webhook): receivers de-duplicate on it. An attempt that times out is retried, since nobody knows
whether the receiver acted on it, so a receiver slower than ``SKIT_WEBHOOK_TIMEOUT_SECONDS`` gets the same
delivery again; it should answer 2xx at once and do its work afterwards. Answers that asking again will not
change stop the retries at once: 3xx (redirects are never followed: a webhook must not be bounced to another
host) and the 4xx in :data:`PERMANENT_STATUSES`.

Private targets (``SKIT_WEBHOOK_ALLOW_PRIVATE=false``): the host is resolved again at each attempt, every
address must be public, and the request goes to the address that was checked (with the URL's ``Host`` and
TLS server name), so a DNS answer that changes between the check and the connection (DNS rebinding) cannot
send it to a private address.

Signature (when ``SKIT_WEBHOOK_SECRET`` is set): ``X-Skit-Signature: sha256=<hex>`` where ``<hex>`` is
HMAC-SHA256 over ``"<X-Skit-Timestamp>.<raw body>"``. Signing the timestamp lets a receiver refuse replays
of an old body. ``X-Skit-Delivery`` (the run id) is the same for every attempt: a receiver that saw it
already can answer 2xx and ignore the repeat (the one window where a repeat can happen is a crash between
the receiver's 2xx and our record of it).

Why httpx: the project's HTTP client (timeouts, connection errors as exceptions); never follows redirects,
so a webhook cannot be bounced to another host.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from skit_pipelines import __version__
from skit_pipelines.netaddr import PrivateTarget, pinned_target, public_addresses

SIGNATURE_HEADER = "X-Skit-Signature"
TIMESTAMP_HEADER = "X-Skit-Timestamp"
DELIVERY_HEADER = "X-Skit-Delivery"
# Answers that will not change by asking again: stop retrying.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str
    seconds: float
    permanent: bool = False


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    secret: str = "",
    timeout: float = 10.0,
    allow_private: bool = True,
) -> AttemptResult:
    """One attempt: POST ``payload``; 2xx is success. Never raises.

    Unless ``allow_private``, the host is resolved now and the request pinned to a checked public address.
    """
    connect_to = None
    if not allow_private:
        parts = urlsplit(url)
        try:
            connect_to = public_addresses(parts.hostname or "", parts.port or 443)[0]
        except PrivateTarget as exc:
            return AttemptResult(False, None, f"refused: {exc}", 0.0, permanent=True)
        except ValueError as exc:  # UnresolvableHost: DNS may answer next time
            return AttemptResult(False, None, str(exc), 0.0)
    return post_to(
        url, payload, delivery_id=delivery_id, secret=secret, timeout=timeout, connect_to=connect_to
    )


def post_to(
    url: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    secret: str = "",
    timeout: float = 10.0,
    connect_to: str | None = None,
) -> AttemptResult:
    """POST once to ``url``, or to the IP address ``connect_to`` with ``url``'s host name as Host and SNI."""
    body = encode_body(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"skit-pipelines/{__version__}",
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    target = httpx.URL(url)
    extensions: dict[str, Any] = {}
    if connect_to is not None:
        target, pinned_headers, extensions = pinned_target(target, connect_to)
        headers |= pinned_headers
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=connect_to is None) as client:
            response = client.post(target, content=body, headers=headers, extensions=extensions)
    except httpx.TimeoutException as exc:
        error = (
            f"{type(exc).__name__}: no answer within {timeout:g} s (the receiver may have acted on it; the "
            f"next attempt carries the same {DELIVERY_HEADER})"
        )
        return AttemptResult(False, None, error, time.monotonic() - started)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return AttemptResult(False, None, f"{type(exc).__name__}: {reason}"[:500], time.monotonic() - started)
    seconds = time.monotonic() - started
    if 200 <= response.status_code < 300:
        return AttemptResult(True, response.status_code, "", seconds)
    if 300 <= response.status_code < 400:
        error = f"HTTP {response.status_code}: redirects are not followed (set webhook_uri to the final URL)"
        return AttemptResult(False, response.status_code, error, seconds, permanent=True)
    snippet = " ".join(response.text[:200].split())
    error = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
    return AttemptResult(
        False, response.status_code, error, seconds, response.status_code in PERMANENT_STATUSES
    )


def next_delay(attempt: int, *, initial: float, maximum: float) -> float:
    """Seconds before attempt ``attempt + 1`` (``attempt`` ≥ 1 attempts made so far)."""
    base = min(initial * (2 ** max(attempt - 1, 0)), maximum)
    return base * (0.75 + random.random() * 0.5)


def next_attempt(
    first_attempt_at: dt.datetime,
    attempt: int,
    *,
    window: float,
    initial: float,
    maximum: float,
    now: dt.datetime,
) -> dt.datetime | None:
    """When to try again, or None when the retry window is over."""
    when = now + dt.timedelta(seconds=next_delay(attempt, initial=initial, maximum=maximum))
    if (when - first_attempt_at).total_seconds() > window:
        return None
    return when


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` for logs: no user, password, query or fragment (they may hold tokens)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_webhook_uri(uri: str, *, allow_private: bool) -> str:
    """The URI if it is an absolute http(s) URL (and public, unless private targets are allowed)."""
    if (
        not uri.isprintable() or " " in uri
    ):  # NUL, controls, lone surrogates: no URL, and no database takes NUL
        raise ValueError("expected a URL without spaces or control characters")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {uri[:200]!r}")
    if not allow_private:
        public_addresses(parts.hostname, parts.port or 443)
    return uri
