"""``skit-pipelines runs list|show|logs|cancel|retry`` on real local runs (test pipelines of
:mod:`tests.api_pipelines` run by the real local runner), the CLI run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from skit_pipelines.config import get_settings
from skit_pipelines.runner.base import RunState
from skit_pipelines.runner.local import LocalRunner
from skit_pipelines.runner.local_runs import load_run, process_identity, same_process
from tests.api_helpers import ApiClient, wait_for
from tests.api_pipelines import echo_pipeline
from tests.cli_runner import cli, flat

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.kfp_server"]

pytestmark = pytest.mark.timeout(240)

# Values a shell, JSON or kfp could change on the way: they must arrive byte for byte.
AWKWARD = 'python3 {{$.inputs}} "quoted" \\ back\tslash  é 🙂 \n second line '


def runs_dir() -> Path:
    return Path(get_settings().runs_dir).resolve()


def echo_run(tmp_path: Path, name: str = "echo.json") -> tuple[str, Path]:
    out = tmp_path / name
    result = LocalRunner(runs_dir()).run_pipeline(
        echo_pipeline,
        "echo_pipeline",
        {"text": AWKWARD, "out_path": str(out)},
        pipeline_ref="tests.api_pipelines:echo_pipeline",
    )
    assert result.state == RunState.SUCCEEDED, result.error
    return result.run_id, out


def cli_json(*args: str) -> Any:
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_list_show_and_logs_of_local_runs(isolated_settings: Path, tmp_path: Path) -> None:
    first, _ = echo_run(tmp_path, "first.json")
    second, _ = echo_run(tmp_path, "second.json")

    listed = cli_json("runs", "list")
    assert [run["run_id"] for run in listed] == [second, first]  # newest first
    assert listed[0]["pipeline"] == "echo_pipeline" and listed[0]["state"] == "SUCCEEDED"
    assert listed[0]["seconds"] > 0 and listed[0]["started_at"]
    assert [run["run_id"] for run in cli_json("runs", "list", "--limit", "1")] == [second]
    table = cli("runs", "list")
    assert table.returncode == 0 and first in table.stdout and "echo_pipeline" in table.stdout

    shown = cli_json("runs", "show", first)
    assert shown["arguments"]["text"] == AWKWARD
    assert shown["steps"] == {"echo-step": "SUCCEEDED"} and shown["outputs"] == {"Output": AWKWARD}
    readable = cli("runs", "show", first)
    assert readable.returncode == 0 and "parameters" in readable.stdout and "echo-step" in readable.stdout

    logs = cli("runs", "logs", first)
    assert logs.returncode == 0 and "Executing task 'echo-step'" in logs.stdout
    step_logs = cli("runs", "logs", first, "--step", "echo-step")
    assert step_logs.stdout.splitlines()[0].endswith("Executing task 'echo-step'")
    assert "finished with status SUCCESS" in step_logs.stdout.splitlines()[-1]
    # --follow of a finished run prints the whole log and returns
    assert cli("runs", "logs", first, "--follow").stdout == logs.stdout
    unknown_step = cli("runs", "logs", first, "--step", "nope")
    assert unknown_step.returncode == 1 and "no step 'nope'; its steps: echo-step" in flat(
        unknown_step.stderr
    )


def test_unknown_and_malformed_run_ids_are_refused_without_file_contents(
    isolated_settings: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    for command in ("show", "logs", "cancel", "retry"):
        answer = cli("runs", command, "20260101-000000-000000000000")
        assert answer.returncode == 1, answer.stderr
        assert "there is no local run '20260101-000000-000000000000'" in flat(answer.stderr)
        traversal = cli("runs", command, f"../../{secret.parent.name}/secret.txt")
        assert traversal.returncode == 1 and "is not a run id" in flat(traversal.stderr)
        assert "TOP-SECRET" not in traversal.stdout + traversal.stderr


def test_retry_reruns_the_same_pipeline_with_byte_identical_parameters(
    isolated_settings: Path, tmp_path: Path
) -> None:
    run_id, out = echo_run(tmp_path)
    before = json.loads(out.read_text())
    out.unlink()

    answer = cli("runs", "retry", run_id, "--json")
    assert answer.returncode == 0, answer.stderr
    retried = json.loads(answer.stdout)
    assert retried["retry_of"] == run_id and retried["run_id"] != run_id and retried["state"] == "SUCCEEDED"

    old = json.loads((runs_dir() / run_id / "run.json").read_bytes())
    new = json.loads((runs_dir() / retried["run_id"] / "run.json").read_bytes())
    assert (
        json.dumps(new["arguments"], sort_keys=True).encode()
        == json.dumps(old["arguments"], sort_keys=True).encode()
    )
    assert new["pipeline"] == old["pipeline"] and new["pipeline_ref"] == old["pipeline_ref"]
    assert json.loads(out.read_text())["text"].encode() == before["text"].encode() == AWKWARD.encode()

    printed = cli("runs", "retry", run_id)
    assert printed.returncode == 0 and f"retry of {run_id}: new run " in flat(printed.stdout)


# -- cancel --
DRIVER = textwrap.dedent(
    """
    import sys
    from skit_pipelines.config import get_settings
    from skit_pipelines.runner.local import LocalRunner
    from tests.api_pipelines import progress_pipeline

    LocalRunner(get_settings().runs_dir).run_pipeline(
        progress_pipeline, "progress_pipeline",
        {"release": sys.argv[1], "epochs": 1, "wait_seconds": 120.0},
        pipeline_ref="tests.api_pipelines:progress_pipeline",
    )
    """
)


def start_waiting_run(tmp_path: Path, *, own_group: bool) -> tuple[subprocess.Popen, str]:
    """A local run whose only step waits for a file that never comes; returns it once the step runs."""
    before = set(os.listdir(runs_dir())) if runs_dir().exists() else set()
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "never")],
        env={**os.environ},
        start_new_session=own_group,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def started() -> str | None:
        new = set(os.listdir(runs_dir())) - before if runs_dir().exists() else set()
        for run_id in new:
            log = runs_dir() / run_id / "run.log"
            if log.exists() and "progress-step: epoch 1 of 1" in log.read_text():
                return run_id
        return None

    return process, wait_for(started, 90, what="the step to wait")


def step_processes(run_id: str) -> list[int]:
    """Processes running the run's step (their command line names the step's module)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"kfp_step_main" in (entry / "cmdline").read_bytes():
                    if run_id.encode() in (entry / "environ").read_bytes():
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("own_group", [True, False], ids=["group-leader", "inside-another-program"])
def test_cancel_stops_a_running_local_run_and_its_steps(
    isolated_settings: Path, tmp_path: Path, own_group: bool
) -> None:
    process, run_id = start_waiting_run(tmp_path, own_group=own_group)
    try:
        steps = wait_for(lambda: step_processes(run_id), 30, what="the step process")
        answer = cli("runs", "cancel", run_id)
        assert answer.returncode == 0, answer.stderr
        assert f"run {run_id}: CANCELED" in answer.stdout
        assert process.wait(timeout=30) != 0  # the run's process was stopped, not left running
        assert wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in steps), 30, what="steps gone"
        )
    finally:
        if process.poll() is None:
            process.kill()
    run = load_run(runs_dir(), run_id)
    assert run.state == RunState.CANCELED and run.record["error"] == "Run canceled."
    assert run.record["step_states"] == {"progress-step": "CANCELED"} and run.record["finished_at"]
    again = cli("runs", "cancel", run_id)
    assert again.returncode == 1 and "already finished (CANCELED); there is nothing to cancel" in flat(
        again.stderr
    )


