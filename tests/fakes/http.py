"""The lifecycle every fake HTTP server of the test suite shares: a real server on 127.0.0.1, in a thread.

Why one base: each fake (Slack, KFP, Duckling, webhook receivers, audio hosts, fault-injecting proxies) needs
the same careful plumbing — an ephemeral loopback port (no clashes between parallel runs, nothing reachable
from outside), daemon threads (a hung test cannot keep the interpreter alive), silenced request logging,
``shutdown`` then ``server_close`` (the port is released at once) — and what differs is only how it answers.
A subclass writes :meth:`LoopbackHTTPServer.handle`, which receives every request whatever its method::

    class Echo(LoopbackHTTPServer):
        def handle(self, handler: BaseHTTPRequestHandler) -> None:
            reply(handler, 200, read_body(handler), content_type="text/plain")

    with Echo() as server:
        httpx.post(server.base_url + "/x", content=b"hi")
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

#: The only address the fakes listen on: tests must never open a port reachable from another machine.
LOOPBACK = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    """A threading server that knows the fake it serves, so that one handler class serves every fake."""

    daemon_threads = True

    def __init__(self, owner: LoopbackHTTPServer, handler_class: type[BaseHTTPRequestHandler]) -> None:
        super().__init__((LOOPBACK, 0), handler_class)
        self.owner = owner


class _Handler(BaseHTTPRequestHandler):
    """Forwards every request, whatever its method, to the owning fake; logs nothing (pytest shows stderr)."""

    server: _Server

    def _forward(self) -> None:
        self.server.owner.handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _KeepAliveHandler(_Handler):
    """HTTP/1.1 with keep-alive, for clients (urllib3 pools) that reuse connections."""

    protocol_version = "HTTP/1.1"


class LoopbackHTTPServer(ABC):
    """A real HTTP server on 127.0.0.1 (port chosen by the OS), started with ``start()`` or ``with``.

    Class attributes tune it: ``keep_alive`` (HTTP/1.1; every answer must then carry a Content-Length, as
    :func:`reply` does), ``poll_interval`` (how fast ``stop()`` returns) and ``thread_name`` (for debugging).
    Subclasses with an ``__init__`` call ``super().__init__()``.
    """

    keep_alive: ClassVar[bool] = False
    poll_interval: ClassVar[float] = 0.02
    thread_name: ClassVar[str] = "fake-http"

    def __init__(self) -> None:
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request (``handler.command`` is its method); runs in the server's request thread."""

    def start(self) -> Self:
        self._httpd = _Server(self, _KeepAliveHandler if self.keep_alive else _Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; a second call does nothing."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{LOOPBACK}:{self.port}"


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body (as long as its Content-Length says; empty without one)."""
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send a complete answer with its Content-Length (so keep-alive clients know where it ends).

    The body is left out for a HEAD request, as HTTP requires, while Content-Length still says its size.
    """
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body and handler.command != "HEAD":
        handler.wfile.write(body)


def reply_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: Any,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """Send ``payload`` as a JSON answer."""
    reply(handler, status, json.dumps(payload).encode(), content_type=content_type, headers=headers)
