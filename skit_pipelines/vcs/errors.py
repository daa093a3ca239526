"""Errors of git and DVC operations, each saying what was tried and why it failed (never with a secret).

Why builtin bases too: a missing branch is a ``LookupError``, a state mismatch a ``ValueError``, a failed
command a ``RuntimeError``, so callers that catch those keep working while ``SkitPipelinesError`` catches all.
"""

from __future__ import annotations

from skit_pipelines.errors import SkitPipelinesError


class VcsError(SkitPipelinesError, RuntimeError):
    """A git or DVC command failed; the message holds the command and its (redacted) output."""


class GitError(VcsError):
    """A ``git`` command failed."""


class GitBranchNotFoundError(GitError, LookupError):
    """The branch (or the repository) does not exist on the remote."""


class InvalidBranchNameError(GitError, ValueError):
    """A branch name that git refuses (or that would read as an option)."""


class DvcError(VcsError):
    """A ``dvc`` command failed."""


class DvcNotInstalledError(DvcError, FileNotFoundError):
    """No ``dvc`` executable where it was looked for."""


class DvcStateError(DvcError, ValueError):
    """``initial_training`` and the presence of ``data.dvc`` disagree."""


class PublishError(VcsError):
    """A branch could not be published; the message says what was (not) pushed."""
