"""The Kubeflow runner against a fake KFP v2beta1 API server, driven by kfp 2.17's own client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines.pipelines.parameters import InvalidArgumentsError
from skit_pipelines.runner.base import PipelineRunError, RunState, StepEvent, get_runner
from skit_pipelines.runner.kubeflow import KubeflowRunner, RunTimeoutError
from tests.conftest import SettingsEnv, free_port

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.fakes.kfp_server"]

TOKEN = "kfp-test-token"  # FakeKfpServer.TOKEN, which the kfp_server fixture requires
ARGS = {"lang": "en", "call_quantity": 5}
PIPELINE = "fetch_calls_pipeline"


def make_runner(server: FakeKfpServer, **overrides: object) -> KubeflowRunner:
    options: dict[str, object] = {"token": TOKEN, "poll_seconds": 0.05, "cancel_grace_seconds": 0.3}
    options.update(overrides)
    return KubeflowRunner(server.url, **options)  # type: ignore[arg-type]


@pytest.fixture
def server(kfp_server: FakeKfpServer) -> FakeKfpServer:
    assert kfp_server.token == TOKEN
    return kfp_server


def test_successful_run_submits_the_spec_and_reports_events(server: FakeKfpServer) -> None:
    server.script_run(
        ("PENDING", {}),
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("RUNNING", {"fetch-calls": "SUCCEEDED", "root": "RUNNING"}),
        ("SUCCEEDED", {}),
        run_id="run-ok",
    )
    events: list[StepEvent] = []
    result = make_runner(server, ui_url="https://kubeflow.example.com/pipeline/").run(
        "fetch-calls-pipeline", ARGS, on_event=events.append, run_name="nightly sample"
    )

    assert result.state == RunState.SUCCEEDED and result.succeeded
    assert result.run_id == "run-ok"
    assert result.pipeline == PIPELINE
    assert result.backend == "kubeflow"
    assert result.run_url == "https://kubeflow.example.com/pipeline/#/runs/details/run-ok"
    assert (result.outputs, result.failed_step, result.error) == ({}, "", "")

    # Task events on every change (DAG containers such as the root are not steps), run events too.
    task_events = [(e.step, e.state) for e in events if e.step != PIPELINE]
    assert task_events == [("fetch-calls", RunState.RUNNING), ("fetch-calls", RunState.SUCCEEDED)]
    run_events = [e for e in events if e.step == PIPELINE]
    assert [e.state for e in run_events] == [RunState.PENDING, RunState.RUNNING, RunState.SUCCEEDED]
    assert run_events[0].detail == result.run_url

    # What reached the server: the experiment, then the run with its pipeline spec inline.
    (experiment,) = server.experiments.values()
    assert experiment["display_name"] == "Default"
    (body,) = server.submitted_runs
    assert body["display_name"] == "nightly sample"
    assert body["experiment_id"] == experiment["experiment_id"]
    assert body["runtime_config"]["parameters"] == ARGS
    spec = body["pipeline_spec"]
    assert spec["pipelineInfo"]["name"] == "fetch-calls-pipeline"
    root_inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert {"lang", "call_quantity"} <= set(root_inputs)
    assert root_inputs["call_quantity"]["parameterType"] == "NUMBER_INTEGER"
    tasks = spec["root"]["dag"]["tasks"]
    assert all(task["cachingOptions"]["enableCache"] is False for task in tasks.values())
    # Every request carried the token.
    assert server.requests and all(r.authorization == f"Bearer {TOKEN}" for r in server.requests)


def test_existing_experiment_is_reused(server: FakeKfpServer) -> None:
    runner = make_runner(server, experiment="voicebot")
    runner.run(PIPELINE, ARGS)
    runner.run(PIPELINE, ARGS)
    assert [e["display_name"] for e in server.experiments.values()] == ["voicebot"]
    assert len(server.calls("POST", "/apis/v2beta1/experiments")) == 1
    lookups = server.calls("GET", "/apis/v2beta1/experiments")
    assert lookups and '"stringValue": "voicebot"' in lookups[0].query["filter"]


def test_failed_run_reports_failed_step_and_error(server: FakeKfpServer) -> None:
    server.script_run(
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("FAILED", {"fetch-calls": "FAILED"}),
        error="task 'fetch-calls' failed: ValueError: no calls match",
        task_errors={"fetch-calls": "ValueError: no calls match"},
    )
    events: list[StepEvent] = []
    result = make_runner(server).run(PIPELINE, ARGS, on_event=events.append)

    assert result.state == RunState.FAILED and not result.succeeded
    assert result.failed_step == "fetch-calls"
    # The failing step's own message, named by the step (a cluster's run error is often "exit status 1").
    assert result.error == "step fetch-calls failed: ValueError: no calls match"
    assert StepEvent("fetch-calls", RunState.FAILED, "ValueError: no calls match") in events
    assert events[-1].step == PIPELINE and events[-1].state == RunState.FAILED


def test_failed_run_without_run_error_uses_the_task_error(server: FakeKfpServer) -> None:
    server.script_run(
        ("FAILED", {"root": "FAILED", "fetch-calls": "FAILED"}),
        task_errors={"fetch-calls": "KeyError: 'lang'"},
    )
    result = make_runner(server).run(PIPELINE, ARGS)
    assert result.failed_step == "fetch-calls"  # the step, not the root DAG
    assert result.error == "step fetch-calls failed: KeyError: 'lang'"


def test_failed_run_with_only_a_run_error_names_the_step(server: FakeKfpServer) -> None:
    server.script_run(
        ("FAILED", {"fetch-calls": "FAILED"}), error="failed to execute component: exit status 1"
    )
    result = make_runner(server).run(PIPELINE, ARGS)
    assert result.error == "step fetch-calls failed: failed to execute component: exit status 1"


@pytest.mark.timeout(30)
def test_canceling_past_the_grace_period_is_reported_canceled(server: FakeKfpServer) -> None:
    server.script_run("RUNNING", "CANCELING")  # stays CANCELING forever
    events: list[StepEvent] = []
    started = time.monotonic()
    result = make_runner(server, cancel_grace_seconds=0.3).run(PIPELINE, ARGS, on_event=events.append)
    assert time.monotonic() - started < 5
    assert result.state == RunState.CANCELED
    assert "CANCELING" in result.error
    assert [e.state for e in events if e.step == PIPELINE] == [
        RunState.RUNNING,
        RunState.CANCELING,
        RunState.CANCELED,
    ]


@pytest.mark.timeout(30)
def test_canceled_is_final(server: FakeKfpServer) -> None:
    server.script_run("RUNNING", "CANCELING", "CANCELED", error="Run was terminated by a user")
    result = make_runner(server, cancel_grace_seconds=60).run(PIPELINE, ARGS)
    assert result.state == RunState.CANCELED
    assert result.error == "Run was terminated by a user"
    # It stopped polling at CANCELED: one GET per scripted state.
    assert len(server.calls("GET", r"/apis/v2beta1/runs/[^/]+")) == 3


@pytest.mark.timeout(30)
def test_skipped_is_final(server: FakeKfpServer) -> None:
    server.script_run("SKIPPED")
    assert make_runner(server).run(PIPELINE, ARGS).state == RunState.SKIPPED


def test_get_status_and_cancel(server: FakeKfpServer) -> None:
    run_id = server.add_run("RUNNING", run_id="r-42")
    runner = make_runner(server)

    status = runner.get_status(run_id)
    assert (status.run_id, status.pipeline, status.state) == ("r-42", PIPELINE, RunState.RUNNING)
    assert status.run_url == f"{server.url}/#/runs/details/r-42"

    after = runner.cancel(run_id)
    assert server.calls("POST", "/apis/v2beta1/runs/r-42:terminate")
    assert after.state == RunState.CANCELING
    assert runner.get_status(run_id).state == RunState.CANCELED

    with pytest.raises(PipelineRunError, match="404.*no run nope"):
        runner.get_status("nope")


def test_transient_server_errors_while_polling_are_retried(server: FakeKfpServer) -> None:
    server.script_run("RUNNING", "SUCCEEDED")
    server.fail(503, method="GET", path_contains="/runs/", times=2, message="upstream connect error")
    assert make_runner(server).run(PIPELINE, ARGS).state == RunState.SUCCEEDED


def test_timeout_raises_with_where_the_run_stood(server: FakeKfpServer) -> None:
    server.script_run("RUNNING")
    with pytest.raises(RunTimeoutError, match="still RUNNING after 0.2s") as caught:
        make_runner(server, timeout_seconds=0.2).run(PIPELINE, ARGS)
    assert caught.value.result.state == RunState.RUNNING


def test_token_is_sent_and_a_wrong_token_is_a_clear_error(server: FakeKfpServer) -> None:
    started = time.monotonic()
    with pytest.raises(PipelineRunError) as caught:
        make_runner(server, token="wrong-token").run(PIPELINE, ARGS)
    message = str(caught.value)
    assert message.startswith(f"Kubeflow Pipelines at {server.url} refused the token (401)")
    assert "SKIT_KFP_TOKEN" in message and "\n" not in message
    assert "wrong-token" not in message
    assert time.monotonic() - started < 5  # kfp's own health check would retry for 25 s
    assert server.requests[0].authorization == "Bearer wrong-token"
    assert not server.submitted_runs

    with pytest.raises(PipelineRunError, match=r"requires a token \(401\).*set SKIT_KFP_TOKEN"):
        make_runner(server, token="").run(PIPELINE, ARGS)


def test_forbidden_is_a_clear_error(server: FakeKfpServer) -> None:
    server.fail(403, method="POST", path_contains="/runs", message="user is not allowed in namespace team-a")
    with pytest.raises(PipelineRunError) as caught:
        make_runner(server, namespace="team-a").run(PIPELINE, ARGS)
    assert str(caught.value) == (
        f"Kubeflow Pipelines at {server.url} denied access (403) while submitting a run of {PIPELINE}; "
        "the token is not allowed to use namespace 'team-a': user is not allowed in namespace team-a"
    )


@pytest.mark.timeout(30)
def test_unreachable_host_is_a_clear_error_quickly() -> None:
    host = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(PipelineRunError) as caught:
        KubeflowRunner(host, poll_seconds=0.05).run(PIPELINE, ARGS)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert message.startswith(f"cannot reach Kubeflow Pipelines at {host} while checking the API")
    assert "Connection refused" in message and "\n" not in message and " object at 0x" not in message


def test_invalid_arguments_fail_before_any_request(server: FakeKfpServer) -> None:
    with pytest.raises(InvalidArgumentsError) as caught:
        make_runner(server).run(PIPELINE, {"lang": "en", "call_quantity": "many"})
    assert "call_quantity" in caught.value.errors
    assert server.requests == []


def test_get_runner_returns_kubeflow_when_host_is_set(settings_env: SettingsEnv) -> None:
    settings_env(
        SKIT_KFP_HOST="http://kfp.example.com:8888/",
        SKIT_KFP_TOKEN="secret-token",
        SKIT_KFP_EXPERIMENT="voicebot",
        SKIT_KFP_POLL_SECONDS="2.5",
    )
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    assert runner.backend == "kubeflow"
    assert (runner.host, runner.token, runner.experiment, runner.poll_seconds) == (
        "http://kfp.example.com:8888",
        "secret-token",
        "voicebot",
        2.5,
    )
    assert runner.run_url("x") == "http://kfp.example.com:8888/#/runs/details/x"
    assert "secret-token" not in repr(runner)


def test_kfp_server_fixture_points_the_settings_at_the_fake(kfp_server: FakeKfpServer) -> None:
    kfp_server.script_run("RUNNING", "SUCCEEDED")
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    assert runner.run(PIPELINE, ARGS).state == RunState.SUCCEEDED


def test_submitted_steps_run_the_image_of_the_settings(
    server: FakeKfpServer, settings_env: SettingsEnv
) -> None:
    """SKIT_IMAGE is read when the runner is made from the settings, long after the components were built."""
    settings_env(SKIT_IMAGE="registry.example.com/skit-pipelines:run-7")
    server.script_run("RUNNING", "SUCCEEDED")
    get_runner().run(PIPELINE, ARGS)
    (body,) = server.submitted_runs
    # SKIT_KFP_HOST is cluster mode: the spec travels with its Kubernetes platform spec.
    assert set(body["pipeline_spec"]) == {"pipeline_spec", "platform_spec"}
    executors = body["pipeline_spec"]["pipeline_spec"]["deploymentSpec"]["executors"]
    assert executors and {e["container"]["image"] for e in executors.values()} == {
        "registry.example.com/skit-pipelines:run-7"
    }


def test_the_submitted_spec_is_what_compile_writes(
    server: FakeKfpServer, settings_env: SettingsEnv, tmp_path: Path
) -> None:
    """`compile` and a cluster run apply one configuration: the body's spec and platform spec are the YAML."""
    import yaml

    from skit_pipelines.compiler import compile_pipeline

    settings_env(SKIT_KFP_SECRET="skit-pipelines-env", SKIT_KFP_GPU_TOLERATION="nvidia.com/gpu:NoSchedule")
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    server.script_run("RUNNING", "SUCCEEDED")
    runner.run(PIPELINE, ARGS)
    (body,) = server.submitted_runs
    path = compile_pipeline(PIPELINE, tmp_path, image=runner.image, pod_config=runner.pod_config)
    spec, platform = yaml.safe_load_all(path.read_text())
    assert body["pipeline_spec"]["platform_spec"] == platform
    submitted = body["pipeline_spec"]["pipeline_spec"]
    for task in submitted["root"]["dag"]["tasks"].values():
        assert task.pop("cachingOptions") == {"enableCache": False}  # the one difference: caching off
    for task in spec["root"]["dag"]["tasks"].values():
        task.pop("cachingOptions", None)
    assert submitted == spec


def test_the_fake_server_refuses_a_malformed_inline_spec(server: FakeKfpServer) -> None:
    runner = make_runner(server)
    with pytest.raises(PipelineRunError, match="400.*pipeline_spec lacks pipelineInfo"):
        runner.submit(PIPELINE, {"root": {}}, ARGS)
    with pytest.raises(PipelineRunError, match="400.*platform_spec has no platforms.kubernetes"):
        runner.submit(
            PIPELINE, {"pipeline_spec": {"pipelineInfo": {}, "root": {}}, "platform_spec": {}}, ARGS
        )
