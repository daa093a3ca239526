"""What the fake GitLab and GitHub servers share: recorded requests and one-shot failure overrides."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http import LoopbackHTTPServer, read_body, reply, reply_json


@dataclass
class ForgeRequest:
    """One API request as the server saw it (``query`` holds the query string, ``json`` the JSON body)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None


@dataclass
class _Failure:
    method: str
    status: int
    payload: Any
    times: int


class ForgeFake(LoopbackHTTPServer):
    """Base of the forge fakes: ``requests`` records every API call; ``fail(...)`` injects answers."""

    TOKEN = "forge-secret-token-1234"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.requests: list[ForgeRequest] = []
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []

    def fail(self, method: str, status: int, payload: Any = None, *, times: int = 1) -> None:
        """Answer the next ``times`` API requests with ``method`` by ``status`` and ``payload`` (JSON; bytes
        are sent as they are, as an HTML page)."""
        self._failures.append(_Failure(method, status, payload if payload is not None else {}, times))

    def calls(self, method: str) -> list[ForgeRequest]:
        return [r for r in self.requests if r.method == method]

    def record(self, handler: BaseHTTPRequestHandler) -> ForgeRequest:
        parts = urlsplit(handler.path)
        body = read_body(handler)
        request = ForgeRequest(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in handler.headers.items()},
            json=json.loads(body) if body else None,
        )
        with self._lock:
            self.requests.append(request)
        return request

    def injected_failure(self, handler: BaseHTTPRequestHandler, request: ForgeRequest) -> bool:
        with self._lock:
            for failure in self._failures:
                if failure.method == request.method and failure.times > 0:
                    failure.times -= 1
                    if isinstance(failure.payload, bytes):  # a raw answer, e.g. an HTML page
                        reply(handler, failure.status, failure.payload, content_type="text/html")
                    else:
                        reply_json(handler, failure.status, failure.payload)
                    return True
        return False
