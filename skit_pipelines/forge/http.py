"""The HTTP policy shared by the forge clients: retries, and errors that name the forge and never the token.

Retries (tenacity, exponential back-off) cover connection errors, timeouts and 5xx answers. Opening a merge
request is not idempotent, so the caller retries a whole "find an open one, else create" step rather than a
bare POST: a POST that did reach the server is then found instead of being sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.forge.errors import ForgeError
from skit_pipelines.vcs.redact import Redactor

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF = 0.5
T = TypeVar("T")


class _RetryableForgeAnswer(SkitPipelinesError):
    """A 5xx answer, carried out of a retried step."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class ForgeHTTP:
    """One API base URL and one token, sent in ``headers``; ``name`` (gitlab/github) is used in messages."""

    def __init__(
        self,
        name: str,
        api_url: str,
        token: str,
        headers: dict[str, str],
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        if not token:
            raise ForgeError(f"no {name} token: a merge request cannot be opened without one", forge=name)
        self.name = name
        self.api_url = api_url.rstrip("/")
        self.redact = Redactor([token])
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ForgeHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request: the JSON of a 2xx answer; a 5xx raises a retryable error, a 4xx a ForgeError."""
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 500:
            raise _RetryableForgeAnswer(response)
        if response.status_code >= 400:
            raise self.error(method, path, response)
        try:
            return response.json() if response.content else None
        except ValueError:
            raise ForgeError(
                self.redact(
                    f"{self.name} answered HTTP {response.status_code} to {method} {self.api_url}{path} "
                    f"with something that is not JSON: {response.text.strip()[:200]!r} "
                    "(is the API URL right?)"
                ),
                forge=self.name,
                status=response.status_code,
            ) from None

    def call_expecting(self, kind: type, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`call`, and the answer must be a ``kind`` (a list of items, an object)."""
        answer = self.call(method, path, **kwargs)
        if not isinstance(answer, kind):
            raise ForgeError(
                f"{self.name} answered {method} {self.api_url}{path} with a {type(answer).__name__} where a "
                f"{kind.__name__} was expected (is the API URL right?)",
                forge=self.name,
            )
        return answer

    def retrying(self, step: Callable[[], T], what: str) -> T:
        """Run ``step``, retried on transport errors and 5xx; the final failure is a :class:`ForgeError`."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, (_RetryableForgeAnswer, httpx.TransportError))),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=30),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "%s: %s failed (%s); retry %d of %d",
                self.name,
                what,
                self.redact(str(state.outcome.exception())),
                state.attempt_number,
                self.attempts - 1,
            ),
        )
        try:
            return retrying(step)
        except _RetryableForgeAnswer as exc:
            request = exc.response.request
            raise self.error(
                request.method, request.url.raw_path.decode(), exc.response, attempts=self.attempts
            ) from None
        except httpx.TransportError as exc:
            raise ForgeError(
                self.redact(
                    f"{self.name} at {self.api_url} is unreachable while trying to {what} "
                    f"({type(exc).__name__}: {exc}; {self.attempts} attempt(s))"
                ),
                forge=self.name,
            ) from None

    def find_or_open(
        self, find: Callable[[], T | None], create: Callable[[], T], *, conflict_status: int, what: str
    ) -> T:
        """The open request ``find`` returns, else the one ``create`` opens: retried as one step.

        Why one step: a POST that reached the server but whose answer was lost is found on the retry instead
        of opened twice; and when the forge refuses a second request (``conflict_status``: GitLab 409,
        GitHub 422) because a concurrent run opened one since ``find``, that one is returned.
        """

        def step() -> T:
            existing = find()
            if existing is not None:
                return existing
            try:
                return create()
            except ForgeError as exc:
                if exc.status == conflict_status:
                    raced = find()
                    if raced is not None:
                        return raced
                raise

        return self.retrying(step, what)

    def error(self, method: str, path: str, response: httpx.Response, *, attempts: int = 1) -> ForgeError:
        """The error of a failed answer; ``attempts`` > 1 says that a server error was retried."""
        hint = " (check the token and its scope)" if response.status_code in (401, 403) else ""
        tried = f" ({attempts} attempts)" if attempts > 1 else ""
        message = (
            f"{self.name} answered HTTP {response.status_code} to {method} {self.api_url}{path}{tried}: "
            f"{server_message(response)}{hint}"
        )
        return ForgeError(self.redact(message), forge=self.name, status=response.status_code)


def server_message(response: httpx.Response) -> str:
    """What the server said: GitLab's ``message``/``error``, GitHub's ``message`` + ``errors``, or text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or "(empty answer)"
    if not isinstance(body, dict):
        return str(body)[:500]
    parts: list[str] = []
    for key in ("message", "error", "error_description"):
        if body.get(key):
            parts.append(str(body[key]))
    for item in body.get("errors") or []:
        parts.append(str(item.get("message") or item) if isinstance(item, dict) else str(item))
    return "; ".join(parts)[:500] or str(body)[:500]
