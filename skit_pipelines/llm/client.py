"""An OpenAI-compatible chat-completions client that asks for JSON and never loses an item.

Why the official ``openai`` package: every server we target (OpenAI, Azure-compatible gateways, vLLM, the
llama.cpp server, Ollama) speaks its protocol, and the package already maps HTTP statuses to typed errors.
What this module adds, for batch work such as auditing a thousand calls:

- **JSON answers**: temperature 0 and ``response_format={"type": "json_object"}``. A server that rejects
  ``response_format`` (HTTP 400/422) is asked again without it, once per client, and the JSON object is then
  cut from the text (first ``{`` to last ``}``, as the reference did; Markdown fences are tolerated).
- **Retries** (tenacity, not the package's own, so that the policy is one place and testable): on 429
  (honouring ``retry-after``, capped), 5xx, timeouts and refused connections, with exponential back-off.
- **Bounded concurrency**: a batch runs on a thread pool of ``endpoint.concurrency`` workers.
- **No item is dropped**: every message list gets a :class:`ChatResult`; a failure (HTTP error after the
  retries, unreadable JSON) is that item's ``error``, with the raw text kept. An authentication or
  missing-model answer stops sending the rest of the batch (they would all fail the same way) and marks them.
- **Tokens counted** from each response's ``usage`` (0 when the server reports none).
- **The API key never appears** in a log line, an error or a ``repr``: server messages are scrubbed of it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.llm.endpoint import LLMEndpoint

log = logging.getLogger(__name__)

Message = Mapping[str, str]

#: The error kinds a :class:`ChatResult` may carry (stable strings: they end up in CSV columns and tables).
ERROR_KINDS = (
    "auth",
    "not_found",
    "rate_limited",
    "server",
    "timeout",
    "unreachable",
    "bad_request",
    "parse",
)

#: Placeholder key for servers that need none (vLLM, llama.cpp, Ollama): the package refuses an empty key.
NO_KEY = "not-needed"


class LLMRequestError(SkitPipelinesError, RuntimeError):
    """One chat-completions request failed for good; ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class JsonAnswerError(SkitPipelinesError, ValueError):
    """An answer that holds no JSON object."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request. ``retry_after_cap_s`` bounds what a server may ask us to wait."""

    attempts: int = 5
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0
    retry_after_cap_s: float = 60.0


@dataclass(frozen=True)
class ChatResult:
    """The outcome of one request: the parsed object, or ``error`` (``kind: message``); never both empty."""

    content: str = ""
    parsed: dict[str, Any] | None = None
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    json_mode: bool = True
    model: str = ""

    @property
    def ok(self) -> bool:
        return self.parsed is not None and not self.error

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class BatchUsage:
    """What a batch cost: requests answered, failed, and tokens, summed over its results."""

    answered: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, results: Sequence[ChatResult]) -> BatchUsage:
        usage = cls()
        for result in results:
            usage.prompt_tokens += result.prompt_tokens
            usage.completion_tokens += result.completion_tokens
            if result.ok:
                usage.answered += 1
            else:
                usage.failed += 1
                kind = result.error.split(":", 1)[0]
                usage.errors[kind] = usage.errors.get(kind, 0) + 1
        return usage

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class SupportsLLMSettings(Protocol):
    """What :meth:`ChatClient.from_settings` needs of the settings (``config.Settings`` has it)."""

    def llm(self) -> LLMEndpoint: ...


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer: the whole text, else the span from the first ``{`` to the last
    ``}`` (models wrap JSON in prose or Markdown fences when the server cannot enforce JSON output)."""
    stripped = _FENCE.sub("", text.strip())
    candidates = [stripped]
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    preview = text[:80].replace("\n", " ")
    raise JsonAnswerError(f"no JSON object in the answer ({len(text)} characters: {preview!r})")


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """A ``retry-after`` (or ``retry-after-ms``) header as seconds: a number or an HTTP date; None if absent
    or unreadable."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _kind(exc: BaseException) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            return "auth"
        if status == 404:
            return "not_found"
        if status == 429:
            return "rate_limited"
        if status >= 500:
            return "server"
        return "bad_request"
    return "bad_request"


def _rejects_response_format(exc: BaseException) -> bool:
    """A 400/422 that may be the server refusing ``response_format`` (many say so only in prose)."""
    return isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 422)


