"""A loopback server speaking the OpenAI chat-completions protocol, for the real ``openai`` client.

``POST /v1/chat/completions`` answers like OpenAI, vLLM or Ollama do: a ``chat.completion`` object with
``usage``. What it answers is set per test:

- ``answer``: a function of the request body that returns the assistant's text (default: a JSON verdict);
  return malformed text to test parse failures.
- ``json_mode_supported``: False makes a request with ``response_format`` fail with HTTP 400 and the message
  llama.cpp-style servers send, as a server without JSON mode does.
- ``fail_next(status, times, retry_after=..., body=...)``: the next ``times`` requests get that status
  (429 with ``retry-after``, 500, 401...), before normal answers resume.
- ``delay_s``: every answer waits this long (slow servers, client timeouts).
- ``api_key``: when set, a request without ``Authorization: Bearer <api_key>`` gets 401.

Every request is recorded (``requests``: parsed body and headers), and ``max_in_flight`` tells how many
were being answered at once (to check a client's bounded concurrency).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes.http import LoopbackHTTPServer, read_body, reply, reply_json

PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class RecordedRequest:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def user_text(self) -> str:
        return "\n".join(m.get("content", "") for m in self.body.get("messages", []) if m["role"] == "user")


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: str | None
    body: dict[str, Any] | None


def default_answer(body: dict[str, Any]) -> str:
    """A JSON verdict that depends on the request: breach when the user message mentions a dollar amount."""
    user = "\n".join(m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user")
    return json.dumps({"breach": "$" in user, "explanation": f"read {len(user)} characters"})


class FakeChatCompletionsServer(LoopbackHTTPServer):
    keep_alive: ClassVar[bool] = True
    thread_name: ClassVar[str] = "fake-openai"

    def __init__(
        self,
        *,
        answer: Callable[[dict[str, Any]], str] = default_answer,
        json_mode_supported: bool = True,
        delay_s: float = 0.0,
        api_key: str = "",
        usage: bool = True,
    ) -> None:
        super().__init__()
        self.answer = answer
        self.json_mode_supported = json_mode_supported
        self.delay_s = delay_s
        self.api_key = api_key
        self.usage = usage
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()

    @property
    def v1_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return f"{self.base_url}/v1"

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(_Fault(status, times, retry_after, body))

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            while self._faults and self._faults[0].times <= 0:
                self._faults.pop(0)
            if not self._faults:
                return None
            self._faults[0].times -= 1
            return self._faults[0]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.command != "POST" or handler.path.split("?")[0] != PATH:
            reply_json(handler, 404, {"error": {"message": f"no route {handler.command} {handler.path}"}})
            return
        raw = read_body(handler)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            self._answer(handler, raw)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            reply_json(
                handler, 400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}
            )
            return
        with self._lock:
            self.requests.append(RecordedRequest(body, {k.lower(): v for k, v in handler.headers.items()}))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.api_key and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            reply_json(
                handler, 401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
            )
            return
        fault = self._take_fault()
        if fault is not None:
            headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else None
            payload = fault.body or {
                "error": {"message": f"injected HTTP {fault.status}", "type": "server_error"}
            }
            reply_json(handler, fault.status, payload, headers=headers)
            return
        if "response_format" in body and not self.json_mode_supported:
            reply_json(
                handler,
                400,
                {"error": {"message": "response_format is not supported", "type": "invalid_request_error"}},
            )
            return
        content = self.answer(body)
        completion: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.usage:
            prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
            answer_tokens = len(content.split())
            completion["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": answer_tokens,
                "total_tokens": prompt + answer_tokens,
            }
        reply(handler, 200, json.dumps(completion).encode(), content_type="application/json")
