"""Parameter values reach the steps byte for byte, through every face, and stay off the command line.

kfp's local runner used to rewrite ``python3`` inside values, resolve ``{{$...}}`` placeholders in them,
paste them into ``eval``-ed conditions, and put every value on the step's command line (``ps``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines.runner.kfp_values import protect, reveal
from skit_pipelines.runner.local import LocalRunner
from tests.api_helpers import SIGNING_SECRET, mention_event, signed_slack_post, wait_for
from tests.api_pipelines import echo_pipeline
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from tests.api_helpers import ApiClient, ThreadedApi
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.slack_server"]
pytestmark = pytest.mark.timeout(180)

VALUES = [
    "python3",
    "/home/me/.venv/lib/python3.11/site-packages/model",
    "{{$.inputs}}",
    "{{$}} and {{$.pipeline_job_name}}",
    "$(echo hi) `id`",
    'it\'s "quoted"',
    "line one\nline two",
    "नमस्ते ✓",
    "/kfp-workspace/x",
    "back\\slash",
]
ALL_IN_ONE = " | ".join(VALUES)


def received(out: Path) -> dict:
    """What the echo step wrote ({} while it is still writing)."""
    try:
        return json.loads(out.read_text(encoding="utf-8"))
    except ValueError:
        return {}


@pytest.mark.parametrize("value", VALUES)
def test_local_runner_hands_values_to_the_step_unchanged(value: str, tmp_path: Path) -> None:
    out = tmp_path / "received.json"
    result = LocalRunner(tmp_path / "runs").run_pipeline(
        echo_pipeline, "echo_pipeline", {"text": value, "out_path": str(out)}
    )
    assert result.succeeded, result.error
    assert received(out)["text"] == value
    assert result.outputs == {"Output": value}


def test_tokens_hide_values_in_lists_and_dicts_and_come_back_inside_longer_strings() -> None:
    original = {"a": ["python3", "plain", 3], "b": "it's", "c": ""}
    tokens: dict[str, str] = {}
    protected = protect(original, tokens)
    assert "python3" not in json.dumps(protected) and "'" not in json.dumps(protected)
    assert protected["a"][1:] == ["plain", 3] and protected["c"] == ""  # untouched values stay readable
    assert reveal(protected, tokens) == original
    assert reveal(f"prefix-{protected['b']}-suffix", tokens) == "prefix-it's-suffix"  # kfp f-strings


def test_values_are_not_on_the_step_command_line(tmp_path: Path) -> None:
    out = tmp_path / "received.json"
    secret = "not-for-ps-0c1d2e"
    result = LocalRunner(tmp_path / "runs").run_pipeline(
        echo_pipeline, "echo_pipeline", {"text": secret, "out_path": str(out)}
    )
    assert result.succeeded, result.error
    got = received(out)
    assert got["text"] == secret
    assert not any(secret in arg for arg in got["cmdline"]), got["cmdline"]
    assert not any("executor_input" in arg for arg in got["cmdline"])
    assert oct(Path(result.run_dir).stat().st_mode & 0o777) == "0o700"


def test_cli_values_reach_the_slack_step_unchanged(
    warehouse: str, slack_server: FakeSlackServer, tmp_path: Path
) -> None:
    """`run` from a shell: the `channel` value goes through kfp to the Slack step and on to Slack."""
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps({"channel": ALL_IN_ONE}), encoding="utf-8")
    day = ["-p", "start_date=2026-03-10", "-p", "end_date=2026-03-10", "-p", "timezone=UTC"]
    completed = subprocess.run(
        [sys.executable, "-m", "skit_pipelines.cli", "run", "fetch_calls_pipeline", "-p", "lang=en"]
        + ["-p", "notify=U1,O'Brien", "--params-file", str(params_file), *day],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=150,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (post,) = slack_server.calls("chat.postMessage")
    assert post.args["channel"] == ALL_IN_ONE  # and the quote in `notify` kept its condition true
    assert "<@O'Brien>" in post.args["text"]


def test_api_values_reach_the_step_unchanged(client: ApiClient, tmp_path: Path) -> None:
    out = tmp_path / "received.json"
    response = client.run("echo_pipeline", {"text": ALL_IN_ONE, "out_path": str(out)})
    assert response.status_code == 200, response.text
    final = client.wait_final(response.json()["response"]["run_id"])
    assert final["response"]["state"] == "SUCCEEDED", final
    assert received(out)["text"] == ALL_IN_ONE


def test_slack_values_reach_the_step_unchanged(
    slack_server: FakeSlackServer,
    api_env: None,
    settings_env: SettingsEnv,
    tmp_path: Path,
) -> None:
    from skit_pipelines.api.endpoints import create_app
    from skit_pipelines.pipelines import PIPELINES
    from tests.api_helpers import ThreadedApi
    from tests.api_pipelines import TEST_PIPELINES

    settings_env(SKIT_SLACK_SIGNING_SECRET=SIGNING_SECRET)
    server: ThreadedApi = ThreadedApi(create_app(pipelines={**PIPELINES, **TEST_PIPELINES})).start()
    try:
        out = tmp_path / "received.json"
        payload = base64.b64encode(json.dumps({"text": ALL_IN_ONE, "out_path": str(out)}).encode()).decode()
        response = signed_slack_post(
            server.url,
            SIGNING_SECRET,
            mention_event(f"<@U0BOT> run echo_pipeline b64_{payload}", event_id="Ev9"),
        )
        assert response.status_code == 200
        wait_for(lambda: out.exists() and received(out), 90, 0.1, "the echo step to write what it received")
        assert received(out)["text"] == ALL_IN_ONE
    finally:
        server.stop()
