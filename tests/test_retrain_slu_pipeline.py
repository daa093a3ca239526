"""retrain_slu through the pipeline on the local runner (validation step, retraining step, Slack step), on
real git served over HTTP by the forge fakes, real DVC, a tiny XLM-R: what the user sees when the project is
on GitHub, when the git remote refuses the push, and when the forge answers 4xx or 5xx.

Each run trains a 1-layer model for one epoch on a few dozen rows (about half a minute a run on 2 cores).
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from skit_pipelines.runner.base import RunResult, get_runner
from skit_pipelines.slu.comparison import REPORT_TITLE
from tests.conftest import SettingsEnv
from tests.fakes.forge import ForgeFake
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.model_fixtures import tiny_xlmr
from tests.slu_helpers import csv, dvc_program, new_project, refuse_pushes, rows
from tests.vcs_helpers import remote_branches, sh

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]

RETRAIN_STEP = "retrain-slu-from-repo"


@pytest.fixture(scope="module")
def dvc_exe() -> str:
    return dvc_program()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr") / "model")


def retrain(tmp_path: Path, **parameters: Any) -> RunResult:
    """A first training of ``client-bot`` on a tagged CSV, as a user starts it, Slack thread included."""
    data = csv(tmp_path, "new.csv", rows("train", 3, 0))
    arguments = {
        "repo_name": "client-bot",
        "initial_training": True,
        "dataset_path": data,
        "channel": "#ml",
        **parameters,
    }
    return get_runner().run("retrain_slu", arguments)


def served_project(tmp_path: Path, dvc: str, model: str, owner: str) -> Path:
    """``slu init client-bot`` into ``served/<owner>``, the folder the forge fake serves over HTTP."""
    served = tmp_path / "served"
    new_project(tmp_path, dvc, model, base=served / owner)
    return served


def posted(slack: "FakeSlackServer") -> str:
    return "\n".join(json.dumps(call.args) for call in slack.calls("chat.postMessage"))


def raised(result: RunResult) -> str:
    """The exception the failed step ended with, as its last traceback shows it (class: message)."""
    return result.error[result.error.rindex("\nskit_pipelines.") + 1 :]


def assert_no_secret(result: RunResult, forge: ForgeFake, slack: "FakeSlackServer") -> None:
    log = (Path(result.run_dir) / "run.log").read_text(encoding="utf-8")
    for text in (result.error, json.dumps(result.outputs), log, posted(slack)):
        assert forge.token not in text


def test_a_github_project_gets_a_pull_request_with_the_comparison(
    tmp_path: Path,
    dvc_exe: str,
    tiny_model: str,
    settings_env: SettingsEnv,
    slack_server: "FakeSlackServer",
) -> None:
    served = served_project(tmp_path, dvc_exe, tiny_model, "acme")
    with FakeGitHub(repos=served) as github:  # a GitHub Enterprise host: git and /api/v3 on one server
        settings_env(
            SKIT_SLU_REPO_BASE=f"{github.base_url}/acme",
            SKIT_GITHUB_URL=f"{github.base_url}/api/v3",
            SKIT_GITHUB_TOKEN=github.token,
            SKIT_DVC_EXECUTABLE=dvc_exe,
        )
        result = retrain(tmp_path, target_mr_branch="main")
        assert result.succeeded, result.error
        branch = result.outputs["branch"]
        assert branch in remote_branches(served / "acme" / "client-bot.git")

        (look, create) = github.requests
        assert (look.method, look.path) == ("GET", "/api/v3/repos/acme/client-bot/pulls")
        assert look.query == {"head": f"acme:{branch}", "state": "open"}
        assert (create.method, create.path) == ("POST", "/api/v3/repos/acme/client-bot/pulls")
        assert create.headers["authorization"] == f"Bearer {github.token}"
        body = create.json
        assert set(body) == {"title", "head", "base", "body"}
        assert (body["title"], body["head"], body["base"]) == ("Auto retrained changes", branch, "main")
        assert f"## {REPORT_TITLE}" in body["body"] and "| precision latest |" in body["body"]
        assert "no production model yet" in body["body"].lower()
        assert result.outputs["mr_url"] == "https://github.example/acme/client-bot/pull/1"
        assert github.git_auth  # clone and push went through the same server, with the token
        assert_no_secret(result, github, slack_server)

    review = "please review <https://github.example/acme/client-bot/pull/1|this MR>"
    assert f"Finished training client-bot SLU, {review}" in posted(slack_server)


def test_a_push_refused_by_the_remote_fails_the_run_and_claims_nothing(
    tmp_path: Path,
    dvc_exe: str,
    tiny_model: str,
    settings_env: SettingsEnv,
    slack_server: "FakeSlackServer",
) -> None:
    _conn, project = new_project(tmp_path, dvc_exe, tiny_model)
    refuse_pushes(project.repo, "GL-HOOK-ERR: client-bot is frozen for the release")
    settings_env(SKIT_SLU_REPO_BASE=str(tmp_path / "repos"), SKIT_DVC_EXECUTABLE=dvc_exe)
    master = sh("rev-parse", "master", cwd=project.repo)
    result = retrain(tmp_path)
    assert not result.succeeded and result.failed_step.startswith(RETRAIN_STEP)
    error = raised(result)
    assert error.startswith(
        "skit_pipelines.vcs.errors.PublishError: the data is in the DVC remote but branch"
    )
    assert "was not pushed" in error
    assert "(pre-receive hook declined)" in error and "frozen for the release" in error
    assert remote_branches(project.repo) == {"master"}  # nothing half-pushed
    assert sh("rev-parse", "master", cwd=project.repo) == master
    assert result.outputs == {} and "Finished training" not in posted(slack_server)


@pytest.mark.parametrize(
    ("status", "payload", "expected", "gets", "posts"),
    [
        # A 4xx is the forge's considered answer: reported at once, no retry.
        (
            403,
            {"message": "403 Forbidden - You are not allowed to create merge requests in this project"},
            "gitlab answered HTTP 403 to POST",
            1,
            1,
        ),
        # A 5xx (a proxy's HTML page) is retried (4 attempts of the whole find-or-open step), then reported.
        (
            502,
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            "gitlab answered HTTP 502 to POST",
            4,
            4,
        ),
    ],
    ids=["4xx", "5xx"],
)
def test_a_forge_error_says_the_branch_is_pushed_and_the_merge_request_is_not(
    tmp_path: Path,
    dvc_exe: str,
    tiny_model: str,
    settings_env: SettingsEnv,
    slack_server: "FakeSlackServer",
    status: int,
    payload: Any,
    expected: str,
    gets: int,
    posts: int,
) -> None:
    served = served_project(tmp_path, dvc_exe, tiny_model, "skit-ai")
    with FakeGitLab(repos=served) as gitlab:
        gitlab.fail("POST", status, payload, times=10)
        settings_env(
            SKIT_SLU_REPO_BASE=f"{gitlab.base_url}/skit-ai",
            SKIT_GITLAB_URL=gitlab.base_url,
            SKIT_GITLAB_TOKEN=gitlab.token,
            SKIT_DVC_EXECUTABLE=dvc_exe,
        )
        result = retrain(tmp_path)
        assert not result.succeeded and result.failed_step.startswith(RETRAIN_STEP)
        assert (len(gitlab.calls("GET")), len(gitlab.calls("POST"))) == (gets, posts)
        assert not gitlab.merge_requests.get("skit-ai/client-bot")
        assert_no_secret(result, gitlab, slack_server)

    last = raised(result)
    assert last.startswith("skit_pipelines.jobs.retrain_slu.ReviewError: branch '")
    assert expected in last
    if status == 403:
        assert "not allowed to create merge requests" in last and "(check the token and its scope)" in last
    else:
        assert "(4 attempts)" in last and "502 Bad Gateway" in last
    # The branch is published whole (its data.dvc, data in the DVC remote) and the message says so.
    remote = served / "skit-ai" / "client-bot.git"
    (branch,) = remote_branches(remote) - {"master"}
    assert f"branch '{branch}' was pushed to" in last and "its data in the DVC remote" in last
    assert f"Open it by hand from '{branch}' into 'sandbox'" in last and "MR-Description" in last
    assert "data.dvc" in sh("ls-tree", "--name-only", branch, cwd=remote).split()
    assert "Finished training" not in posted(slack_server)