def test_cancel_never_signals_a_recycled_pid(isolated_settings: Path, tmp_path: Path) -> None:
    """A run whose process died and whose pid now belongs to another process: that process is left alone."""
    run_id, _ = echo_run(tmp_path)
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        record_path = runs_dir() / run_id / "run.json"
        record = json.loads(record_path.read_text())
        identity = process_identity() | {"pid": bystander.pid, "pgid": bystander.pid}
        identity["start_ticks"] -= 1  # the recorded process started at another time: not this one
        assert not same_process(identity)
        record |= {"state": "RUNNING", "process": identity}
        record_path.write_text(json.dumps(record))

        answer = cli("runs", "cancel", run_id)
        assert answer.returncode == 0, answer.stderr
        assert bystander.poll() is None  # still running: never signalled
        assert load_run(runs_dir(), run_id).state == RunState.CANCELED
    finally:
        bystander.kill()
        bystander.wait()


def test_cancel_refuses_runs_of_another_host_or_user(isolated_settings: Path, tmp_path: Path) -> None:
    run_id, _ = echo_run(tmp_path)
    record_path = runs_dir() / run_id / "run.json"
    record = json.loads(record_path.read_text())
    for change, expected in (
        ({"host": "elsewhere"}, "runs on host 'elsewhere', not here"),
        ({"uid": os.getuid() + 1}, "was started by another user"),
    ):
        record |= {"state": "RUNNING", "process": process_identity() | change}
        record_path.write_text(json.dumps(record))
        answer = cli("runs", "cancel", run_id)
        assert answer.returncode == 1 and expected in flat(answer.stderr)
        assert load_run(runs_dir(), run_id).state == RunState.RUNNING


