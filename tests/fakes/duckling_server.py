"""A fake Duckling: a real HTTP server on 127.0.0.1 that speaks Duckling's ``/parse`` protocol.

Why a real server rather than mocking httpx: ``DucklingParser`` is then exercised end to end (form
encoding, retries on connection errors and 5xx, JSON decoding), so a test fails if our requests would fail
against Duckling's wire format.

Protocol, as in Duckling's ``exe/ExampleMain.hs``: ``POST /parse`` with form fields ``text`` (required:
without it HTTP 422 ``Need a 'text' parameter to parse``), ``lang``, ``locale``, ``dims`` (JSON list),
``tz`` (default America/Los_Angeles), ``reftime`` (integer epoch milliseconds; anything else is a 500, as
Haskell's ``read`` fails) and ``latent``. The answer is a JSON list of ``{body, start, end, dim, latent,
value}``, filtered to the requested ``dims`` (all when none). ``GET /`` answers ``quack!``.

Only a small fixed set of texts is known (:data:`KNOWN_TEXTS`); anything else answers ``[]`` like a text
Duckling finds nothing in. Values follow Duckling's documented JSON (README "Supported dimensions") and
are computed from the request's reftime and tz, so answers stay right for any reference time.

Use the ``duckling_server`` fixture (``pytest_plugins = ["tests.fakes.duckling_server"]``): it starts the
server and yields it; ``server.url`` is the base URL for ``SKIT_DUCKLING_URL``. ``server.requests`` holds
each request's form fields; ``server.fail(times, status)`` makes the next ``times`` requests answer
``status`` (e.g. 503) to exercise retries.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest

from tests.fakes.http import LoopbackHTTPServer, read_body, reply, reply_json


@dataclass
class DucklingRequest:
    path: str
    form: dict[str, str]

    @property
    def dims(self) -> list[str]:
        return json.loads(self.form.get("dims") or "[]")


def _stamp(moment: dt.datetime) -> str:
    """Duckling's timestamp format: milliseconds and a numeric offset (``2013-02-13T00:00:00.000-02:00``)."""
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000") + f"{offset[:3]}:{offset[3:]}"


def _time_value(moment: dt.datetime, grain: str) -> dict[str, Any]:
    single = {"value": _stamp(moment), "grain": grain, "type": "value"}
    return {"values": [single], **single}


def _at(now: dt.datetime, days: int, hour: int = 0) -> dt.datetime:
    day = now.date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=now.tzinfo)


def _next_friday(now: dt.datetime) -> dt.datetime:
    """Duckling's "next friday": the Friday of next week."""
    ahead = (4 - now.weekday()) % 7 or 7
    if now.weekday() + ahead < 7:
        ahead += 7
    return _at(now, ahead)


def _entity(text: str, body: str, dim: str, value: dict[str, Any], latent: bool = False) -> dict[str, Any]:
    start = text.index(body)
    end = start + len(body)
    return {"body": body, "start": start, "end": end, "dim": dim, "latent": latent, "value": value}


Answer = Callable[[str, dt.datetime], list[dict[str, Any]]]

