"""A fake GitHub REST API on 127.0.0.1: exactly the pull-request endpoints ``skit_pipelines.forge`` uses.

The API answers at the root (``api.github.com``'s shape) and under ``/api/v3`` (GitHub Enterprise Server's),
so one server can also serve the repositories' git, as an Enterprise host does: with ``repos`` (a folder of
bare repositories ``<owner>/<repo>.git``), ``/<owner>/<repo>.git/...`` is git over HTTP (see
:class:`tests.fakes.forge.ForgeFake`), and a remote ``<base_url>/<owner>/<repo>.git`` has API
``<base_url>/api/v3``.

- ``GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open`` lists the matching open pull requests.
- ``POST /repos/{owner}/{repo}/pulls`` (JSON ``title``, ``head``, ``base``, ``body``) answers 201 with
  ``number`` and ``html_url``; a second open one for the same head is refused with 422, as GitHub does.
- Any other ``Authorization`` than ``Bearer <token>`` gets 401 ``Bad credentials``.
Every request is recorded in ``requests``; ``fail(method, status, payload)`` injects answers.
"""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.fakes.forge import ForgeFake
from tests.fakes.http import reply_json

_PULLS = re.compile(r"^(?:/api/v3)?/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls$")


class FakeGitHub(ForgeFake):
    thread_name = "fake-github"

    def __init__(self, token: str = ForgeFake.TOKEN, *, repos: Path | None = None) -> None:
        super().__init__(token, repos=repos)
        self.pulls: dict[str, list[dict[str, Any]]] = {}  # "owner/repo" -> pull requests

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self.serve_git(handler):
            return
        request = self.record(handler)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            reply_json(handler, 401, {"message": "Bad credentials", "status": "401"})
            return
        if self.injected_failure(handler, request):
            return
        match = _PULLS.match(request.path)
        if match is None:
            reply_json(handler, 404, {"message": "Not Found", "status": "404"})
            return
        repo = f"{match['owner']}/{match['repo']}"
        pulls = self.pulls.setdefault(repo, [])
        if request.method == "GET":
            head = request.query.get("head", "")
            state = request.query.get("state", "open")
            owner = match["owner"]
            found = [p for p in pulls if f"{owner}:{p['head']['ref']}" == head and p["state"] == state]
            reply_json(handler, 200, found)
        elif request.method == "POST":
            body = request.json or {}
            missing = [k for k in ("title", "head", "base") if not body.get(k)]
            if missing:
                reply_json(handler, 422, {"message": "Validation Failed", "errors": [{"field": missing[0]}]})
                return
            if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in pulls):
                message = f"A pull request already exists for {match['owner']}:{body['head']}."
                reply_json(handler, 422, {"message": "Validation Failed", "errors": [{"message": message}]})
                return
            number = len(pulls) + 1
            pull = {
                "number": number,
                "state": "open",
                "title": body["title"],
                "body": body.get("body"),
                "head": {"ref": body["head"]},
                "base": {"ref": body["base"]},
                "html_url": f"https://github.example/{repo}/pull/{number}",
            }
            pulls.append(pull)
            reply_json(handler, 201, pull)
        else:
            reply_json(handler, 405, {"message": "Method Not Allowed"})
