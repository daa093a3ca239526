"""A fake GitLab on 127.0.0.1: the merge-request API ``skit_pipelines.forge`` uses, and git over HTTP.

API (``PRIVATE-TOKEN: <token>`` required, else 401 ``{"message": "401 Unauthorized"}``):
- ``GET /api/v4/projects/:id/merge_requests?source_branch=&state=opened`` lists the matching merge requests.
- ``POST /api/v4/projects/:id/merge_requests`` (``title``, ``source_branch``, ``target_branch``,
  ``description``, ``remove_source_branch``) answers 201 with ``iid`` and ``web_url``; a second open one from
  the same source branch is refused with 409, as GitLab does.
``:id`` is the url-encoded project path, as GitLab accepts it.

Git (when ``repos`` is given, a folder of bare repositories ``<group>/<name>.git``): ``/<path>.git/...`` is
served by the real ``git http-backend`` (see :class:`tests.fakes.forge.ForgeFake`), behind HTTP Basic auth
whose password must be the token, as GitLab does for personal access tokens.

Every API request is recorded in ``requests``; ``lose_created_answers = n`` makes the next n creates succeed
but answer 500, as when a proxy loses the answer.
"""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.fakes.forge import ForgeFake
from tests.fakes.http import reply_json

_MERGE_REQUESTS = re.compile(r"^/api/v4/projects/(?P<id>[^/]+)/merge_requests$")


class FakeGitLab(ForgeFake):
    thread_name = "fake-gitlab"

    def __init__(self, token: str = ForgeFake.TOKEN, *, repos: Path | None = None) -> None:
        super().__init__(token, repos=repos)
        self.merge_requests: dict[str, list[dict[str, Any]]] = {}  # project path -> merge requests
        self.lose_created_answers = 0  # that many creates succeed but answer 500 (a lost answer)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self.serve_git(handler):
            return
        request = self.record(handler)
        if request.headers.get("private-token") != self.token:
            reply_json(handler, 401, {"message": "401 Unauthorized"})
            return
        if self.injected_failure(handler, request):
            return
        match = _MERGE_REQUESTS.match(request.path)
        if match is None:
            reply_json(handler, 404, {"error": "404 Not Found"})
            return
        project = unquote(match["id"])
        merge_requests = self.merge_requests.setdefault(project, [])
        if request.method == "GET":
            found = [
                mr
                for mr in merge_requests
                if mr["source_branch"] == request.query.get("source_branch", mr["source_branch"])
                and mr["state"] == request.query.get("state", mr["state"])
            ]
            reply_json(handler, 200, found)
        elif request.method == "POST":
            self._create(handler, project, merge_requests, request.json or {})
        else:
            reply_json(handler, 405, {"message": "405 Method Not Allowed"})

    def _create(
        self, handler: BaseHTTPRequestHandler, project: str, merge_requests: list[dict], body: dict
    ) -> None:
        missing = [k for k in ("title", "source_branch", "target_branch") if not body.get(k)]
        if missing:
            reply_json(handler, 400, {"error": f"{missing[0]} is missing"})
            return
        for mr in merge_requests:
            if mr["source_branch"] == body["source_branch"] and mr["state"] == "opened":
                message = f"Another open merge request already exists for this source branch: !{mr['iid']}"
                reply_json(handler, 409, {"message": [message]})
                return
        iid = len(merge_requests) + 1
        mr = {
            "iid": iid,
            "state": "opened",
            "title": body["title"],
            "description": body.get("description"),
            "source_branch": body["source_branch"],
            "target_branch": body["target_branch"],
            "force_remove_source_branch": bool(body.get("remove_source_branch")),
            "web_url": f"{self.base_url}/{project}/-/merge_requests/{iid}",
        }
        merge_requests.append(mr)
        if self.lose_created_answers > 0:
            self.lose_created_answers -= 1
            reply_json(handler, 500, {"message": "500 Internal Server Error"})
            return
        reply_json(handler, 201, mr)
