"""What the fake GitLab and GitHub servers share: recorded requests, one-shot failure overrides, and git.

Git over HTTP (when ``repos`` is given, a folder of bare repositories ``<owner>/<name>.git``): every path
with ``.git/`` in it is served by the real ``git http-backend`` (clone, fetch, push), behind HTTP Basic
auth whose password must be the token (any user name), as GitLab and GitHub do for tokens; ``git_auth``
records every Authorization header git sent. A push runs the bare repository's hooks, so a
``hooks/pre-receive`` that exits non-zero refuses it, as a protected branch or a push rule does. Small
repositories only: git sends a body over ``http.postBuffer`` (1 MiB) chunked, which this fake does not read.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

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

    def __init__(self, token: str = TOKEN, *, repos: Path | None = None) -> None:
        super().__init__()
        self.token = token
        self.repos = repos
        self.git_auth: list[str] = []
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

    # ----------------------------------------------------------------------- git smart HTTP (http-backend)

    def serve_git(self, handler: BaseHTTPRequestHandler) -> bool:
        """Serve a git request (a path with ``.git/``) when ``repos`` is set; False for an API request."""
        if self.repos is None or ".git/" not in urlsplit(handler.path).path:
            return False
        authorization = handler.headers.get("Authorization", "")
        if authorization:
            self.git_auth.append(authorization)
        if not self._git_authorised(authorization):
            reply(
                handler,
                401,
                b"HTTP Basic: Access denied\n",
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Basic realm="forge"'},
            )
            return True
        parts = urlsplit(handler.path)
        body = read_body(handler)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.repos),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": unquote(parts.path),
            "QUERY_STRING": parts.query,
            "REQUEST_METHOD": handler.command,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "fake-user",  # http-backend allows receive-pack (push) to an authenticated user
            "REMOTE_ADDR": "127.0.0.1",
        }
        if handler.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
        if handler.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name and name.lower() not in ("content-length",):
                headers[name] = value.strip()
        content_type = headers.pop("Content-Type", None)
        reply(handler, status, payload, content_type=content_type, headers=headers)
        return True

    def _git_authorised(self, authorization: str) -> bool:
        if not authorization.startswith("Basic "):
            return False
        try:
            _user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return False
        return password == self.token
