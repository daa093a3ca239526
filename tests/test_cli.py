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
    assert "↷ slack-notification: skipped: no notify or channel given" in result.stdout
    # The pipeline's own summary is printed, and outputs come in a stable (sorted) order.
    assert "sampled 5 of 60 matching calls" in result.stdout
    outputs = ["calls_uri", "matching_calls", "random_seed", "sampled_calls", "turns"]
    positions = [result.stdout.index(f"│ {name} ") for name in outputs]
    assert positions == sorted(positions), result.stdout


def test_failed_run_shows_the_messages_and_outputs_of_the_steps_that_succeeded(
    warehouse: str, tmp_path: Path
) -> None:
    """kfp returns no pipeline outputs after a failure: the CSV the first step wrote is still named."""
    unreachable = {"SKIT_LABELSTUDIO_URL": "http://127.0.0.1:9", "SKIT_LABELSTUDIO_TOKEN": "t"}
    args = ["run", "fetch_n_tag_calls", "-p", "org_id=acme", "-p", "lang=en", "-p", "call_quantity=3"]
    result = cli(*args, "-p", "labelstudio_project_id=5", *DAY, env=unreachable)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed step: upload-for-annotation" in result.stdout
    assert "sampled 3 of 60 matching calls" in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if "fetch-calls.calls_uri" in line]
    calls_uri = line.split("│")[2].strip()
    assert calls_uri.endswith(".csv") and Path(calls_uri).is_file()

    as_json = cli(*args, "-p", "labelstudio_project_id=5", *DAY, "--json", env=unreachable)
    record = json.loads(as_json.stdout)
    assert record["outputs"] == {} and record["step_outputs"]["fetch-calls"]["sampled_calls"] == 3
    assert "sampled 3 of 60" in record["messages"]["fetch-calls"]


@pytest.mark.parametrize(
    ("param", "shown"),
    [
        ("start_date=[today]", "cannot read '[today]' as a date"),
        ("timezone=Asia/[/]Kolkata", "unknown timezone 'Asia/[/]Kolkata'"),
        ("[bold]=x", "[bold]: unknown parameter"),
    ],
)
def test_square_brackets_in_values_are_printed_as_typed(warehouse: str, param: str, shown: str) -> None:
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", "-p", param)
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr  # the CLI itself did not crash on the text
    assert shown in " ".join((result.stdout + result.stderr).split())


def test_describe_prints_square_brackets_of_the_docs() -> None:
    result = cli("describe", "irr_from_tog")
    assert result.returncode == 0
    assert "Alias YAML {alias: [intents]}" in result.stdout


def test_list_and_config_are_not_cut_when_piped() -> None:
    from skit_pipelines.pipelines import PIPELINES
    from skit_pipelines.pipelines.parameters import pipeline_parameters

    long_url = "postgresql://ml@" + "a-very-long-host-name." * 5 + "internal:5432/calls_database"
    narrow = {"COLUMNS": "80", "SKIT_DATABASE_URL": long_url}
    listed = cli("list", env=narrow)
    assert listed.returncode == 0
    for name, pipeline in PIPELINES.items():
        (row,) = [line for line in listed.stdout.splitlines() if line.startswith(f"│ {name} ")]
        assert all(p.name in row for p in pipeline_parameters(pipeline)), row
    config = cli("config", env=narrow)
    assert long_url in config.stdout
    names = [line.split("│")[1].strip() for line in config.stdout.splitlines() if line.startswith("│ SKIT_")]
    assert names == sorted(names) and len(names) > 10


def test_a_parameter_given_twice_is_an_error(warehouse: str) -> None:
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", "-p", "lang=hi")
    assert result.returncode == 2
    assert "--param lang is given twice ('en' and 'hi')" in result.stderr


def test_unknown_skit_variables_are_named_with_the_closest_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SKIT_WAREHOUSE_ULR=sqlite:///x.db\nOTHER_TOOL=1\n")
    internal = {
        "SKIT_RUN_DIR": "/tmp/x",
        "SKIT_READ_CONFINED": "1",
        "SKIT_TEST_POSTGRES_URL": "postgresql://x",
    }
    result = cli("config", env={"SKIT_SLAK_TOKEN": "xoxb-1", **internal}, cwd=tmp_path)
    assert result.returncode == 0
    err = " ".join(result.stderr.split())
    assert (
        "SKIT_SLAK_TOKEN in the environment is not a setting and is ignored (did you mean SKIT_SLACK_TOKEN?)"
        in err
    )
    assert (
        "SKIT_WAREHOUSE_ULR in .env is not a setting and is ignored (did you mean SKIT_WAREHOUSE_URL?)" in err
    )
    assert not any(name in err for name in internal) and "OTHER_TOOL" not in err
    assert "xoxb-1" not in result.stderr + result.stdout


def test_floats_are_shown_with_four_significant_digits() -> None:
    from skit_pipelines.cli import display_value

    assert display_value(0.8571428571428571) == "0.8571"
    assert display_value({"f1": 0.123456789, "n": 7, "per": [1234567.891]}) == (
        '{"f1": 0.1235, "n": 7, "per": [1235000.0]}'
    )
    assert display_value("0.8571428571428571") == "0.8571428571428571"  # text is shown as it is


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
    out_dir = tmp_path / "[bold]build"
    result = cli("compile", "--out-dir", str(out_dir))
    assert result.returncode == 0
    assert (out_dir / "fetch_calls_pipeline.yaml").is_file()
    assert f"wrote {out_dir / 'fetch_calls_pipeline.yaml'}" in result.stdout  # the folder name as typed


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