# -- the API and a cluster --


def test_runs_of_the_api_are_listed_shown_canceled_and_retried(client: ApiClient, tmp_path: Path) -> None:
    api = ("--api", client.url, "--token", client.token())
    out = tmp_path / "echo.json"
    first = client.run("echo_pipeline", {"text": AWKWARD, "out_path": str(out)}).json()["response"]["run_id"]
    client.wait_final(first)

    listed = cli_json("runs", "list", *api)
    assert [(r["run_id"], r["pipeline"], r["state"]) for r in listed] == [
        (first, "echo_pipeline", "SUCCEEDED")
    ]
    shown = cli_json("runs", "show", first, *api)
    assert shown["arguments"]["text"] == AWKWARD and shown["steps"] == {"echo-step": "SUCCEEDED"}

    retried = cli_json("runs", "retry", first, *api)
    assert retried["retry_of"] == first and retried["run_id"] != first
    final = client.wait_final(retried["run_id"])["response"]
    assert final["arguments"] == shown["arguments"]

    running = client.run("sleep_pipeline", {"seconds": 120}).json()["response"]["run_id"]
    canceled = cli_json("runs", "cancel", running, *api)
    assert canceled["state"] == "CANCELED"
    again = cli("runs", "cancel", running, *api)
    assert again.returncode == 1 and "the API answered 409" in flat(again.stderr)
    missing = cli("runs", "show", "no-such-run", *api)
    assert missing.returncode == 1 and "the API answered 404: there is no run 'no-such-run'" in flat(
        missing.stderr
    )
    refused = cli("runs", "list", "--api", client.url, "--token", "wrong")
    assert refused.returncode == 1 and "the API answered 401" in flat(refused.stderr)


def test_runs_of_a_cluster_are_listed_shown_canceled_and_retried(kfp_server: FakeKfpServer) -> None:
    parameters = {"lang": "en", "call_quantity": 8, "template": AWKWARD}
    done = kfp_server.add_run(
        ("SUCCEEDED", {"fetch-calls": "SUCCEEDED"}), run_id="kfp-done", parameters=parameters
    )
    running = kfp_server.add_run(("RUNNING", {"fetch-calls": "RUNNING"}), run_id="kfp-running")

    listed = cli_json("runs", "list")
    assert {r["run_id"]: (r["pipeline"], r["state"]) for r in listed} == {
        done: ("fetch_calls_pipeline", "SUCCEEDED"),
        running: ("fetch_calls_pipeline", "RUNNING"),
    }
    shown = cli_json("runs", "show", done)
    assert shown["state"] == "SUCCEEDED" and shown["arguments"] == parameters

    canceled = cli_json("runs", "cancel", running)
    assert canceled["state"] in ("CANCELING", "CANCELED")
    assert len(kfp_server.calls("POST", rf"/apis/v2beta1/runs/{running}:terminate")) == 1

    retried = cli_json("runs", "retry", done)
    assert retried["retry_of"] == done and retried["pipeline"] == "fetch_calls_pipeline"
    (submitted,) = kfp_server.submitted_runs
    assert (
        json.dumps(submitted["runtime_config"]["parameters"], sort_keys=True).encode()
        == json.dumps(parameters, sort_keys=True).encode()
    )
    assert submitted["pipeline_spec"] == kfp_server.run(done).body["pipeline_spec"]  # not recompiled

    logs = cli("runs", "logs", done)
    assert logs.returncode == 1 and "kept by Kubernetes" in flat(logs.stderr)
    local = cli("runs", "list", "--local", "--json")
    assert local.returncode == 0 and json.loads(local.stdout) == []