#: What this fake Duckling understands: text → entities for a reference time (aware, in the request's tz).
KNOWN_TEXTS: dict[str, Answer] = {
    "tomorrow": lambda t, now: [_entity(t, t, "time", _time_value(_at(now, 1), "day"))],
    "tomorrow at 5 pm": lambda t, now: [
        _entity(t, t, "time", _time_value(_at(now, 1, 17), "hour")),
        _entity(t, "5", "number", {"value": 5, "type": "value"}),
    ],
    "next friday": lambda t, now: [_entity(t, t, "time", _time_value(_next_friday(now), "day"))],
    "after 5 pm": lambda t, now: [
        _entity(
            t,
            t,
            "time",
            {
                "values": [{"type": "interval", "from": {"value": _stamp(_at(now, 0, 17)), "grain": "hour"}}],
                "type": "interval",
                "from": {"value": _stamp(_at(now, 0, 17)), "grain": "hour"},
            },
        )
    ],
    "three months": lambda t, now: [
        _entity(
            t,
            t,
            "duration",
            {
                "value": 3,
                "month": 3,
                "type": "value",
                "unit": "month",
                "normalized": {"value": 7776000, "unit": "second"},
            },
        )
    ],
    "90 minutes": lambda t, now: [
        _entity(
            t,
            t,
            "duration",
            {
                "value": 90,
                "minute": 90,
                "type": "value",
                "unit": "minute",
                "normalized": {"value": 5400, "unit": "second"},
            },
        ),
        _entity(t, "90", "number", {"value": 90, "type": "value"}),
    ],
    "five thousand rupees": lambda t, now: [
        _entity(t, t, "amount-of-money", {"value": 5000, "type": "value", "unit": "INR"}),
        _entity(t, "five thousand", "number", {"value": 5000, "type": "value"}),
    ],
    "$250": lambda t, now: [
        _entity(t, t, "amount-of-money", {"value": 250, "type": "value", "unit": "$"}),
        _entity(t, "250", "number", {"value": 250, "type": "value"}),
    ],
    "between 5 and 10 dollars": lambda t, now: [
        _entity(
            t,
            t,
            "amount-of-money",
            {"type": "interval", "from": {"value": 5, "unit": "$"}, "to": {"value": 10, "unit": "$"}},
        ),
        _entity(t, "5", "number", {"value": 5, "type": "value"}),
        _entity(t, "10", "number", {"value": 10, "type": "value"}),
    ],
    "5000": lambda t, now: [_entity(t, t, "number", {"value": 5000, "type": "value"})],
    "four": lambda t, now: [_entity(t, t, "number", {"value": 4, "type": "value"})],
    "two and a half": lambda t, now: [_entity(t, t, "number", {"value": 2.5, "type": "value"})],
}


class FakeDuckling(LoopbackHTTPServer):
    """Start with ``start()`` or as a context manager; ``url`` is the base URL (no trailing slash)."""

    thread_name = "fake-duckling"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[DucklingRequest] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.base_url

    def fail(self, times: int = 1, status: int = 503) -> None:
        """Answer the next ``times`` requests with HTTP ``status``."""
        with self._lock:
            self._failures.extend([status] * times)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.command == "GET":  # Duckling's liveness probe, not a parse: not recorded
            found = handler.path == "/"
            reply(handler, 200 if found else 404, b"quack!" if found else b"", content_type="text/plain")
            return
        body = read_body(handler).decode("utf-8")
        form = dict(parse_qsl(body, keep_blank_values=True))
        with self._lock:
            self.requests.append(DucklingRequest(handler.path, form))
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            reply(handler, failure, b"Service Unavailable", content_type="text/plain")
            return
        if handler.path != "/parse":
            reply(handler, 404, b"", content_type="text/plain")
            return
        if "text" not in form:
            reply(handler, 422, b"Need a 'text' parameter to parse", content_type="text/plain")
            return
        try:
            zone = ZoneInfo(form.get("tz") or "America/Los_Angeles")
            millis = int(form["reftime"]) if "reftime" in form else None
            dims = json.loads(form.get("dims") or "[]")
        except (ValueError, KeyError):
            reply(handler, 500, b"Internal Server Error", content_type="text/plain")
            return
        now = (
            dt.datetime.fromtimestamp(millis / 1000, tz=zone)
            if millis is not None
            else dt.datetime.now(tz=zone)
        )
        answer = KNOWN_TEXTS.get(form["text"])
        entities = answer(form["text"], now) if answer else []
        if dims:
            entities = [e for e in entities if e["dim"] in dims]
        reply_json(handler, 200, entities)


@pytest.fixture
def duckling_server() -> Iterator[FakeDuckling]:
    """A running fake Duckling on 127.0.0.1 (set ``SKIT_DUCKLING_URL`` to ``duckling_server.url``)."""
    with FakeDuckling() as server:
        yield server
