"""The CLI as a user runs it: a subprocess of the installed package, exit codes and what it prints."""

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cli_runner import cli
from tests.warehouse_factory import build_settings_warehouse

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.fakes.kfp_server"]

DAY = ["-p", "start_date=2026-03-10", "-p", "end_date=2026-03-10", "-p", "timezone=UTC"]


@pytest.fixture
def warehouse(isolated_settings: Path) -> str:
    return build_settings_warehouse(60)


def test_list_and_describe() -> None:
    listed = cli("list")
    assert listed.returncode == 0 and "fetch_calls_pipeline" in listed.stdout and "lang*" in listed.stdout
    described = cli("describe", "fetch-calls-pipeline")
    assert described.returncode == 0
    assert (
        "call_quantity" in described.stdout and "200" in described.stdout and "hard cap" in described.stdout
    )
    assert "calls_uri" in described.stdout  # outputs are listed too


def test_unknown_pipeline_names_the_known_ones() -> None:
    result = cli("describe", "fetch_call")
    assert result.returncode == 2 and "fetch_calls_pipeline" in result.stderr


def test_config_masks_secrets() -> None:
    result = cli(
        "config",
        env={
            "SKIT_SLACK_TOKEN": "xoxb-very-secret",
            "SKIT_WAREHOUSE_URL": "postgresql://ml:hunter2@db.internal/calls",
            "SKIT_WEBHOOK_SECRET": "whsec-also-secret",
        },
    )
    assert result.returncode == 0
    for secret in ("xoxb-very-secret", "hunter2", "whsec-also-secret"):
        assert secret not in result.stdout
    assert "SKIT_SLACK_TOKEN" in result.stdout and "********" in result.stdout
    assert "SKIT_WEBHOOK_SECRET" in result.stdout  # the API's settings are listed too
    assert "db.internal" in result.stdout


def test_config_reports_a_bad_setting() -> None:
    result = cli("config", env={"SKIT_TIMEZONE": "Moon/Base"})
    assert result.returncode == 2 and "timezone" in result.stderr


def test_run_writes_exactly_the_requested_calls(warehouse: str) -> None:
    result = cli(
        "run", "fetch_calls_pipeline", "--param", "lang=en", "--param", "call_quantity=50", *DAY, "--json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(result.stdout)
    assert record["state"] == "SUCCEEDED" and record["outputs"]["sampled_calls"] == 50
    with open(record["outputs"]["calls_uri"], newline="") as handle:
        assert len({row["call_uuid"] for row in csv.DictReader(handle)}) == 50
    assert "fetch-calls" in result.stderr  # the progress view went to stderr with --json


def test_run_prints_outputs_and_progress(warehouse: str) -> None:
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", "-p", "call_quantity=5", *DAY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✔ fetch-calls: succeeded" in result.stdout
    assert "slack-notification: skipped" in result.stdout
    assert "calls_uri" in result.stdout and "sampled_calls" in result.stdout


def test_params_file_and_bad_values(warehouse: str, tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"lang": "en", "call_quantity": "ten"}))
    result = cli("run", "fetch_calls_pipeline", "--params-file", str(params))
    assert result.returncode == 2 and "call_quantity" in result.stderr and "integer" in result.stderr
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", "-p", "colour=red")
    assert result.returncode == 2 and "colour" in result.stderr and "unknown parameter" in result.stderr
    result = cli("run", "fetch_calls_pipeline", "-p", "call_quantity=3")
    assert result.returncode == 2 and "lang" in result.stderr and "required" in result.stderr


def test_failed_run_exits_non_zero_with_the_step_and_error(isolated_settings: Path) -> None:
    # nothing listens on port 1: only the step itself can find out
    unreachable = {"SKIT_WAREHOUSE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", env=unreachable)
    assert result.returncode == 1
    assert "failed step: fetch-calls" in result.stdout
    assert "127.0.0.1" in result.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["fetch_calls_pipeline", "-p", "lang=en", "-p", "call_quantity=-5"], "error: call_quantity: "),
        (["fetch_calls_pipeline", "-p", "lang=en", "-p", "random_seed=-7"], "error: random_seed: "),
        (["fetch_calls_pipeline", "-p", "lang=en", "-p", "timezone=Mars/Olympus"], "error: timezone: "),
        (
            ["tag_calls", "-p", "org_id=1", "-p", "s3_path=gs://b/calls.csv", "-p", "job_ids=4"],
            "error: s3_path: ",
        ),
        (["tag_calls", "-p", "org_id=1", "-p", "s3_path=calls.csv"], "error: labelstudio_project_id: "),
    ],
)
def test_doomed_runs_are_refused_by_name_before_anything_starts(
    isolated_settings: Path, args: list[str], line: str
) -> None:
    result = cli("run", *args)
    assert result.returncode == 2, result
    (printed,) = result.stderr.splitlines()  # one line, naming the parameter
    assert printed.startswith(line), printed
    assert result.stdout == ""
    assert not (isolated_settings / "runs").exists()


def test_compile_writes_every_pipeline(tmp_path: Path) -> None:
    result = cli("compile", "--out-dir", str(tmp_path / "build"))
    assert result.returncode == 0
    assert (tmp_path / "build" / "fetch_calls_pipeline.yaml").is_file()


def test_run_goes_to_kubeflow_when_a_host_is_set(kfp_server: "FakeKfpServer") -> None:
    kfp_server.script_run(
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("FAILED", {"fetch-calls": "FAILED"}),
        error="fetch-calls: start_date: cannot read 'x' as a date",
        run_id="r-cli",
    )
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", "-p", "call_quantity=50", "--json")
    assert result.returncode == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["backend"] == "kubeflow" and record["run_id"] == "r-cli" and record["state"] == "FAILED"
    assert record["failed_step"] == "fetch-calls" and "cannot read" in record["error"]
    (submitted,) = kfp_server.submitted_runs
    assert submitted["runtime_config"]["parameters"]["call_quantity"] == 50
