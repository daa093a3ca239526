"""A Label Studio client over plain HTTP: projects, task import, task listing, annotations, exports.

Why httpx and not the Label Studio SDK: we use a dozen endpoints; the SDK drags in ~450 MB of generated code
and pins its own HTTP stack, while httpx is already our HTTP client (pooled connections, timeouts, streaming
downloads). Why tenacity: declarative retries with exponential back-off, the same policy everywhere.

Measured against Label Studio 1.23 (see DESIGN.md section 5 and tests/labelstudio_server.py):

- Auth: a legacy token is sent as ``Authorization: Token <t>``. A personal access token (PAT) is a *refresh*
  JWT: it is exchanged at ``POST /api/token/refresh`` for a short-lived access JWT sent as ``Bearer``; a PAT
  sent as ``Bearer`` itself is refused. We tell them apart by shape (three base64url segments whose header
  decodes to JSON with ``alg``) and refresh the access token once when a request answers 401.
- ``POST /api/projects/{id}/import?return_task_ids=true`` takes a JSON list of ``{"data", "predictions"}``
  and answers 201 with ``task_count``, ``prediction_count`` and ``task_ids``; a task missing a key that the
  label config reads is refused with 400 and the offending item.
- ``GET /api/tasks?project=&page=&page_size=&include=id,data`` pages task data; past the last page: 404.
- ``GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=true`` exports every task in one
  response (fine for small projects); ``POST /api/projects/{id}/exports`` creates a snapshot (completed
  synchronously on a server without a job queue, ``status`` polled otherwise) downloaded from
  ``/exports/{eid}/download?exportType=JSON`` and deleted afterwards. Both give tasks with ``annotations``
  (``completed_by`` is a user id, mapped to an email through ``GET /api/users``).

Retries: connection errors, timeouts and 5xx answers are retried with exponential back-off, except that a
request which is not idempotent (an import, an annotation) is only retried when it surely never reached the
application (connect errors, 502/503/504 from a proxy): a retried import must not create duplicate tasks.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from skit_pipelines.annotation.errors import (
    LabelStudioAuthError,
    LabelStudioError,
    LabelStudioNotFoundError,
    LabelStudioRequestError,
    LabelStudioUnreachableError,
)
from skit_pipelines.errors import SkitPipelinesError

if TYPE_CHECKING:
    from skit_pipelines.config import Settings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF = 0.5  # seconds: 0.5, 1, 2 between the 4 attempts
PAGE_SIZE = 1000
# Projects with more tasks than this are exported through a snapshot (one streamed file on the server side)
# rather than the synchronous export endpoint, which builds the whole answer in one request.
SNAPSHOT_THRESHOLD = 2000
SNAPSHOT_POLL_SECONDS = 1.0
SNAPSHOT_TIMEOUT_SECONDS = 1800.0
_SAFE_RETRY_STATUSES = {502, 503, 504}


def is_personal_access_token(token: str) -> bool:
    """A PAT is a JWT: ``header.payload.signature`` with a base64url JSON header naming its ``alg``."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return False
    return isinstance(header, dict) and "alg" in header


@dataclass
class ImportResult:
    task_count: int
    prediction_count: int
    task_ids: list[int] = field(default_factory=list)


