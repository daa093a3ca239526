"""What a merge request is asked for and what comes back, shared by the GitLab and GitHub clients."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MergeRequestSpec:
    title: str
    source_branch: str
    target_branch: str
    description: str


@dataclass(frozen=True)
class MergeRequest:
    """``url`` is the page a reviewer opens; ``created`` is false when an open one was found and reused."""

    url: str
    number: int
    created: bool
    forge: str
