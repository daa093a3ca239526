"""Outputs of cluster runs: a step run as the cluster runs it publishes its outputs, and the runner (and the
API's webhook and Slack message) reports them as the local runner would; errors name the failing step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from skit_pipelines import storage
from skit_pipelines.config import get_settings
from skit_pipelines.pipelines import get_pipeline
from skit_pipelines.runner.base import RunState, get_runner
from skit_pipelines.runner.kfp_outputs import pipeline_outputs, publish_step_outputs, step_outputs_key
from skit_pipelines.runner.kubeflow import KubeflowRunner, compile_pipeline_spec
from tests.api_helpers import ApiClient, WebhookReceiver
from tests.conftest import SettingsEnv
from tests.warehouse_factory import build_settings_warehouse

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.kfp_server", "tests.fakes.slack_server"]

REPO = Path(__file__).resolve().parents[1]
PIPELINE = "fetch_calls_pipeline"
ARGS = {"lang": "en", "call_quantity": 5}
DAY = {"start_date": "2026-03-10", "end_date": "2026-03-10", "timezone": "UTC"}  # the factory's calls
FETCH_OUTPUTS = {"calls_uri", "matching_calls", "random_seed", "sampled_calls", "turns"}


def run_step_as_the_cluster_does(
    spec: dict[str, Any], task: str, values: dict[str, Any], run_id: str, work: Path
) -> subprocess.CompletedProcess:
    """Start ``task``'s container command of a compiled spec as the KFP launcher would: ``{{$}}`` replaced
    by an executor input (every input, output files in ``work``), the pod's variables set."""
    executors = spec["deploymentSpec"]["executors"]
    component = spec["components"][f"comp-{task}"]
    container = executors[component["executorLabel"]]["container"]
    parameters = component["inputDefinitions"]["parameters"]
    inputs = {k: p.get("defaultValue") for k, p in parameters.items()}
    for name, parameter in parameters.items():  # JSON numbers, as the launcher passes them: 0, not 0.0
        if parameter["parameterType"] == "NUMBER_INTEGER" and inputs[name] is not None:
            inputs[name] = int(inputs[name])
    outputs = component["outputDefinitions"]["parameters"]
    work.mkdir(parents=True, exist_ok=True)
    executor_input = {
        "inputs": {"parameterValues": {**inputs, **values}},
        "outputs": {
            "parameters": {name: {"outputFile": str(work / name)} for name in outputs},
            "outputFile": str(work / "executor_output.json"),
        },
    }
    args = [json.dumps(executor_input) if arg == "{{$}}" else arg for arg in container["args"]]
    env = {
        **os.environ,
        **{e["name"]: e["value"] for e in container.get("env", [])},  # SKIT_KFP_TASK
        "SKIT_KFP_RUN_ID": run_id,  # the pod label, through the downward API
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # python3
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [*container["command"], *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.timeout(180)
def test_a_step_run_as_on_the_cluster_publishes_outputs_that_the_run_reports(
    kfp_server: FakeKfpServer, settings_env: SettingsEnv, tmp_path: Path
) -> None:
    build_settings_warehouse(20)
    settings_env(SKIT_KFP_SECRET="skit-pipelines-env")
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner) and runner.pod_config is not None and runner.pod_config.enabled
    spec = compile_pipeline_spec(get_pipeline(PIPELINE), runner.image, runner.pod_config)["pipeline_spec"]

    step = run_step_as_the_cluster_does(spec, "fetch-calls", ARGS | DAY, "kfp-run-out", tmp_path / "pod")
    assert step.returncode == 0, step.stdout + step.stderr
    assert "[skit-pipelines] outputs published to " in step.stdout
    published_uri = storage.artifact_uri(step_outputs_key("kfp-run-out", "fetch-calls"))
    published = json.loads(storage.read_text(published_uri))["outputs"]
    assert published["sampled_calls"] == 5 and Path(published["calls_uri"]).is_file()

    kfp_server.script_run(
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("SUCCEEDED", {"fetch-calls": "SUCCEEDED", "slack-notification": "SUCCEEDED"}),
        run_id="kfp-run-out",
    )
    result = runner.run(PIPELINE, ARGS | DAY)
    assert result.state == RunState.SUCCEEDED
    assert result.step_outputs == {"fetch-calls": published}  # the notification step published nothing
    assert set(result.outputs) == FETCH_OUTPUTS  # the pipeline's outputs, as the local runner reports them
    assert result.outputs == {key: published[key] for key in FETCH_OUTPUTS}


def test_a_failing_step_fails_the_wrapper_and_publishes_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "SKIT_KFP_RUN_ID": "r1", "SKIT_KFP_TASK": "t1", "PYTHONPATH": str(REPO)}
    failed = subprocess.run(
        [sys.executable, "-m", "skit_pipelines.runner.kfp_cluster_step", "sh", "-c", "echo working; exit 3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 3 and failed.stdout == "working\n"
    # A step that did its work but cannot say where its outputs went still succeeds, and says why.
    unnamed = {k: v for k, v in env.items() if k != "SKIT_KFP_RUN_ID"}
    done = subprocess.run(
        [sys.executable, "-m", "skit_pipelines.runner.kfp_cluster_step", "true"],
        env=unnamed,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "outputs not published: SKIT_KFP_RUN_ID or SKIT_KFP_TASK is not set" in done.stdout


def test_a_failed_run_reports_the_outputs_of_the_steps_that_succeeded(
    kfp_server: FakeKfpServer, settings_env: SettingsEnv
) -> None:
    settings_env(SKIT_KFP_SECRET="skit-pipelines-env")
    fetched = {"calls_uri": "s3://bucket/calls.csv", "message": "Sampled 5 calls.", "sampled_calls": 5}
    publish_step_outputs("kfp-run-failed", "fetch-calls", fetched)
    kfp_server.script_run(
        ("RUNNING", {"fetch-calls": "SUCCEEDED", "upload-for-annotation": "RUNNING"}),
        ("FAILED", {"upload-for-annotation": "FAILED"}),
        task_errors={"upload-for-annotation": "LabelStudioError: project 7 does not exist"},
        run_id="kfp-run-failed",
    )
    result = get_runner().run(
        "fetch_n_tag_calls", {"org_id": "7", "lang": "en", "labelstudio_project_id": "7"}
    )
    assert result.state == RunState.FAILED
    assert result.failed_step == "upload-for-annotation"
    assert result.error == "step upload-for-annotation failed: LabelStudioError: project 7 does not exist"
    assert result.step_outputs == {"fetch-calls": fetched}
    assert result.outputs == {}  # as kfp: no pipeline outputs from a failed run
    assert result.step_messages == {"fetch-calls": "Sampled 5 calls."}


def test_pipeline_outputs_follow_conditions_and_one_of() -> None:
    """Training has a GPU copy and a CPU copy of its step joined by dsl.OneOf: the copy that ran counts."""
    spec = compile_pipeline_spec(get_pipeline("train_voicebot_intent_model_xlmr"))
    declared = set(spec["root"]["outputDefinitions"]["parameters"])
    trained = {"model_uri": "s3://b/model", "labels": 3, "train_rows": 90, "epochs_run": 2, "device": "cpu"}
    by_step = {name: dict(trained, device=device) for name, device in [("train-intent-model-2", "cpu")]}
    assert pipeline_outputs(spec, by_step) == {
        k: v for k, v in by_step["train-intent-model-2"].items() if k in declared
    }
    on_gpu = {"train-intent-model": dict(trained, device="cuda")}
    assert pipeline_outputs(spec, on_gpu)["device"] == "cuda"
    assert pipeline_outputs(spec, {}) == {}


@pytest.mark.timeout(120)
def test_the_api_reports_cluster_outputs_in_the_webhook_and_slack(
    s3_bucket: str,
    kfp_server: FakeKfpServer,
    slack_server: FakeSlackServer,
    client: ApiClient,
    webhook: WebhookReceiver,
) -> None:
    """Outputs in S3 (the shared artifact root a cluster needs): file_path and s3_path as the reference's."""
    calls_uri = f"s3://{s3_bucket}/prefix/calls/2026-01-01/calls.csv"
    outputs = {"calls_uri": calls_uri, "matching_calls": 9, "sampled_calls": 5, "turns": 15, "random_seed": 7}
    assert get_settings().effective_artifact_root == f"s3://{s3_bucket}/prefix"
    published = publish_step_outputs("kfp-run-s3", "fetch-calls", {**outputs, "message": "Sampled 5 calls."})
    assert published.startswith(f"s3://{s3_bucket}/prefix/kfp-runs/kfp-run-s3/")
    kfp_server.script_run(
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("SUCCEEDED", {"fetch-calls": "SUCCEEDED", "slack-notification": "SUCCEEDED"}),
        run_id="kfp-run-s3",
    )
    body = {
        "lang": "en",
        "webhook_uri": webhook.url,
        "channel": "C0CHAN",
        "slack_thread": "1700000000.000001",
    }
    created = client.run(PIPELINE, body).json()["response"]
    final = client.wait_final(created["run_id"])["response"]
    assert final["state"] == "SUCCEEDED" and final["outputs"] == outputs
    client.wait_delivery(created["run_id"])
    (payload,) = [r.json for r in webhook.delivered]
    assert payload["status"] == "ok"
    assert payload["response"]["file_path"] == calls_uri and payload["response"]["s3_path"] == calls_uri
    client.wait_delivery(created["run_id"], "slack")
    (post,) = slack_server.calls("chat.postMessage")
    assert post.args["thread_ts"] == "1700000000.000001"
    assert calls_uri in json.dumps(post.args["blocks"])  # the artifact's URI in the message's code block