class _Retryable(SkitPipelinesError):
    """A 5xx answer that may be retried; carries the response for the final error."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class LabelStudioClient:
    """One server, one token. Use as a context manager (or call :meth:`close`)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        url = (url or "").strip().rstrip("/")
        if not url:
            raise LabelStudioError(
                "no Label Studio URL: set SKIT_LABELSTUDIO_URL (start a local server with `make labelstudio`)"
            )
        if not url.startswith(("http://", "https://")):
            raise LabelStudioError(f"Label Studio URL {url!r} must start with http:// or https://", url=url)
        token = (token or "").strip()
        if not token:
            raise LabelStudioAuthError(
                f"no Label Studio token for {url}: set SKIT_LABELSTUDIO_TOKEN (a legacy API token or a "
                "personal access token from Account & Settings)",
                url=url,
            )
        self.url = url
        self._token = token
        self.uses_pat = is_personal_access_token(token)
        self._access = ""
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=url, timeout=timeout, follow_redirects=False, headers={"Accept": "application/json"}
        )
        self._users: dict[int, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> LabelStudioClient:
        """A client for the SKIT_LABELSTUDIO_* settings (which an entry point read)."""
        return cls(settings.labelstudio_url, settings.labelstudio_token.get_secret_value(), **kwargs)

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def auth_kind(self) -> str:
        return "personal access token" if self.uses_pat else "legacy API token"

    # ------------------------------------------------------------------------------------------- transport

    def _auth_header(self, *, refresh: bool = False) -> str:
        if not self.uses_pat:
            return f"Token {self._token}"
        if refresh or not self._access:
            self._access = self._refresh_access()
        return f"Bearer {self._access}"

    def _refresh_access(self) -> str:
        response = self._send(
            "POST", "/api/token/refresh", json={"refresh": self._token}, auth=False, idempotent=True
        )
        if response.status_code in (401, 403):
            raise LabelStudioAuthError(
                f"Label Studio at {self.url} refused the personal access token "
                f"(HTTP {response.status_code} on POST {self.url}/api/token/refresh: {_detail(response)})"
                f"{_clock_hint(self._token, response)}; "
                "create a new one in Account & Settings and set SKIT_LABELSTUDIO_TOKEN",
                url=f"{self.url}/api/token/refresh",
                status=response.status_code,
            )
        self._raise_for_status(response, None)
        access = response.json().get("access", "")
        if not access:
            raise LabelStudioRequestError(
                f"{self.url}/api/token/refresh answered without an access token",
                url=f"{self.url}/api/token/refresh",
            )
        return access

    def _send(
        self, method: str, path: str, *, auth: bool = True, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One logical request with retries; returns the final response (any status below 500)."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, _Retryable):
                return idempotent or exc.response.status_code in _SAFE_RETRY_STATUSES
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                return True
            return idempotent and isinstance(exc, httpx.TransportError)

        extra_headers = dict(kwargs.pop("headers", None) or {})

        def attempt() -> httpx.Response:
            headers = dict(extra_headers)
            if auth:
                headers["Authorization"] = self._auth_header()
            response = self._http.request(method, path, headers=headers, **kwargs)
            if auth and response.status_code == 401 and self.uses_pat:
                response.close()
                headers["Authorization"] = self._auth_header(refresh=True)  # the access JWT expired
                response = self._http.request(method, path, headers=headers, **kwargs)
            if response.status_code >= 500:
                raise _Retryable(response)
            return response

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=30),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "Label Studio %s %s failed (%s); retry %d of %d",
                method,
                path,
                _describe(state.outcome.exception()),
                state.attempt_number,
                self.attempts - 1,
            ),
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            return exc.response
        except httpx.TransportError as exc:
            raise LabelStudioUnreachableError(
                f"Label Studio at {self.url} is unreachable ({_describe(exc)} on {method} {self.url}{path}, "
                f"{self.attempts} attempt(s)); check SKIT_LABELSTUDIO_URL and that the server is running",
                url=f"{self.url}{path}",
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        project_id: int | None = None,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; raise a specific :class:`LabelStudioError` for any answer that is not 2xx."""
        response = self._send(method, path, idempotent=idempotent, **kwargs)
        self._raise_for_status(response, project_id)
        return response

    def _raise_for_status(self, response: httpx.Response, project_id: int | None) -> None:
        if response.is_success:
            return
        status = response.status_code
        where = f"{response.request.method} {response.request.url}"
        about = f" (project {project_id})" if project_id is not None else ""
        detail = _detail(response)
        if status in (401, 403):
            raise LabelStudioAuthError(
                f"Label Studio at {self.url} refused the {self.auth_kind}{about}: HTTP {status} on {where}: "
                f"{detail}; check SKIT_LABELSTUDIO_TOKEN"
                + (" and that this user may access the project" if status == 403 else ""),
                url=str(response.request.url),
                status=status,
                project_id=project_id,
            )
        if status == 404:
            what = f"project {project_id} does not exist" if project_id is not None else "not found"
            raise LabelStudioNotFoundError(
                f"Label Studio at {self.url}: {what} (HTTP 404 on {where}: {detail})",
                url=str(response.request.url),
                status=status,
                project_id=project_id,
            )
        raise LabelStudioRequestError(
            f"Label Studio at {self.url} answered HTTP {status}{about} on {where}: {detail}",
            url=str(response.request.url),
            status=status,
            project_id=project_id,
        )

    # ----------------------------------------------------------------------------------------- endpoints

    def whoami(self) -> dict[str, Any]:
        return self.request("GET", "/api/current-user/whoami").json()

    def get_project(self, project_id: int) -> dict[str, Any]:
        return self.request("GET", f"/api/projects/{int(project_id)}", project_id=project_id).json()

    def list_projects(self, title: str = "") -> list[dict[str, Any]]:
        projects: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "page_size": 100}
            if title:
                params["title"] = title
            body = self.request("GET", "/api/projects", params=params).json()
            results = body.get("results", body) if isinstance(body, dict) else body
            projects.extend(results)
            if not isinstance(body, dict) or not body.get("next"):
                return projects
            page += 1

    def find_project(self, title: str) -> dict[str, Any] | None:
        """The project titled exactly ``title`` (the lowest id if several), or None."""
        matches = [p for p in self.list_projects(title) if p.get("title") == title]
        return min(matches, key=lambda p: p["id"]) if matches else None

    def create_project(self, title: str, label_config: str, description: str = "") -> dict[str, Any]:
        return self.request(
            "POST",
            "/api/projects",
            idempotent=False,
            json={"title": title, "label_config": label_config, "description": description},
        ).json()

    def update_label_config(self, project_id: int, label_config: str) -> dict[str, Any]:
        """Replace the project's label config; Label Studio refuses (400) one that existing annotations
        would not fit, so a failed call leaves the project as it was."""
        return self.request(
            "PATCH",
            f"/api/projects/{int(project_id)}",
            project_id=project_id,
            idempotent=True,
            json={"label_config": label_config},
        ).json()

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]]) -> ImportResult:
        """Create ``tasks`` (``{"data": ..., "predictions": [...]}``) in one request."""
        body = self.request(
            "POST",
            f"/api/projects/{int(project_id)}/import",
            project_id=project_id,
            idempotent=False,
            params={"return_task_ids": "true"},
            json=list(tasks),
        ).json()
        return ImportResult(
            int(body.get("task_count", 0)),
            int(body.get("prediction_count", 0)),
            [int(i) for i in body.get("task_ids", [])],
        )

    def iter_tasks(
        self, project_id: int, *, include: str = "id,data", page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every task of the project (only the ``include`` fields), page by page."""
        self.get_project(project_id)  # a missing project is a 404 naming it, not an empty list
        page = 1
        while True:
            response = self._send(
                "GET",
                "/api/tasks",
                params={"project": int(project_id), "page": page, "page_size": page_size, "include": include},
            )
            if response.status_code == 404 and page > 1:
                return  # past the last page
            self._raise_for_status(response, project_id)
            body = response.json()
            tasks = body.get("tasks", []) if isinstance(body, dict) else body
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1

    def create_annotation(
        self,
        task_id: int,
        result: list[dict[str, Any]],
        *,
        was_cancelled: bool = False,
        lead_time: float | None = None,
        ground_truth: bool = False,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "result": result,
            "was_cancelled": was_cancelled,
            "ground_truth": ground_truth,
        }
        if lead_time is not None:
            payload["lead_time"] = lead_time
        return self.request(
            "POST", f"/api/tasks/{int(task_id)}/annotations", idempotent=False, json=payload
        ).json()

    def create_prediction(
        self, task_id: int, result: list[dict[str, Any]], *, model_version: str, score: float | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"task": int(task_id), "result": result, "model_version": model_version}
        if score is not None:
            payload["score"] = score
        return self.request("POST", "/api/predictions", idempotent=False, json=payload).json()

    def users(self) -> dict[int, str]:
        """User id → email (annotators appear by id in exports). Cached per client."""
        if self._users is None:
            try:
                listed = self.request("GET", "/api/users").json()
            except LabelStudioAuthError:  # a non-admin token may not list users: fall back to ids
                listed = []
            self._users = {int(u["id"]): u.get("email") or str(u["id"]) for u in listed}
        return self._users

    def export_tasks(
        self, project_id: int, *, snapshot: bool | None = None, snapshot_threshold: int = SNAPSHOT_THRESHOLD
    ) -> list[dict[str, Any]]:
        """Every task of the project with its annotations (unannotated tasks included).

        ``snapshot=None`` picks by size: projects above ``snapshot_threshold`` tasks use an export snapshot.
        A server without snapshots (404/405 on ``/exports``) falls back to the synchronous export.
        """
        project = self.get_project(project_id)
        if snapshot is None:
            snapshot = int(project.get("task_number") or 0) > snapshot_threshold
        if snapshot:
            try:
                return self._export_snapshot(project_id)
            except LabelStudioError as exc:
                if exc.status not in (404, 405):
                    raise
                log.warning(
                    "project %s: export snapshots unavailable (%s); using the direct export", project_id, exc
                )
        return self.request(
            "GET",
            f"/api/projects/{int(project_id)}/export",
            project_id=project_id,
            params={"exportType": "JSON", "download_all_tasks": "true"},
        ).json()

    def _export_snapshot(self, project_id: int) -> list[dict[str, Any]]:
        base = f"/api/projects/{int(project_id)}/exports"
        created = self.request(
            "POST",
            base,
            project_id=project_id,
            idempotent=False,
            json={
                "title": f"skit-pipelines {time.strftime('%Y-%m-%d %H:%M:%S')}",
                "task_filter_options": {"only_with_annotations": False},
            },
        ).json()
        export_id = created["id"]
        try:
            status = created.get("status")
            deadline = time.monotonic() + SNAPSHOT_TIMEOUT_SECONDS
            while status not in ("completed", "failed"):
                if time.monotonic() > deadline:
                    raise LabelStudioRequestError(
                        f"project {project_id}: export snapshot {export_id} not ready after "
                        f"{SNAPSHOT_TIMEOUT_SECONDS:.0f} s (status {status!r})",
                        url=f"{self.url}{base}/{export_id}",
                        project_id=project_id,
                    )
                time.sleep(SNAPSHOT_POLL_SECONDS)
                status = (
                    self.request("GET", f"{base}/{export_id}", project_id=project_id).json().get("status")
                )
            if status == "failed":
                raise LabelStudioRequestError(
                    f"project {project_id}: export snapshot {export_id} failed on the server",
                    url=f"{self.url}{base}/{export_id}",
                    project_id=project_id,
                )
            return self._download_json(f"{base}/{export_id}/download", project_id)
        finally:
            try:
                self._send("DELETE", f"{base}/{export_id}")
            except LabelStudioError as exc:  # a leftover snapshot is harmless; say so and go on
                log.warning("project %s: could not delete export snapshot %s: %s", project_id, export_id, exc)

    def _download_json(self, path: str, project_id: int) -> list[dict[str, Any]]:
        """Stream a (possibly large) JSON download to a temp file, then parse it."""
        with tempfile.TemporaryFile() as scratch:
            for attempt in range(self.attempts):
                scratch.seek(0)
                scratch.truncate()
                try:
                    with self._http.stream(
                        "GET",
                        path,
                        params={"exportType": "JSON"},
                        headers={"Authorization": self._auth_header()},
                    ) as response:
                        if response.status_code >= 400:
                            response.read()
                            self._raise_for_status(response, project_id)
                        for chunk in response.iter_bytes(1 << 20):
                            scratch.write(chunk)
                    break
                except httpx.TransportError as exc:
                    if attempt == self.attempts - 1:
                        raise LabelStudioUnreachableError(
                            f"Label Studio at {self.url}: download of {path} failed ({_describe(exc)})",
                            url=f"{self.url}{path}",
                            project_id=project_id,
                        ) from None
                    time.sleep(self.backoff * 2**attempt)
            scratch.seek(0)
            return json.load(scratch)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    if isinstance(exc, _Retryable):
        return f"HTTP {exc.response.status_code}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clock_hint(token: str, response: httpx.Response) -> str:
    """Say so when the token claims to be issued after the server's ``Date``: JWT checks refuse it then.

    Why: a token made on a machine whose clock runs ahead (or a server whose clock is behind) is refused
    with the same "Token is invalid" as a forged one; the times tell the two apart without a debugger.
    """
    try:
        payload = token.split(".")[1]
        issued = int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iat"])
        server_now = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
    except (IndexError, KeyError, TypeError, ValueError):
        return ""
    if issued <= server_now + 1:
        return ""
    stamp = dt.datetime.fromtimestamp(issued, dt.UTC).isoformat(timespec="seconds")
    return (
        f"; the token says it was issued at {stamp}, {issued - server_now:.0f} s after the server's clock "
        "(check the clocks of both machines)"
    )


def _detail(response: httpx.Response) -> str:
    """The server's own explanation: ``detail`` and validation errors of a JSON body, else the text."""
    try:
        response.read()
        body = response.json()
    except (ValueError, httpx.StreamError):
        text = response.text.strip()
        if not text or "html" in response.headers.get("content-type", ""):
            return response.reason_phrase  # an HTML error page says nothing useful in a log line
        return (text[:300] + "...") if len(text) > 300 else text
    if isinstance(body, dict):
        parts = [str(body.get("detail") or "")]
        if body.get("validation_errors"):
            parts.append(json.dumps(body["validation_errors"])[:1000])
        message = " ".join(p for p in parts if p)
        return message or json.dumps(body)[:300]
    return json.dumps(body)[:300]
