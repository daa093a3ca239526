"""GitLab merge requests: ``GET``/``POST /api/v4/projects/:id/merge_requests`` with a ``PRIVATE-TOKEN``.

The project id is the url-encoded project path (``group%2Fsub%2Frepo``), which GitLab accepts wherever a
numeric id is expected, so no lookup is needed.
"""

from __future__ import annotations

from typing import Any

from skit_pipelines.forge.http import ForgeHTTP
from skit_pipelines.forge.merge_request_types import MergeRequest, MergeRequestSpec
from skit_pipelines.forge.remote import RemoteProject


def _merge_request(item: dict[str, Any], *, created: bool) -> MergeRequest:
    return MergeRequest(url=item["web_url"], number=int(item["iid"]), created=created, forge="gitlab")


def open_gitlab_merge_request(
    project: RemoteProject, spec: MergeRequestSpec, *, api_url: str, token: str, **http: Any
) -> MergeRequest:
    """The open merge request from ``spec.source_branch``, opening one if there is none."""
    path = f"/api/v4/projects/{project.url_encoded_path}/merge_requests"
    with ForgeHTTP("gitlab", api_url, token, {"PRIVATE-TOKEN": token}, **http) as client:

        def find() -> MergeRequest | None:
            params = {"source_branch": spec.source_branch, "state": "opened"}
            found = client.call_expecting(list, "GET", path, params=params)
            return _merge_request(found[0], created=False) if found else None

        def create() -> MergeRequest:
            payload = {
                "title": spec.title,
                "source_branch": spec.source_branch,
                "target_branch": spec.target_branch,
                "description": spec.description,
                "remove_source_branch": True,
            }
            return _merge_request(client.call_expecting(dict, "POST", path, json=payload), created=True)

        # 409: opened concurrently since find(); GitLab refuses a second one
        return client.find_or_open(
            find, create, conflict_status=409, what=f"open a merge request from {spec.source_branch!r}"
        )
