"""Merge requests against loopback GitLab and GitHub fakes that record every request."""

from __future__ import annotations

import logging
import pickle

import pytest

from skit_pipelines.forge import (
    DEFAULT_TITLE,
    ForgeError,
    RemoteProject,
    UnknownForgeError,
    forge_kind,
    open_merge_request,
    parse_remote,
)
from skit_pipelines.forge.remote import default_api_url
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab

DESCRIPTION = "## Comparison Classification Report (latest,prod)\n| | precision |\n|---|---|\n"
FAST = {"attempts": 3, "backoff": 0.01}


@pytest.fixture
def gitlab():
    with FakeGitLab() as server:
        yield server


@pytest.fixture
def github():
    with FakeGitHub() as server:
        yield server


def gitlab_mr(server: FakeGitLab, branch: str = "2026-11-29-23-05-39", **kwargs):
    kwargs = {"token": server.token, **FAST, **kwargs}
    return open_merge_request(
        "https://gitlab.example.org/skit-ai/slu/project-configs/client.git",
        source_branch=branch,
        target_branch="sandbox",
        description=DESCRIPTION,
        kind="gitlab",
        api_url=server.base_url,
        **kwargs,
    )


def github_pr(server: FakeGitHub, branch: str = "2026-11-29-23-05-39", **kwargs):
    kwargs = {"token": server.token, **FAST, **kwargs}
    return open_merge_request(
        "git@github.com:acme/client-slu.git",
        source_branch=branch,
        target_branch="main",
        description=DESCRIPTION,
        api_url=server.base_url,
        **kwargs,
    )


# ------------------------------------------------------------------------------------------- remote URLs


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        (
            "https://gitlab.com/skit-ai/slu/project-configs/client.git",
            "gitlab.com",
            "skit-ai/slu/project-configs/client",
        ),
        ("https://oauth2:tok@gitlab.example.org:8443/g/r", "gitlab.example.org:8443", "g/r"),
        ("git@github.com:acme/client-slu.git", "github.com", "acme/client-slu"),
        ("ssh://git@gitlab.com:2222/g/sub/r.git", "gitlab.com", "g/sub/r"),
    ],
)
def test_remote_urls_give_host_and_project_path(url: str, host: str, path: str) -> None:
    assert parse_remote(url) == RemoteProject(host=host, path=path)


def test_project_coordinates_and_forge_kind() -> None:
    project = parse_remote("https://gitlab.com/skit-ai/slu/project-configs/client.git")
    assert project.url_encoded_path == "skit-ai%2Fslu%2Fproject-configs%2Fclient"
    assert parse_remote("https://github.com/acme/client-slu").owner_and_name == ("acme", "client-slu")
    assert forge_kind("gitlab.com") == "gitlab" and forge_kind("gitlab.example.org") == "gitlab"
    assert forge_kind("github.com") == "github" and forge_kind("git.example.org") is None
    assert default_api_url("github", "github.com") == "https://api.github.com"
    assert default_api_url("github", "ghe.example.org") == "https://ghe.example.org/api/v3"
    assert default_api_url("gitlab", "gitlab.com") == "https://gitlab.com"
    for bad in ("not a url", "https://gitlab.com/only-one-segment", "/srv/repos/client.git"):
        with pytest.raises(UnknownForgeError):
            parse_remote(bad)


def test_an_unknown_host_needs_an_explicit_kind() -> None:
    with pytest.raises(UnknownForgeError, match="pass the forge kind") as caught:
        open_merge_request(
            "https://user:s3cret@git.example.org/g/r.git",
            source_branch="b",
            target_branch="t",
            description="",
            token="x",
        )
    assert "s3cret" not in str(caught.value)


# ------------------------------------------------------------------------------------------------ GitLab


def test_gitlab_opens_a_merge_request_with_the_reference_payload(gitlab: FakeGitLab) -> None:
    mr = gitlab_mr(gitlab)
    assert mr.created and mr.forge == "gitlab" and mr.number == 1
    assert mr.url == f"{gitlab.base_url}/skit-ai/slu/project-configs/client/-/merge_requests/1"
    find, create = gitlab.requests
    assert find.method == "GET"
    assert find.path == "/api/v4/projects/skit-ai%2Fslu%2Fproject-configs%2Fclient/merge_requests"
    assert find.query == {"source_branch": "2026-11-29-23-05-39", "state": "opened"}
    assert create.method == "POST" and create.path == find.path
    assert create.headers["private-token"] == gitlab.token
    assert create.json == {
        "title": DEFAULT_TITLE,
        "source_branch": "2026-11-29-23-05-39",
        "target_branch": "sandbox",
        "description": DESCRIPTION,
        "remove_source_branch": True,
    }
    assert DEFAULT_TITLE == "Auto retrained changes"


def test_gitlab_rerun_returns_the_open_merge_request(gitlab: FakeGitLab) -> None:
    first = gitlab_mr(gitlab)
    second = gitlab_mr(gitlab)
    assert second.url == first.url and not second.created
    assert len(gitlab.calls("POST")) == 1
    other = gitlab_mr(gitlab, branch="2026-11-30-00-00-00")
    assert other.created and other.number == 2


