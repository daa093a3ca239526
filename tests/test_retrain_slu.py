"""Retrain SLU end to end on real parts: `slu init`, real git (bare remotes on disk, and over HTTP behind the
GitLab fake), real DVC with a local remote, a tiny XLM-R trained for one epoch, a real Label Studio.

The first test is the whole loop on the local runner: `slu init` -> `retrain_slu` from a tagged CSV -> a
reviewer merges -> annotators tag new turns in Label Studio -> `retrain_slu` on those annotations, compared
with the merged model, proposed as a GitLab merge request. The others call the job directly.
"""

import datetime as dt
import json
import logging
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pandas as pd
import pytest

from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.annotation.upload import tag_calls
from skit_pipelines.jobs.retrain_slu import (
    RetrainSetupError,
    evaluate_branch,
    open_review,
    retrain_request_from,
    retrain_slu,
    validate_retraining,
)
from skit_pipelines.jobs.slu_init import SluInitError, init_project
from skit_pipelines.jobs.slu_repo import SluConnections
from skit_pipelines.pipeline_checks import location_errors
from skit_pipelines.readpolicy import ReadPolicy, ReadRefusedError
from skit_pipelines.runner.base import RunResult, get_runner
from skit_pipelines.slu.comparison import FIRST_TRAINING, REPORT_TITLE
from skit_pipelines.slu.dataset_steps import DatasetPreparationError
from skit_pipelines.slu.project_config import SluProjectConfig
from skit_pipelines.vcs import dvc as dvc_ops
from skit_pipelines.vcs.errors import GitBranchNotFoundError, PublishError
from skit_pipelines.vcs.git import BRANCH_TIME_FORMAT, clone
from tests.conftest import SettingsEnv
from tests.fakes.gitlab import FakeGitLab
from tests.model_fixtures import sentences, tiny_xlmr
from tests.slu_helpers import connections, csv, dvc_program, merge_into_master, new_project, rows
from tests.vcs_helpers import remote_branches, sh

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer
    from tests.labelstudio_server import LabelStudioServer

pytest_plugins = ["tests.labelstudio_server", "tests.fakes.slack_server"]

FIRST = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def dvc_exe() -> str:
    return dvc_program()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr") / "model")


def request(**parameters):
    return retrain_request_from({"repo_name": "client-bot", "epochs": 0, **parameters})


def run_retrain(arguments: dict[str, Any]) -> dict[str, Any]:
    """``retrain_slu`` on the local runner, as `skit-pipelines run` starts it; its outputs."""
    result: RunResult = get_runner().run(
        "retrain_slu", {"repo_name": "client-bot", "channel": "#ml", **arguments}
    )
    assert result.succeeded, result.error
    return result.outputs


def annotate_new_turns(tmp_path: Path, labelstudio: "LabelStudioServer") -> tuple[int, int]:
    """New turns (the held-out wordings of the four intents) uploaded to a new Label Studio project, then
    tagged through the API as annotators do: every task its intent, except one task left untouched and one
    annotation cancelled (both left out of the download). Returns the project id and the tagged tasks."""
    pairs = sentences("test")
    turns = pd.DataFrame(
        {
            "conversation_uuid": [f"t-{i}" for i in range(len(pairs))],
            "call_uuid": [f"c-{i}" for i in range(len(pairs))],
            "utterances": [json.dumps([[{"transcript": text, "confidence": 0.9}]]) for text, _ in pairs],
            "state": "COF",
            "reftime": "2026-11-20T10:00:00+00:00",
            "audio_url": [f"https://audio.example/{i}.wav" for i in range(len(pairs))],
            "intent": [intent for _, intent in pairs],  # the deployed model's prediction, shown to annotators
        }
    )
    turns.to_csv(tmp_path / "turns.csv", index=False)
    upload = tag_calls(
        s3_path=str(tmp_path / "turns.csv"),
        project_title=f"retrain {uuid.uuid4().hex[:8]}",
        url=labelstudio.url,
        token=labelstudio.token,
    )
    (project,) = upload.projects
    truth = dict(pairs)
    with LabelStudioClient(labelstudio.url, labelstudio.token) as client:
        tasks = sorted(client.iter_tasks(project.project_id, include="id,data"), key=lambda t: t["id"])
        assert len(tasks) == len(pairs)
        _untouched, cancelled, *rest = tasks
        client.create_annotation(cancelled["id"], [], was_cancelled=True)
        for task in rest:
            intent = truth[task["data"]["text"]]
            choice = {"from_name": "tag", "to_name": "transcript", "type": "choices"}
            client.create_annotation(task["id"], [{**choice, "value": {"choices": [intent]}}])
    return project.project_id, len(rest)


