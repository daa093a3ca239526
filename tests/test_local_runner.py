"""Real pipelines on kfp's local runner: step events, outputs, run folders, failures with the step's error."""

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines.config import get_settings
from skit_pipelines.pipelines import get_pipeline
from skit_pipelines.pipelines.parameters import InvalidArgumentsError
from skit_pipelines.runner.base import RunState, StepEvent, get_runner
from skit_pipelines.runner.local import LocalRunner, pipeline_steps
from tests.conftest import SettingsEnv
from tests.warehouse_factory import build_settings_warehouse

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]

DAY = {"start_date": "2026-03-10", "end_date": "2026-03-10", "timezone": "UTC"}


@pytest.fixture
def warehouse(isolated_settings: Path) -> str:
    return build_settings_warehouse(20)


def test_fetch_calls_pipeline_runs_locally(warehouse: str, isolated_settings: Path) -> None:
    events: list[StepEvent] = []
    runner = get_runner()
    assert isinstance(runner, LocalRunner)
    result = runner.run(
        "fetch-calls-pipeline", {"lang": "en", "call_quantity": "8", **DAY}, on_event=events.append
    )

    assert result.state == RunState.SUCCEEDED, result.error
    assert result.outputs["sampled_calls"] == 8 and result.outputs["matching_calls"] == 20
    with open(result.outputs["calls_uri"], newline="") as handle:
        assert len({row["call_uuid"] for row in csv.DictReader(handle)}) == 8
    assert [(e.step, e.state) for e in events] == [
        ("fetch-calls", RunState.RUNNING),
        ("fetch-calls", RunState.SUCCEEDED),
        ("slack-notification", RunState.RUNNING),
        ("slack-notification", RunState.SKIPPED),  # neither notify nor channel: the step says it skipped
    ]
    assert result.step_messages["slack-notification"] == "skipped: no notify or channel given"
    assert "sampled 8 of 20 matching calls" in result.step_messages["fetch-calls"]
    run_dir = Path(result.run_dir)
    assert run_dir.parent == (isolated_settings / "runs").resolve()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["state"] == "SUCCEEDED" and record["arguments"]["call_quantity"] == 8
    log = (run_dir / "run.log").read_text()
    assert "fetch-calls" in log and "\x1b[" not in log  # kfp's terminal colours stay out of the log
    assert not list(run_dir.glob("*.tmp"))


def test_failing_step_reports_its_error(warehouse: str) -> None:
    events: list[StepEvent] = []
    result = LocalRunner.from_settings(get_settings()).run(
        "fetch_calls_pipeline", {"lang": "en", "start_date": "2026-02-30"}, on_event=events.append
    )
    assert result.state == RunState.FAILED
    assert result.failed_step == "fetch-calls"
    # the step's own check (the last line of defence: the local runner does not run the pipeline's checks)
    assert "InvalidArgumentsError" in result.error and "start_date: cannot read '2026-02-30'" in result.error
    assert ("fetch-calls", RunState.FAILED) in [(e.step, e.state) for e in events]
    record = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert record["state"] == "FAILED" and record["failed_step"] == "fetch-calls"


def test_the_step_checks_its_own_arguments(warehouse: str) -> None:
    """The last line of defence, for runs that skip the CLI/API checks (here: the runner called directly)."""
    result = LocalRunner.from_settings(get_settings()).run(
        "fetch_calls_pipeline", {"lang": "en", "client_id": "x" * 70_000}
    )
    assert result.state == RunState.FAILED and result.failed_step == "fetch-calls"
    assert "client_id: 70000 bytes long (at most 65536 bytes of UTF-8 text)" in result.error


def test_invalid_arguments_create_no_run(isolated_settings: Path) -> None:
    runner = LocalRunner.from_settings(get_settings())
    with pytest.raises(InvalidArgumentsError) as info:
        runner.run("fetch_calls_pipeline", {"call_quantity": "lots", "colour": "red"})
    assert set(info.value.errors) == {"call_quantity", "colour", "lang"}
    assert not (isolated_settings / "runs").exists()


def test_steps_are_listed_up_front() -> None:
    assert pipeline_steps(get_pipeline("fetch_calls_pipeline")) == ["fetch-calls", "slack-notification"]


def test_notify_posts_the_result_to_slack(warehouse: str, slack_server: "FakeSlackServer") -> None:
    events: list[StepEvent] = []
    result = get_runner().run(
        "fetch_calls_pipeline",
        {
            "lang": "en",
            "call_quantity": 4,
            "notify": "U123,U456",
            "channel": "#ml",
            "slack_thread": "17.5",
            **DAY,
        },
        on_event=events.append,
    )
    assert result.succeeded, result.error
    assert ("slack-notification", RunState.SUCCEEDED) in [(e.step, e.state) for e in events]
    (post,) = slack_server.calls("chat.postMessage")
    args = post.args
    assert args["channel"] == "#ml" and args["thread_ts"] == "17.5"
    text = json.dumps(args["blocks"])
    assert "sampled 4 of 20 matching calls" in text
    assert result.outputs["calls_uri"] in text  # the download command names the artifact
    assert "<@U123> <@U456>" in args["text"]


def test_channel_alone_notifies_without_cc(warehouse: str, slack_server: "FakeSlackServer") -> None:
    result = get_runner().run("fetch_calls_pipeline", {"lang": "en", "channel": "#ml", **DAY})
    assert result.succeeded, result.error
    (post,) = slack_server.calls("chat.postMessage")
    assert post.args["channel"] == "#ml" and "cc:" not in post.args["text"]
    message = result.step_messages["slack-notification"]
    assert message.startswith("sent to ") and slack_server.CHANNEL in message  # the id Slack answered with


def test_a_notification_without_token_shows_as_skipped_not_done(warehouse: str) -> None:
    events: list[StepEvent] = []
    result = get_runner().run(
        "fetch_calls_pipeline", {"lang": "en", "notify": "U1", **DAY}, on_event=events.append
    )
    assert result.succeeded, result.error
    assert events[-1] == StepEvent(
        "slack-notification", RunState.SKIPPED, "no SKIT_SLACK_TOKEN (written to the log)"
    )


def test_an_unreachable_slack_shows_as_failed_but_the_run_succeeds(
    warehouse: str, settings_env: SettingsEnv
) -> None:
    from tests.conftest import free_port

    settings_env(SKIT_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/", SKIT_SLACK_TOKEN="xoxb-anything")
    events: list[StepEvent] = []
    result = get_runner().run(
        "fetch_calls_pipeline",
        {"lang": "en", "notify": "U1", "channel": "#ml", **DAY},
        on_event=events.append,
    )
    assert result.succeeded and result.failed_step == "", result.error
    last = events[-1]
    assert (last.step, last.state) == ("slack-notification", RunState.FAILED)
    assert last.detail.startswith("cannot reach Slack at http://127.0.0.1:")
    assert result.step_messages["slack-notification"].startswith("failed: cannot reach Slack")
