"""Merge requests on GitLab and pull requests on GitHub, for a branch that was just pushed.

Why our own small clients over httpx rather than python-gitlab/PyGithub: we call three endpoints, and the same
retry and error policy as our other HTTP clients (tenacity; a message naming the forge, the status and the
server's words, never the token) matters more than coverage of the whole API. Nothing here reads settings:
callers pass the remote URL, the token and, for a self-hosted forge or a test, the API URL.
"""

from skit_pipelines.forge.errors import ForgeError, UnknownForgeError
from skit_pipelines.forge.merge_request import DEFAULT_TITLE, open_merge_request
from skit_pipelines.forge.merge_request_types import MergeRequest, MergeRequestSpec
from skit_pipelines.forge.remote import RemoteProject, forge_kind, parse_remote

__all__ = [
    "DEFAULT_TITLE",
    "ForgeError",
    "MergeRequest",
    "MergeRequestSpec",
    "RemoteProject",
    "UnknownForgeError",
    "forge_kind",
    "open_merge_request",
    "parse_remote",
]
