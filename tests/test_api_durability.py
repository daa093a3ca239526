"""Durable runs: a restart of the API (SIGKILL) loses nothing, a dead worker fails its run, the queue is
bounded, and Kubeflow runs are followed by the watcher (fake KFP server)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines.api.store import RunStore
from skit_pipelines.config import get_settings
from skit_pipelines.runner.base import RunState
from tests.api_helpers import ApiClient, SubprocessApi, ThreadedApi, WebhookReceiver, wait_for
from tests.conftest import SettingsEnv, free_port

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.kfp_server"]

pytestmark = pytest.mark.timeout(150)


def state_of(store: RunStore, run_id: str) -> RunState:
    run = store.get_run(run_id)
    assert run is not None
    return run.state


@pytest.mark.slow
def test_api_restart_resumes_queued_runs_and_delivers_each_webhook_exactly_once(
    api_env: None,
    isolated_settings: Path,
    tmp_path: Path,
    settings_env: SettingsEnv,
) -> None:
    settings_env(SKIT_API_WORKERS="1")  # the second run must wait in the queue
    receiver = WebhookReceiver(fail_first=1).start()
    store = RunStore.from_url(get_settings().effective_database_url)
    port = free_port()
    first = SubprocessApi("tests.api_app:app", port, tmp_path / "api-1.log").start()
    second: SubprocessApi | None = None
    try:
        client = ApiClient(first.url)
        slow = client.run("sleep_pipeline", {"seconds": 4, "webhook_uri": receiver.url}).json()["response"]
        quick = client.run("sleep-pipeline", {"seconds": 0.1, "webhook_uri": receiver.url}).json()["response"]
        wait_for(
            lambda: state_of(store, slow["run_id"]) == RunState.RUNNING, 30, what="the slow run to start"
        )
        assert state_of(store, quick["run_id"]) == RunState.PENDING  # one worker: queued behind it

        first.kill()  # a crash in the middle of the run

        # The worker lives on in its own session and records the result with no API up; nobody dispatches
        # the queued run and nobody sends a webhook meanwhile.
        wait_for(lambda: state_of(store, slow["run_id"]) == RunState.SUCCEEDED, 60, what="the slow run")
        time.sleep(0.5)
        assert state_of(store, quick["run_id"]) == RunState.PENDING
        assert receiver.requests == []

        second = SubprocessApi("tests.api_app:app", port, tmp_path / "api-2.log").start()
        client = ApiClient(second.url)
        for run_id in (slow["run_id"], quick["run_id"]):
            client.wait_final(run_id)
            settled = client.wait_delivery(run_id)
            attempts = settled["response"]["notifications"]["webhook"]["attempts"]
            assert settled["response"]["notifications"]["webhook"]["status"] == "delivered"
            assert [a["ok"] for a in attempts] in ([True], [False, True])
        time.sleep(1.0)  # many watcher ticks later: still nothing sent twice
    finally:
        for api in (first, second):
            if api is not None:
                api.kill()
        receiver.stop()
        store.dispose()

    delivered = [r.headers["x-skit-delivery"] for r in receiver.delivered]
    assert sorted(delivered) == sorted([slow["run_id"], quick["run_id"]])
    assert len(receiver.requests) == 3  # the first attempt failed (fail_first=1), then one each
    slow_run, quick_run = store.get_run(slow["run_id"]), store.get_run(quick["run_id"])
    assert slow_run and quick_run and quick_run.started_at and slow_run.finished_at
    assert quick_run.started_at >= slow_run.finished_at  # never two at once with one worker


def test_a_dead_worker_fails_its_run_and_the_caller_hears_of_it(
    client: ApiClient,
    api: ThreadedApi,
    webhook: WebhookReceiver,
) -> None:
    created = client.run("sleep_pipeline", {"seconds": 60, "webhook_uri": webhook.url}).json()["response"]
    store = api.app.state.ctx.service.store
    run = wait_for(
        lambda: (r := store.get_run(created["run_id"])) and r.worker_pid and r, 30, what="a worker"
    )
    wait_for(
        lambda: client.status(created["run_id"]).json()["response"]["steps"].get("sleep-step") == "RUNNING",
        30,
        what="the step to start",
    )
    run_log = (
        Path(wait_for(lambda: store.get_run(created["run_id"]).run_dir, 30, what="the run dir")) / "run.log"
    )
    wait_for(lambda: "sleeping 60" in run_log.read_text(), 30, what="the step's first log line")
    os.killpg(run.worker_pid, signal.SIGKILL)  # the worker and its step, as the OOM killer would

    final = client.wait_final(created["run_id"], timeout=30)
    assert final["response"]["state"] == "FAILED"
    assert (
        f"worker process (pid {run.worker_pid}) ended without reporting a result"
        in final["response"]["error"]
    )
    # The step it was running is the failed one, and what the step logged before the kill is shown.
    assert final["response"]["steps"] == {"sleep-step": "FAILED"}
    assert final["response"]["failed_step"] == "sleep-step"
    assert "sleep-step: sleeping 60.0s" in final["response"]["error_logs"]
    client.wait_delivery(created["run_id"])
    (payload,) = [r.json for r in webhook.delivered]
    assert payload["status"] == "error" and "ended without reporting" in payload["response"]["error"]


def test_kubeflow_runs_get_the_namespace_and_are_followed_to_the_end(
    kfp_server: FakeKfpServer,
    client: ApiClient,
    webhook: WebhookReceiver,
) -> None:
    kfp_server.script_run(
        ("PENDING", {}),
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("FAILED", {"fetch-calls": "FAILED"}),
        error="task 'fetch-calls' failed: ValueError: no calls match",
        run_id="kfp-run-1",
    )
    response = client.run(
        "fetch_calls_pipeline",
        {"lang": "en", "call_quantity": 7, "webhook_uri": webhook.url},
        namespace="team-x",
    )
    assert response.status_code == 200, response.text
    created = response.json()["response"]
    assert created["run_url"] == f"{kfp_server.url}/#/runs/details/kfp-run-1"

    (experiment,) = kfp_server.experiments.values()
    assert experiment["namespace"] == "team-x"
    (body,) = kfp_server.submitted_runs
    assert body["runtime_config"]["parameters"] == {"lang": "en", "call_quantity": 7}
    assert body["display_name"] == f"fetch_calls_pipeline {created['run_id']}"

    final = client.wait_final(created["run_id"], namespace="team-x")
    result = final["response"]
    assert result["state"] == "FAILED" and result["backend"] == "kubeflow"
    assert result["backend_run_id"] == "kfp-run-1" and result["failed_step"] == "fetch-calls"
    assert result["error_logs"] == "task 'fetch-calls' failed: ValueError: no calls match"
    client.wait_delivery(created["run_id"], namespace="team-x")
    (payload,) = [r.json for r in webhook.delivered]
    assert payload["status"] == "error" and payload["response"]["run_url"] == created["run_url"]

    health = client.http.get("/").json()["response"]["runner"]
    assert health == {"ok": True, "backend": "kubeflow", "host": kfp_server.url}


def test_kubeflow_refusing_a_run_is_a_502_and_the_run_is_recorded_failed(
    kfp_server: FakeKfpServer,
    client: ApiClient,
) -> None:
    kfp_server.fail(500, method="POST", path_contains="/runs", message="cluster is full", times=None)
    response = client.run("fetch_calls_pipeline", {"lang": "en"})
    assert response.status_code == 502
    assert "cluster is full" in response.json()["response"]["message"]
    listed = client.http.get("/skit/pipelines/runs", headers=client.auth()).json()["response"]["runs"]
    assert [r["state"] for r in listed] == ["FAILED"]