def test_init_then_retrain_twice_the_second_time_from_label_studio_annotations(
    tmp_path: Path,
    dvc_exe: str,
    tiny_model: str,
    settings_env: SettingsEnv,
    labelstudio_env: "LabelStudioServer",
    slack_server: "FakeSlackServer",
) -> None:
    served = tmp_path / "served"
    conn, project = new_project(tmp_path, dvc_exe, tiny_model, base=served / "skit-ai")
    assert project.initial_training and remote_branches(project.repo) == {"master"}

    # 1. A first training from a tagged CSV, the repository reached as a local path: no forge, so the
    #    message says how to open the merge request by hand.
    settings_env(SKIT_SLU_REPO_BASE=str(served / "skit-ai"), SKIT_DVC_EXECUTABLE=dvc_exe)
    first = run_retrain(
        {"initial_training": True, "dataset_path": csv(tmp_path, "a.csv", rows("train", 3, 0))}
    )
    assert re.fullmatch(r"\d{4}(-\d\d){5}", first["branch"]) and first["mr_url"] == ""
    dt.datetime.strptime(first["branch"], BRANCH_TIME_FORMAT)
    assert first["branch"] in remote_branches(project.repo)
    description = Path(first["comparison_markdown"]).read_text()
    assert FIRST_TRAINING in description and REPORT_TITLE in description
    assert first["intents"] == 4 and first["train_rows"] > 0 and first["test_rows"] > 0
    report = pd.read_csv(first["comparison_classification_report"], index_col=0)
    assert "precision production" in report.columns and report["precision production"].isna().all()
    (message,) = [json.dumps(c.args) for c in slack_server.calls("chat.postMessage")]
    assert f"Finished training client-bot SLU on branch {first['branch']}" in message
    assert f"open a merge request from branch '{first['branch']}' into 'sandbox' by hand" in message

    # 2. A reviewer merges it; annotators tag new turns in Label Studio; the same repository, now behind
    #    the GitLab fake, is retrained on those annotations and compared with the merged model.
    merge_into_master(project.repo, first["branch"])
    project_id, tagged = annotate_new_turns(tmp_path, labelstudio_env)
    with FakeGitLab(repos=served) as gitlab:
        settings_env(
            SKIT_SLU_REPO_BASE=f"{gitlab.base_url}/skit-ai",
            SKIT_GITLAB_URL=gitlab.base_url,
            SKIT_GITLAB_TOKEN=gitlab.token,
        )
        second = run_retrain({"labelstudio_project_ids": str(project_id), "timezone": "Asia/Kolkata"})
        (post,) = gitlab.calls("POST")
        assert second["mr_url"] == f"{gitlab.base_url}/skit-ai/client-bot/-/merge_requests/1"
    assert second["branch"] != first["branch"] and second["new_rows"] == tagged
    body = post.json
    assert (body["source_branch"], body["target_branch"]) == (second["branch"], "sandbox")
    mr = body["description"]
    assert mr == Path(second["comparison_markdown"]).read_text()
    assert f"## {REPORT_TITLE}" in mr and "| precision latest | precision production |" in mr.replace(
        "  ", " "
    )
    assert FIRST_TRAINING not in mr
    assert "Production model (branch master) evaluated on the same test set" in mr
    assert f"labelstudio projects {project_id}" in mr
    assert (
        f"previous dataset: {first['train_rows']:,} train + {first['test_rows']:,} test rows combined" in mr
    )
    report = pd.read_csv(second["comparison_classification_report"], index_col=0)
    assert report["precision production"].notna().any()
    assert report.loc["macro avg", "support production"] == report.loc["macro avg", "support latest"]
    review = f"please review <{second['mr_url']}|this MR>"
    assert f"Finished training client-bot SLU, {review}" in json.dumps(
        slack_server.calls("chat.postMessage")[-1].args
    )

    # 3. The pushed branch holds data.dvc whose data comes back with dvc pull.
    checkout = clone(str(project.repo), tmp_path / "reviewer")
    checkout.checkout(second["branch"])
    assert (checkout.path / "data.dvc").is_file() and not (checkout.path / "data").exists()
    dvc_ops.Dvc(checkout.path, dvc=dvc_exe).pull()
    train = pd.read_csv(checkout.path / "data/classification/datasets/train.csv")
    assert len(train) == second["train_rows"]
    assert (checkout.path / "data/classification/models/labels.json").is_file()
    log = sh("log", "-1", "--format=%an <%ae>%n%B", cwd=checkout.path)
    assert log.startswith("automation <automation@skit.ai>") and f"labelstudio projects {project_id}" in log

    evaluated = evaluate_branch(
        retrain_request_from({"repo_name": "client-bot", "repo_branch": second["branch"]}), conn
    )
    assert evaluated.test_rows > 0 and 0.0 <= evaluated.production_accuracy <= 1.0


