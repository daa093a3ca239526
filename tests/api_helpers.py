"""Real servers on 127.0.0.1 for the API tests: the API under uvicorn (thread or subprocess) and a webhook
receiver that fails its first N deliveries; plus Slack request signing and small waiting helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import uvicorn

from tests.conftest import free_port
from tests.fakes.http import LoopbackHTTPServer, read_body, reply

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
WEBHOOK_SECRET = "whsec-test-secret"
SIGNING_SECRET = "slack-signing-secret-for-tests"
DAY = {"start_date": "2026-03-10", "end_date": "2026-03-10", "timezone": "UTC"}
REPO = Path(__file__).resolve().parents[1]


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


class ThreadedApi:
    """The API app served by a real uvicorn server in a thread of the test process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api-under-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), 30, what="uvicorn to start")
        assert self.server.started, "uvicorn did not start (see the log above)"
        return self

    def stop(self) -> None:
        context = getattr(self.app.state, "ctx", None)
        processes = list(context.watcher.pool.processes.values()) if context else []
        self.server.should_exit = True
        self.thread.join(30)
        for process in processes:  # workers outlive the API on purpose; a test must not leave them behind
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


class SubprocessApi:
    """``python -m uvicorn <app>`` in its own process group, as an operator would run it."""

    def __init__(self, app_path: str, port: int, log: Path) -> None:
        self.app_path = app_path
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    self.app_path,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

        def healthy() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                return httpx.get(self.url + "/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, 0.1, "the API subprocess to answer")
        return self

    def kill(self) -> None:
        """SIGKILL the API alone (not its workers): a crash, no graceful shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(LoopbackHTTPServer):
    """An HTTP server that answers ``fail_first`` deliveries with ``fail_status`` (500), then 200, each after
    ``delay_seconds``; records every request."""

    thread_name = "webhook-receiver"

    def __init__(self, fail_first: int = 0, fail_status: int = 500, delay_seconds: float = 0.0) -> None:
        super().__init__()
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.delay_seconds = delay_seconds
        self.requests: list[Received] = []
        self._lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = read_body(handler)
        with self._lock:
            failing = len(self.requests) < self.fail_first
            status = self.fail_status if failing else 200
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.requests.append(Received(handler.path, headers, body, status))
        time.sleep(self.delay_seconds)
        try:
            reply(
                handler,
                status,
                b'{"ok": false}' if failing else b'{"ok": true}',
                content_type="application/json",
            )
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting (a timeout test)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    @property
    def delivered(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.answered == 200]


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature, computed by hand (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_slack_post(
    url: str, secret: str, payload: dict[str, Any], *, age: float = 0.0, signature: str | None = None
) -> httpx.Response:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time() - age))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or slack_signature(secret, timestamp, body),
    }
    return httpx.post(url + "/slack/events", content=body, headers=headers, timeout=10)


def mention_event(
    text: str,
    *,
    event_id: str,
    channel: str = "C0CHAN",
    ts: str = "1700000100.000200",
    user: str = "U0USER",
    thread_ts: str = "",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy-unused",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
    }


class ApiClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self._tokens: dict[str, str] = {}

    def token(self, user: str = "alice", password: str = PASSWORD) -> str:
        if user not in self._tokens:
            response = self.http.post("/token", data={"username": user, "password": password})
            assert response.status_code == 200, response.text
            self._tokens[user] = response.json()["access_token"]
        return self._tokens[user]

    def auth(self, user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def run(self, pipeline: str, body: Any, namespace: str = "skit", user: str = "alice") -> httpx.Response:
        return self.http.post(f"/{namespace}/pipelines/run/{pipeline}/", json=body, headers=self.auth(user))

    def status(self, run_id: str, namespace: str = "skit", user: str = "alice") -> httpx.Response:
        return self.http.get(f"/{namespace}/pipelines/runs/{run_id}", headers=self.auth(user))

    def wait_final(self, run_id: str, namespace: str = "skit", timeout: float = 60) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            body = self.status(run_id, namespace).json()
            return (
                body if body["response"]["state"] in ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED") else None
            )

        return wait_for(final, timeout, 0.1, f"run {run_id} to finish")

    def wait_delivery(
        self, run_id: str, kind: str = "webhook", namespace: str = "skit", timeout: float = 30
    ) -> dict[str, Any]:
        def settled() -> dict[str, Any] | None:
            body = self.status(run_id, namespace).json()
            note = body["response"]["notifications"].get(kind)
            return body if note and note["status"] in ("delivered", "failed", "skipped") else None

        return wait_for(settled, timeout, 0.1, f"the {kind} of run {run_id}")