class ChatClient:
    """Chat completions against one :class:`LLMEndpoint`; thread-safe, one per process is enough."""

    def __init__(
        self,
        endpoint: LLMEndpoint,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._json_mode = True
        self._lock = threading.Lock()
        self._client = openai.OpenAI(
            api_key=endpoint.api_key or NO_KEY,
            base_url=endpoint.base_url or None,
            timeout=endpoint.timeout_s,
            max_retries=0,  # ours (tenacity) are the only retries, so that the policy is in one place
        )

    @classmethod
    def from_settings(cls, settings: SupportsLLMSettings, **kwargs: Any) -> ChatClient:
        """A client for the configured endpoint (``SKIT_LLM_*``), for entry points that hold the settings."""
        return cls(settings.llm(), **kwargs)

    def __repr__(self) -> str:
        return f"ChatClient({self.endpoint!r})"

    @property
    def json_mode(self) -> bool:
        """Whether ``response_format`` is still sent (False once the server rejected it)."""
        return self._json_mode

    # -- one request ----------------------------------------------------------------------------------------

    def complete_json(self, messages: Sequence[Message]) -> ChatResult:
        """Ask for a JSON object; the result carries it, or an ``error`` naming what went wrong."""
        try:
            response, attempts, json_mode = self._create(messages)
        except LLMRequestError as exc:
            return ChatResult(error=str(exc), json_mode=self._json_mode, model=self.endpoint.model)
        content = ""
        if response.choices:
            content = response.choices[0].message.content or ""
        usage = response.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else 0
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0) if usage else 0
        common = dict(
            content=content,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempts=attempts,
            json_mode=json_mode,
            model=response.model or self.endpoint.model,
        )
        try:
            parsed = parse_json_object(content)
        except JsonAnswerError as exc:
            return ChatResult(error=f"parse: {exc}", **common)
        return ChatResult(parsed=parsed, **common)

    def _create(self, messages: Sequence[Message]) -> tuple[Any, int, bool]:
        """The response, how many attempts it took, and whether JSON mode was on; LLMRequestError else."""
        json_mode = self._json_mode
        try:
            response, attempts = self._with_retries(messages, json_mode)
            return response, attempts, json_mode
        except openai.OpenAIError as exc:
            if not (json_mode and _rejects_response_format(exc)):
                raise self._request_error(exc) from None
            first_error = exc
        # The server refused the request with response_format: ask without it, and keep that for later calls
        # only if it then works (a 400 for another reason, e.g. a too long prompt, fails again the same way).
        try:
            response, attempts = self._with_retries(messages, False)
        except openai.OpenAIError as exc:
            raise self._request_error(exc if _kind(exc) != "bad_request" else first_error) from None
        with self._lock:
            if self._json_mode:
                self._json_mode = False
                log.warning(
                    "LLM server rejected response_format=json_object (HTTP %s); JSON is now parsed from text",
                    getattr(first_error, "status_code", "?"),
                )
        return response, attempts + 1, False

    def _with_retries(self, messages: Sequence[Message], json_mode: bool) -> tuple[Any, int]:
        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        attempts = 0
        for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                response = self._client.chat.completions.create(
                    model=self.endpoint.model,
                    messages=[dict(m) for m in messages],  # type: ignore[misc]
                    temperature=0,
                    **extra,
                )
        return response, attempts

    def _wait(self, state: RetryCallState) -> float:
        """``retry-after`` when the server sent one (capped), else exponential back-off."""
        exc = state.outcome.exception() if state.outcome else None
        response = getattr(exc, "response", None)
        asked = retry_after_seconds(dict(response.headers) if response is not None else None)
        if asked is not None:
            return min(asked, self.retry.retry_after_cap_s)
        backoff = self.retry.initial_wait_s * 2 ** (state.attempt_number - 1)
        return min(backoff, self.retry.max_wait_s)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.info(
            "LLM request attempt %d failed (%s); retrying in %.1f s",
            state.attempt_number,
            _kind(exc) if exc else "?",
            wait,
        )

    def _request_error(self, exc: BaseException) -> LLMRequestError:
        kind = _kind(exc)
        status = getattr(exc, "status_code", None)
        detail = self._scrub(str(getattr(exc, "message", "") or exc))
        where = self.endpoint.base_url or "the OpenAI API"
        prefix = f"HTTP {status} from {where}" if status else f"{type(exc).__name__} reaching {where}"
        return LLMRequestError(kind, f"{prefix}: {detail}"[:500])

    def _scrub(self, text: str) -> str:
        key = self.endpoint.api_key
        return text.replace(key, "***") if key else text

    # -- a batch --------------------------------------------------------------------------------------------

    def complete_json_batch(self, batch: Sequence[Sequence[Message]]) -> list[ChatResult]:
        """One result per message list, in order, with at most ``endpoint.concurrency`` requests in flight.

        An ``auth`` or ``not_found`` failure (wrong key, unknown model) stops new requests: the items not yet
        sent get the same error instead of a request each.
        """
        fatal: list[str] = []

        def one(messages: Sequence[Message]) -> ChatResult:
            if fatal:
                return ChatResult(error=fatal[0], json_mode=self._json_mode, model=self.endpoint.model)
            result = self.complete_json(messages)
            if result.error.startswith(("auth:", "not_found:")):
                fatal.append(result.error)
            return result

        if not batch:
            return []
        workers = min(self.endpoint.concurrency, len(batch))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
            return list(pool.map(one, batch))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
