"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records every request.

Why a real server rather than mocking ``WebClient``: the code under test keeps using slack_sdk end to end
(request encoding, ``ok: false`` handling, retry handlers, the three-step file upload), so a test fails if
our calls would fail against Slack's wire format, not only if we called a mock differently.

Use the ``slack_server`` fixture (``pytest_plugins = ["tests.fakes.slack_server"]`` in a test module or
the root conftest). It starts the server, points ``SKIT_SLACK_API_URL`` at it and ``SKIT_SLACK_TOKEN`` at
``FakeSlackServer.TOKEN``, and clears the settings cache. Then::

    send_notification("hi", channel="#ops", settings=get_settings())
    (req,) = slack_server.calls("chat.postMessage")
    assert req.args["text"] == "hi" and req.authorization == f"Bearer {slack_server.token}"

Import nothing else from this module at the top of a test module that lists it in ``pytest_plugins`` (use
``TYPE_CHECKING`` for the type): an earlier import keeps pytest from rewriting its asserts, with a warning.

Behaviour:
- Any token other than ``server.token`` gets ``{"ok": false, "error": "invalid_auth"}`` (no token:
  ``not_authed``), as Slack does, with HTTP 200.
- ``chat.postMessage`` → ``{"ok": true, "channel": "C123", "ts": "1700000000.000100", "message": {...}}``.
- ``files.getUploadURLExternal`` → an ``upload_url`` on this server (``/upload/F…``) and a ``file_id``;
  a POST there stores the bytes in ``server.uploads[file_id]``; ``files.completeUploadExternal`` answers the
  files with their titles.
- ``auth.test`` answers a bot identity; unknown methods answer ``unknown_method``.
- ``server.respond(method, payload, status=200, headers=None, times=None)`` overrides the answer of one
  method (``times`` answers, or forever), e.g. a 429 with ``Retry-After`` or ``channel_not_found``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import SettingsEnv
from tests.fakes.http import LoopbackHTTPServer, read_body, reply, reply_json

POST_MESSAGE_CHANNEL = "C123"
POST_MESSAGE_TS = "1700000000.000100"


@dataclass
class RecordedRequest:
    """One request as the server saw it. ``args`` merges query string, form fields and a JSON object body."""

    http_method: str
    path: str
    method: str  # Slack API method (last path segment), e.g. "chat.postMessage"; "upload" for upload URLs
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")

    @property
    def args(self) -> dict[str, Any]:
        merged: dict[str, Any] = dict(self.form)
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged


@dataclass
class _Override:
    payload: Any
    status: int
    headers: dict[str, str]
    times: int | None


class FakeSlackServer(LoopbackHTTPServer):
    """Start with ``start()`` (or as a context manager); ``url`` is the API base URL ending in ``/``."""

    TOKEN = "xoxb-fake-test-token"
    CHANNEL = POST_MESSAGE_CHANNEL  # what chat.postMessage answers as "channel"
    TS = POST_MESSAGE_TS  # ... and as "ts"

    thread_name = "fake-slack"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.uploads: dict[str, bytes] = {}
        self._overrides: dict[str, list[_Override]] = {}
        self._lock = threading.Lock()
        self._file_counter = 0

    @property
    def base(self) -> str:
        return self.base_url

    @property
    def url(self) -> str:
        """Slack Web API base URL (what ``SKIT_SLACK_API_URL`` should be)."""
        return f"{self.base}/api/"

    # -- test helpers ----------------------------------------------------------------------------------
    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests for one Slack API method, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def respond(
        self,
        method: str,
        payload: Any,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer ``method`` with ``payload`` (JSON) ``times`` times (None: until cleared)."""
        with self._lock:
            self._overrides.setdefault(method, []).append(
                _Override(payload, status, dict(headers or {}), times)
            )

    def clear_overrides(self) -> None:
        with self._lock:
            self._overrides.clear()

    # -- request handling ------------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = read_body(handler)
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        segments = [s for s in parts.path.split("/") if s]
        is_upload = len(segments) >= 2 and segments[-2] == "upload"
        method = "upload" if is_upload else (segments[-1] if segments else "")
        form: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
        parsed_json: Any = None
        content_type = headers.get("content-type", "")
        if not is_upload:
            if content_type.startswith("application/json"):
                parsed_json = json.loads(body or b"null")
            elif content_type.startswith("application/x-www-form-urlencoded"):
                form.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            elif content_type.startswith("multipart/form-data"):
                form.update(_parse_multipart(content_type, body))
        request = RecordedRequest(handler.command, parts.path, method, headers, body, form, parsed_json)
        with self._lock:
            self.requests.append(request)

        if is_upload:
            with self._lock:
                self.uploads[segments[-1]] = body
            reply(handler, 200, f"OK - {len(body)}".encode(), content_type="text/plain")
            return

        status, payload, extra_headers = self._answer(request)
        reply_json(
            handler, status, payload, content_type="application/json; charset=utf-8", headers=extra_headers
        )

    def _answer(self, request: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            queue = self._overrides.get(request.method)
            if queue:
                override = queue[0]
                if override.times is not None:
                    override.times -= 1
                    if override.times <= 0:
                        queue.pop(0)
                return override.status, override.payload, override.headers

        token = request.authorization.removeprefix("Bearer ").strip() or str(request.args.get("token", ""))
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}

        args = request.args
        if request.method == "chat.postMessage":
            message = {"type": "message", "text": args.get("text", ""), "ts": POST_MESSAGE_TS}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            return (
                200,
                {"ok": True, "channel": POST_MESSAGE_CHANNEL, "ts": POST_MESSAGE_TS, "message": message},
                {},
            )
        if request.method == "files.getUploadURLExternal":
            if not args.get("filename") or not args.get("length"):
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            with self._lock:
                self._file_counter += 1
                file_id = f"F{self._file_counter:06d}"
            return 200, {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/{file_id}"}, {}
        if request.method == "files.completeUploadExternal":
            files = json.loads(args.get("files") or "[]")
            with self._lock:
                missing = [f["id"] for f in files if f.get("id") not in self.uploads]
            if missing:
                return 200, {"ok": False, "error": "file_upload_not_complete"}, {}
            answered = [
                {"id": f["id"], "title": f.get("title", ""), "name": f.get("title", "")} for f in files
            ]
            return 200, {"ok": True, "files": answered}, {}
        if request.method == "auth.test":
            return (
                200,
                {"ok": True, "user": "skit-bot", "user_id": "UBOT", "team_id": "T123", "bot_id": "B123"},
                {},
            )
        return 200, {"ok": False, "error": "unknown_method"}, {}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str]:
    """Text fields of a multipart/form-data body (file parts are kept as text too, decoded leniently)."""
    message = BytesParser(policy=default_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = payload.decode("utf-8", errors="replace")
    return fields


@pytest.fixture
def slack_server(settings_env: SettingsEnv) -> Iterator[FakeSlackServer]:
    """A running fake Slack; the settings point at it (API URL and a valid token)."""
    with FakeSlackServer() as server:
        settings_env(SKIT_SLACK_API_URL=server.url, SKIT_SLACK_TOKEN=server.token)
        yield server
