"""``skit-pipelines schedule`` as a user runs it: recurring runs in the API's runs database (no cluster) and
Kubeflow recurring runs (a fake KFP API asserting what kfp's client sends)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines.runner.kfp_schedules import KfpSchedules
from skit_pipelines.runner.kubeflow import KubeflowRunner, compile_pipeline_spec
from tests.cli_runner import cli, flat

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.fakes.kfp_server"]

PARAMS = ["-p", "lang=en", "-p", "call_quantity=5"]


def test_local_schedules_live_in_the_runs_database(isolated_settings: Path) -> None:
    created = cli("schedule", "fetch-calls-pipeline", "--cron", "0 3 * * 1", *PARAMS, "--namespace", "skit",
                  "--timezone", "Asia/Kolkata", "--json")  # fmt: skip
    assert created.returncode == 0, created.stderr
    (record,) = json.loads(created.stdout)
    assert record["pipeline"] == "fetch_calls_pipeline" and record["namespace"] == "skit"
    assert (record["cron"], record["timezone"], record["state"]) == ("0 3 * * 1", "Asia/Kolkata", "active")
    assert record["parameters"] == {"lang": "en", "call_quantity": "5"} and record["source"] == "cli"
    sid = record["schedule_id"]

    listed = cli("schedule", "list", "--json")
    assert [r["schedule_id"] for r in json.loads(listed.stdout)] == [sid]
    paused = cli("schedule", "pause", sid, "--json")
    assert json.loads(paused.stdout)[0]["state"] == "paused", paused.stderr
    resumed = cli("schedule", "resume", sid, "--json")
    assert json.loads(resumed.stdout)[0]["state"] == "active"
    table = cli("schedule", "list")
    assert sid in table.stdout and "0 3 * * 1 Asia/Kolkata" in table.stdout
    deleted = cli("schedule", "delete", sid)
    assert deleted.returncode == 0 and f"deleted {sid}" in deleted.stdout
    assert json.loads(cli("schedule", "list", "--json").stdout) == []
    missing = cli("schedule", "delete", sid)
    assert missing.returncode == 2 and f"there is no schedule '{sid}'" in flat(missing.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fetch_calls_pipeline", "--cron", "0 3 * *", *PARAMS], "cron: '0 3 * *' has 4 fields"),
        (["fetch_calls_pipeline", *PARAMS], "--cron is required"),
        (["fetch_calls_pipeline", "--cron", "@daily", "-p", "call_quantity=lots"], "call_quantity:"),
        (["fetch_calls_pipeline", "--cron", "@daily", "--timezone", "Nowhere/Land"], "unknown timezone"),
        (["pause"], "say which schedule"),
        (["no_such_pipeline", "--cron", "@daily"], "unknown pipeline"),
    ],
)
def test_bad_schedules_are_refused_with_a_clear_error(
    isolated_settings: Path, args: list[str], message: str
) -> None:
    result = cli("schedule", *args)
    assert result.returncode == 2, result.stdout
    assert message in flat(result.stderr)
    assert json.loads(cli("schedule", "list", "--json").stdout) == []


def test_cluster_schedule_is_a_kubeflow_recurring_run(kfp_server: FakeKfpServer) -> None:
    created = cli("schedule", "fetch_calls_pipeline", "--cron", "0 3 * * 1", *PARAMS, "--name", "weekly",
                  "--json")  # fmt: skip
    assert created.returncode == 0, created.stderr
    (shown,) = json.loads(created.stdout)
    (body,) = [r.json for r in kfp_server.calls("POST", "/apis/v2beta1/recurringruns")]
    (experiment,) = kfp_server.experiments.values()
    assert body["experiment_id"] == experiment["experiment_id"]
    assert body["display_name"] == "weekly" and body["mode"] == "ENABLE"
    assert body["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * 1"}}  # Kubeflow's six fields
    assert body["no_catchup"] is True and body["max_concurrency"] == "1"
    assert body["runtime_config"]["parameters"] == {"lang": "en", "call_quantity": 5}  # typed
    spec = body["pipeline_spec"]
    inner = spec.get("pipeline_spec", spec)
    assert inner["pipelineInfo"]["name"] == "fetch-calls-pipeline"
    assert all(t["cachingOptions"]["enableCache"] is False for t in inner["root"]["dag"]["tasks"].values())
    assert shown["schedule_id"] in kfp_server.recurring_runs and shown["state"] == "active"

    sid = shown["schedule_id"]
    assert cli("schedule", "pause", sid).returncode == 0
    assert kfp_server.recurring_runs[sid]["mode"] == "DISABLE"
    listed = json.loads(cli("schedule", "list", "--json").stdout)
    assert [(s["schedule_id"], s["state"], s["cron"]) for s in listed] == [(sid, "paused", "0 0 3 * * 1")]
    assert cli("schedule", "resume", sid).returncode == 0
    assert kfp_server.recurring_runs[sid]["mode"] == "ENABLE"
    assert cli("schedule", "delete", sid).returncode == 0
    assert kfp_server.recurring_runs == {}
    gone = cli("schedule", "delete", sid)
    assert gone.returncode == 2 and "there is no recurring run" in flat(gone.stderr)


def test_cluster_schedules_refuse_other_timezones_and_bad_parameters(kfp_server: FakeKfpServer) -> None:
    zoned = cli(
        "schedule", "fetch_calls_pipeline", "--cron", "0 3 * * 1", *PARAMS, "--timezone", "Asia/Kolkata"
    )
    assert zoned.returncode == 2 and "reads cron expressions in UTC" in flat(zoned.stderr)
    bad = cli("schedule", "fetch_calls_pipeline", "--cron", "0 3 * * 1", "-p", "call_quantity=lots")
    assert bad.returncode == 2 and "call_quantity:" in flat(bad.stderr)
    assert kfp_server.calls("POST", "/apis/v2beta1/recurringruns") == []


def test_kfp_schedules_with_the_platform_config(kfp_server: FakeKfpServer) -> None:
    """In-process, with a pod configuration: the spec goes with its Kubernetes platform spec."""
    from skit_pipelines.pipelines import get_pipeline
    from skit_pipelines.podconfig import EnvSource, PodConfig

    runner = KubeflowRunner(kfp_server.url, token=kfp_server.TOKEN, namespace="kubeflow")
    pod_config = PodConfig(
        enabled=True, secrets=(EnvSource("skit-pipelines-env", ("SKIT_DATABASE_URL",), False),)
    )
    spec = compile_pipeline_spec(get_pipeline("fetch_calls_pipeline"), "registry/skit:1", pod_config)
    created = KfpSchedules(runner).create("fetch_calls_pipeline", spec, {"lang": "en"}, cron="*/15 * * * *")
    body = kfp_server.recurring_runs[created.schedule_id]
    assert "kubernetes" in body["pipeline_spec"]["platform_spec"]["platforms"]
    assert body["trigger"]["cron_schedule"]["cron"] == "0 */15 * * * *"
