"""Errors of the annotation loop, each naming what went wrong and where.

Why a small hierarchy: a pipeline step that fails must tell the user which of the usual suspects it is
(server down, wrong token, missing project, bad request) without reading a traceback. Every error carries the
URL it was talking to and, when there is one, the project id; the message says what to check.
"""

from __future__ import annotations

from skit_pipelines.errors import SkitPipelinesError


class LabelStudioError(SkitPipelinesError, RuntimeError):
    """A Label Studio request failed. ``url`` is the request URL, ``project_id`` the project (or None)."""

    def __init__(
        self, message: str, *, url: str = "", status: int | None = None, project_id: int | None = None
    ) -> None:
        self.url = url
        self.status = status
        self.project_id = project_id
        super().__init__(message)

    def __reduce__(self):  # keep the message when pickled across processes (kfp steps)
        return (_rebuild, (type(self), str(self), self.url, self.status, self.project_id))


def _rebuild(
    cls: type[LabelStudioError], message: str, url: str, status: int | None, project_id: int | None
) -> LabelStudioError:
    return cls(message, url=url, status=status, project_id=project_id)


class LabelStudioUnreachableError(LabelStudioError):
    """No answer from the server (connection refused, DNS, timeout) after the retries."""


class LabelStudioAuthError(LabelStudioError):
    """HTTP 401/403: the token is wrong, expired, or lacks the permission."""


class LabelStudioNotFoundError(LabelStudioError):
    """HTTP 404: the project (or task) does not exist on this server."""


class LabelStudioRequestError(LabelStudioError):
    """Any other refusal (HTTP 400 validation errors, 5xx after the retries)."""


class UploadFailedError(LabelStudioError):
    """Every batch of an upload failed: nothing was created. The message lists the batches' errors."""


class InvalidUploadFileError(SkitPipelinesError, ValueError):
    """An input CSV that cannot be uploaded (missing columns, unreadable JSON). Names the file and columns."""