def test_gitlab_merge_request_has_the_markdown_table_and_is_opened_once(
    tmp_path: Path, dvc_exe: str, tiny_model: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    served = tmp_path / "served"
    new_project(tmp_path, dvc_exe, tiny_model, "bot", base=served / "skit-ai" / "slu")
    with FakeGitLab(repos=served) as gitlab:
        conn = connections(
            f"{gitlab.base_url}/skit-ai/slu", dvc_exe, gitlab_url=gitlab.base_url, gitlab_token=gitlab.token
        )
        data = csv(tmp_path, "a.csv", rows("train", 3, 0))
        result = retrain_slu(
            retrain_request_from({"repo_name": "bot", "initial_training": True, "dataset_path": data}),
            conn,
            now=FIRST,
        )
        assert result.mr_url.startswith(gitlab.base_url) and "please review <" in result.message
        assert result.message.startswith("Finished training bot SLU, please review <")
        steps = ["checkout", "new data", "previous data", "prepare", "train", "evaluate", "production"]
        assert list(result.seconds) == [*steps, "comparison", "publish", "merge request"]
        assert all(s >= 0 for s in result.seconds.values()) and result.seconds["train"] > 0
        assert "step times: checkout " in caplog.text and " train " in caplog.text
        posts = gitlab.calls("POST")
        assert len(posts) == 1
        body = posts[0].json
        assert body["source_branch"] == result.branch and body["target_branch"] == "sandbox"
        assert body["title"] == "Auto retrained changes" and body["remove_source_branch"] is True
        assert f"## {REPORT_TITLE}" in body["description"] and "| precision latest |" in body["description"]
        assert gitlab.token not in result.message + result.description + caplog.text
        assert any(
            "Authorization: Basic" in header or header.startswith("Basic") for header in gitlab.git_auth
        )

        # a re-run of the review step for the same branch finds the open merge request
        again = open_review(
            f"{gitlab.base_url}/skit-ai/slu/bot.git", conn, result.branch, "sandbox", result.description
        )
        assert again.url == result.mr_url and not again.created
        assert len(gitlab.calls("POST")) == 1


def test_unknown_repo_branch_or_intent_fail_before_any_work(
    tmp_path: Path, dvc_exe: str, tiny_model: str
) -> None:
    conn, project = new_project(tmp_path, dvc_exe, tiny_model)
    data = csv(tmp_path, "a.csv", rows("train", 3, 0))
    with pytest.raises(RetrainSetupError, match="'no-such-bot' .* is not reachable"):
        retrain_slu(request(repo_name="no-such-bot", initial_training=True, dataset_path=data), conn)
    with pytest.raises(GitBranchNotFoundError, match="branch 'develop' does not exist"):
        retrain_slu(request(repo_branch="develop", initial_training=True, dataset_path=data), conn)
    with pytest.raises(DatasetPreparationError, match="remove_intents names intents .*: greet"):
        retrain_slu(request(initial_training=True, dataset_path=data, remove_intents="greet"), conn)
    with pytest.raises(Exception, match="initial_training is false but the repository has no data.dvc"):
        validate_retraining(request(dataset_path=data), conn)
    assert remote_branches(project.repo) == {"master"}  # nothing was pushed


def test_slu_init_never_overwrites_and_takes_a_tagged_csv(tmp_path: Path, dvc_exe: str) -> None:
    conn = connections(tmp_path / "repos", dvc_exe)
    result = init_project("seeded", conn, tmp_path / "home", data=rows("train", 3, 0))
    assert not result.initial_training and result.intents == 4 and result.test_rows > 0
    checkout = clone(str(result.repo), tmp_path / "look")
    assert (checkout.path / "data.dvc").is_file() and (checkout.path / "slu.yaml").is_file()
    with pytest.raises(SluInitError, match="already exists"):
        init_project("seeded", conn, tmp_path / "home")
    url_base = connections("https://gitlab.example.org/skit-ai/slu", dvc_exe)
    with pytest.raises(SluInitError, match="local repositories only"):
        init_project("other", url_base, tmp_path / "home")


def test_a_dvc_remote_that_cannot_be_written_pushes_no_branch(
    tmp_path: Path, dvc_exe: str, tiny_model: str
) -> None:
    """The data must reach the DVC remote before the branch reaches git: an unwritable remote fails the
    run with the reason, and no branch claims data the remote does not have."""
    conn, project = new_project(tmp_path, dvc_exe, tiny_model)
    Path(project.dvc_remote).rmdir()
    Path(project.dvc_remote).write_text("not a folder")  # the remote path exists but is no directory
    data = csv(tmp_path, "a.csv", rows("train", 3, 0))
    with pytest.raises(PublishError, match="dvc push failed, so branch .* was not pushed"):
        retrain_slu(request(initial_training=True, dataset_path=data), conn, now=FIRST)
    assert remote_branches(project.repo) == {"master"}


def test_comma_lists_of_dataset_paths_are_each_checked_by_the_read_policy(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    policy = ReadPolicy.create(confined=True, allowed=[str(allowed)], secrets=())
    inside = str(allowed / "a.csv")
    assert location_errors("retrain_slu", {"dataset_path": f"{inside}, {inside}"}, policy) == {}
    errors = location_errors("retrain_slu", {"dataset_path": f"{inside},/etc/passwd"}, policy)
    assert set(errors) == {"dataset_path"} and "/etc/passwd" in errors["dataset_path"]
    assert set(location_errors("evaluate_slu", {"test_dataset_path": "/etc/passwd"}, policy)) == {
        "test_dataset_path"
    }


def test_api_and_slack_runs_may_only_name_a_project_under_the_repo_base(tmp_path: Path) -> None:
    """A run clones and pushes: from the API or Slack it must not reach any repository the worker can."""
    confined = ReadPolicy.create(confined=True, allowed=[str(tmp_path)], secrets=())
    for name in (
        str(tmp_path / "elsewhere.git"),
        "file:///srv/git/other.git",
        "https://git.example.com/x.git",
    ):
        errors = location_errors("retrain_slu", {"repo_name": name}, confined)
        assert "a full URL or path is for the CLI" in errors["repo_name"], name
        assert "repo_name" in location_errors("evaluate_slu", {"repo_name": name}, confined)
    assert location_errors("retrain_slu", {"repo_name": "client-bot"}, confined) == {}
    open_policy = ReadPolicy.create(confined=False, allowed=[], secrets=())
    assert location_errors("retrain_slu", {"repo_name": str(tmp_path / "x.git")}, open_policy) == {}
    # the step itself (the worker sets the confined policy in its environment) refuses the same
    step = SluConnections(repo_base=str(tmp_path / "repos"), names_only=True)
    with pytest.raises(ReadRefusedError, match="a full URL or path is for the CLI"):
        step.repo_url(str(tmp_path / "elsewhere.git"))
    assert step.repo_url("client-bot") == str(tmp_path / "repos" / "client-bot.git")


def test_retrain_with_an_s3_dvc_remote_on_moto(
    tmp_path: Path, dvc_exe: str, tiny_model: str, s3_bucket: str, moto_endpoint: str
) -> None:
    conn = connections(tmp_path / "repos", dvc_exe)
    config = SluProjectConfig(model_name=tiny_model, epochs=1, batch_size=8, max_seq_length=32)
    remote = f"s3://{s3_bucket}/clients/client-bot"
    project = init_project(
        "client-bot",
        conn,
        tmp_path / "home",
        config=config,
        dvc_remote=remote,
        dvc_endpoint_url=moto_endpoint,
    )
    assert project.dvc_remote == remote and not (tmp_path / "home" / "slu-dvc").exists()
    data = csv(tmp_path, "a.csv", rows("train", 3, 0))
    result = retrain_slu(request(initial_training=True, dataset_path=data), conn, now=FIRST)
    assert result.comparison_classification_report.startswith(f"s3://{s3_bucket}/prefix/")
    listed = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").list_objects_v2(
        Bucket=s3_bucket, Prefix="clients/client-bot/"
    )
    assert listed.get("KeyCount", 0) >= 5  # datasets, model files and the directory manifest
    checkout = clone(str(project.repo), tmp_path / "reviewer")
    checkout.checkout(result.branch)
    dvc_ops.Dvc(checkout.path, dvc=dvc_exe).pull()
    assert (checkout.path / "data/classification/models/labels.json").is_file()
