"""GitHub pull requests: ``GET``/``POST /repos/:owner/:repo/pulls`` with a ``Bearer`` token.

GitHub finds a pull request by ``head=owner:branch``; the branch is in the same repository, so the owner is
the repository's owner. GitHub has no per-request "remove source branch" (it is a repository setting).
"""

from __future__ import annotations

from typing import Any

from skit_pipelines.forge.http import ForgeHTTP
from skit_pipelines.forge.merge_request_types import MergeRequest, MergeRequestSpec
from skit_pipelines.forge.remote import RemoteProject

API_VERSION = "2022-11-28"


def _pull_request(item: dict[str, Any], *, created: bool) -> MergeRequest:
    return MergeRequest(url=item["html_url"], number=int(item["number"]), created=created, forge="github")


def open_github_pull_request(
    project: RemoteProject, spec: MergeRequestSpec, *, api_url: str, token: str, **http: Any
) -> MergeRequest:
    """The open pull request from ``spec.source_branch``, opening one if there is none."""
    owner, name = project.owner_and_name
    path = f"/repos/{owner}/{name}/pulls"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    with ForgeHTTP("github", api_url, token, headers, **http) as client:

        def find() -> MergeRequest | None:
            params = {"head": f"{owner}:{spec.source_branch}", "state": "open"}
            found = client.call_expecting(list, "GET", path, params=params)
            return _pull_request(found[0], created=False) if found else None

        def create() -> MergeRequest:
            payload = {
                "title": spec.title,
                "head": spec.source_branch,
                "base": spec.target_branch,
                "body": spec.description,
            }
            return _pull_request(client.call_expecting(dict, "POST", path, json=payload), created=True)

        # 422 "A pull request already exists": opened concurrently since find()
        return client.find_or_open(
            find, create, conflict_status=422, what=f"open a pull request from {spec.source_branch!r}"
        )
