"""Errors of merge-request calls: which forge, which HTTP status, what the server said (no token)."""

from __future__ import annotations

from skit_pipelines.errors import SkitPipelinesError


class ForgeError(SkitPipelinesError, RuntimeError):
    """A GitLab/GitHub request failed. ``forge`` is ``gitlab`` or ``github``; ``status`` the HTTP status."""

    def __init__(self, message: str, *, forge: str = "", status: int | None = None) -> None:
        self.forge = forge
        self.status = status
        super().__init__(message)

    def __reduce__(self):  # keep the fields when pickled across processes (kfp steps)
        return (_rebuild, (type(self), str(self), self.forge, self.status))


def _rebuild(cls: type[ForgeError], message: str, forge: str, status: int | None) -> ForgeError:
    return cls(message, forge=forge, status=status)


class UnknownForgeError(ForgeError, ValueError):
    """The remote URL names no known forge and no kind was given, or the URL cannot be parsed."""