def test_gitlab_5xx_is_retried_and_a_lost_answer_opens_no_duplicate(gitlab: FakeGitLab) -> None:
    gitlab.fail("GET", 502, {"message": "bad gateway"})
    assert gitlab_mr(gitlab).created
    assert len(gitlab.calls("GET")) == 2 and len(gitlab.calls("POST")) == 1
    # A create whose answer is lost (the MR exists, the client sees a 500) is found on the retry.
    project = "skit-ai/slu/project-configs/client"
    gitlab.merge_requests[project][0]["state"] = "closed"
    gitlab.lose_created_answers = 1
    mr = gitlab_mr(gitlab)
    assert not mr.created and mr.number == 2
    assert len(gitlab.calls("POST")) == 2  # one per run: the retry found it instead of posting again
    assert [m["state"] for m in gitlab.merge_requests[project]] == ["closed", "opened"]


def test_gitlab_conflict_on_create_returns_the_open_one(gitlab: FakeGitLab) -> None:
    gitlab_mr(gitlab)
    gitlab.fail("GET", 200, [])  # the first look misses it (opened by a concurrent run in between)
    mr = gitlab_mr(gitlab)
    assert not mr.created and mr.number == 1
    assert len(gitlab.calls("POST")) == 2  # the second was refused with 409


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (401, None, r"gitlab answered HTTP 401 .*401 Unauthorized \(check the token"),
        (404, {"message": "404 Project Not Found"}, "HTTP 404 .*404 Project Not Found"),
        (400, {"message": {"target_branch": ["is invalid"]}}, "HTTP 400 .*target_branch"),
        (503, {"message": "maintenance"}, "HTTP 503 .*maintenance"),
    ],
)
def test_gitlab_errors_name_forge_status_and_message_but_not_the_token(
    gitlab: FakeGitLab, status: int, payload, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = gitlab.token
    if status == 401:
        token = "glpat-PLANTED-wrong-token"
    else:
        gitlab.fail("GET", status, payload, times=10)
    with pytest.raises(ForgeError, match=expected) as caught:
        gitlab_mr(gitlab, token=token)
    error = caught.value
    assert error.forge == "gitlab" and error.status == status
    assert token not in str(error) and all(token not in r.getMessage() for r in caplog.records)
    assert pickle.loads(pickle.dumps(error)).status == status
    assert not gitlab.calls("POST")


def test_gitlab_unreachable_is_a_forge_error(gitlab: FakeGitLab) -> None:
    url = gitlab.base_url
    gitlab.stop()
    with pytest.raises(ForgeError, match="gitlab at .* is unreachable"):
        open_merge_request(
            "https://gitlab.com/g/r.git",
            source_branch="b",
            target_branch="t",
            description="",
            token="glpat-unreachable-token",
            api_url=url,
            **FAST,
        )


def test_no_token_is_refused_before_any_request(gitlab: FakeGitLab) -> None:
    with pytest.raises(ForgeError, match="no gitlab token"):
        gitlab_mr(gitlab, token="")
    assert not gitlab.requests


# ------------------------------------------------------------------------------------------------ GitHub


def test_github_opens_a_pull_request_and_reuses_it(github: FakeGitHub) -> None:
    pr = github_pr(github)
    assert pr.created and pr.forge == "github"
    assert pr.url == "https://github.example/acme/client-slu/pull/1"
    find, create = github.requests
    assert find.method == "GET" and find.path == "/repos/acme/client-slu/pulls"
    assert find.query == {"head": "acme:2026-11-29-23-05-39", "state": "open"}
    assert create.headers["authorization"] == f"Bearer {github.token}"
    assert create.json == {
        "title": "Auto retrained changes",
        "head": "2026-11-29-23-05-39",
        "base": "main",
        "body": DESCRIPTION,
    }
    again = github_pr(github)
    assert again.url == pr.url and not again.created
    assert len(github.calls("POST")) == 1


def test_github_errors_carry_the_validation_message(github: FakeGitHub) -> None:
    github.fail(
        "POST",
        422,
        {"message": "Validation Failed", "errors": [{"message": "No commits between main and b"}]},
    )
    with pytest.raises(
        ForgeError, match="github answered HTTP 422 .*Validation Failed; No commits"
    ) as caught:
        github_pr(github)
    assert caught.value.status == 422 and github.token not in str(caught.value)
    with pytest.raises(ForgeError, match="HTTP 401 .*Bad credentials"):
        github_pr(github, token="ghp_PLANTED")


def test_a_non_api_answer_is_a_clear_error(gitlab: FakeGitLab) -> None:
    gitlab.fail("GET", 200, b"<html>sign in</html>")  # e.g. a web page: the API URL is wrong
    with pytest.raises(ForgeError, match="gitlab answered HTTP 200 .* not JSON: '<html>sign in</html>'"):
        gitlab_mr(gitlab)
    gitlab.fail("GET", 200, {"message": "an object"})
    with pytest.raises(ForgeError, match="with a dict where a list was expected"):
        gitlab_mr(gitlab)
    assert not gitlab.calls("POST")
