"""Opening the merge (pull) request for a retraining branch, on whichever forge hosts the repository.

Idempotent: an open merge request from the same source branch is returned instead of opening a second one,
so re-running a pipeline step after a failure later on does not spam reviewers.
"""

from __future__ import annotations

from typing import Any

from skit_pipelines.forge.errors import UnknownForgeError
from skit_pipelines.forge.github import open_github_pull_request
from skit_pipelines.forge.gitlab import open_gitlab_merge_request
from skit_pipelines.forge.merge_request_types import MergeRequest, MergeRequestSpec
from skit_pipelines.forge.remote import ForgeKind, default_api_url, forge_kind, parse_remote
from skit_pipelines.vcs.redact import strip_url_credentials

#: The reference's title for every retraining merge request.
DEFAULT_TITLE = "Auto retrained changes"


def open_merge_request(
    remote_url: str,
    *,
    source_branch: str,
    target_branch: str,
    description: str,
    token: str,
    kind: ForgeKind | None = None,
    api_url: str | None = None,
    title: str = DEFAULT_TITLE,
    **http: Any,
) -> MergeRequest:
    """Open (or find the open) merge request from ``source_branch`` into ``target_branch``.

    ``kind`` (``gitlab``/``github``) defaults to what the remote's host says; ``api_url`` to the forge's
    public API for that host (pass it for a self-hosted forge with an unusual host name, or a test server).
    ``http`` tunes the client (``attempts``, ``backoff``, ``timeout``).
    """
    project = parse_remote(remote_url)
    kind = kind or forge_kind(project.host)
    if kind not in ("gitlab", "github"):
        raise UnknownForgeError(
            f"cannot tell whether {strip_url_credentials(remote_url)!r} is on GitLab or GitHub: "
            "pass the forge kind explicitly"
        )
    spec = MergeRequestSpec(
        title=title, source_branch=source_branch, target_branch=target_branch, description=description
    )
    api = api_url or default_api_url(kind, project.host)
    if kind == "gitlab":
        return open_gitlab_merge_request(project, spec, api_url=api, token=token, **http)
    return open_github_pull_request(project, spec, api_url=api, token=token, **http)
