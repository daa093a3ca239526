"""The Slack bot end to end: signed events to a real API server, replies to the fake Slack Web API."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from skit_pipelines.api.settings import get_api_settings
from skit_pipelines.api.slack_grammar import CommandError, parse_command
from skit_pipelines.api.store import RunRecord, RunStore
from skit_pipelines.config import get_settings
from skit_pipelines.runner.base import RunState
from tests.api_helpers import (
    DAY,
    SIGNING_SECRET,
    ApiClient,
    ThreadedApi,
    mention_event,
    signed_slack_post,
    slack_signature,
    wait_for,
)
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.slack_server"]

pytestmark = pytest.mark.timeout(120)

THREAD = "1700000100.000200"


@pytest.fixture
def bot(
    slack_server: FakeSlackServer, api_env: None, isolated_settings: Path, settings_env: SettingsEnv
) -> Iterator[tuple[ThreadedApi, FakeSlackServer, ApiClient]]:
    settings_env(SKIT_SLACK_SIGNING_SECRET=SIGNING_SECRET)
    from skit_pipelines.api.endpoints import create_app
    from skit_pipelines.pipelines import PIPELINES
    from tests.api_pipelines import TEST_PIPELINES

    server = ThreadedApi(create_app(pipelines={**PIPELINES, **TEST_PIPELINES})).start()
    client = ApiClient(server.url)
    yield server, slack_server, client
    client.http.close()
    server.stop()


def replies(slack: FakeSlackServer, containing: str = "", count: int = 1) -> list[dict]:
    """chat.postMessage calls (waited for: the bot answers after acknowledging the event)."""

    def found() -> list[dict]:
        posts = [c.args for c in slack.calls("chat.postMessage") if containing in json.dumps(c.args)]
        return posts if len(posts) >= count else []

    return wait_for(found, 30, 0.05, f"{count} Slack message(s) containing {containing!r}")


def run_id_of(text: str) -> str:
    match = re.search(r"Run id: `([^`]+)`", text)
    assert match, text
    return match[1]


def test_run_with_a_json_block_completes_and_reports_in_the_thread(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient],
    warehouse: str,
) -> None:
    server, slack, client = bot
    text = (
        '<@U0BOT> run fetch-calls-pipeline\n```{\n  // sample a few calls\n  "lang": "en",\n'
        f'  "call_quantity": 3, "start_date": "{DAY["start_date"]}", "end_date": "{DAY["end_date"]}",'
        '\n  "timezone": "UTC",\n}\n```'
    )
    response = signed_slack_post(server.url, SIGNING_SECRET, mention_event(text, event_id="Ev1"))
    assert response.status_code == 200

    (reply,) = replies(slack, "Running")
    assert reply["channel"] == "C0CHAN" and reply["thread_ts"] == THREAD
    run_id = run_id_of(reply["text"])
    final = client.wait_final(run_id)
    result = final["response"]
    assert (
        result["state"] == "SUCCEEDED"
        and result["source"] == "slack"
        and result["created_by"] == "slack:U0USER"
    )
    # channel, slack_thread and notify were filled in; the auto-link was unwrapped.
    assert result["arguments"]["channel"] == "C0CHAN" and result["arguments"]["slack_thread"] == THREAD
    assert result["arguments"]["notify"] == "<@U0USER>"
    assert result["outputs"]["sampled_calls"] == 3

    # The pipeline's own notification and the completion message, both in the thread.
    client.wait_delivery(run_id, "slack")
    posts = replies(slack, count=3)
    assert all(p["thread_ts"] == THREAD for p in posts)
    assert any("sampled 3 of 20 matching calls" in json.dumps(p) for p in posts)
    (done,) = [p for p in posts if "Run completed successfully." in p["text"]]
    assert result["outputs"]["calls_uri"] in json.dumps(done["blocks"])


def test_b64_payload_from_a_reminder_runs(bot: tuple[ThreadedApi, FakeSlackServer, ApiClient]) -> None:
    server, slack, client = bot
    payload = base64.b64encode(json.dumps({"seconds": 0.1}).encode()).decode()
    text = f"<@U0BOT> run sleep_pipeline b64_{payload}."
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(text, event_id="Ev2"))
    (reply,) = replies(slack, "Running")
    run = client.status(run_id_of(reply["text"])).json()["response"]
    assert run["name"] == "sleep_pipeline" and run["arguments"] == {"seconds": 0.1}


def test_validation_errors_are_replied_before_any_run(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient],
) -> None:
    server, slack, client = bot
    text = '<@U0BOT> run fetch_calls_pipeline\n```{"lang": "en", "call_quantity": "lots", "colour": "red"}```'
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(text, event_id="Ev3"))
    (reply,) = replies(slack, "Please address")
    assert reply["thread_ts"] == THREAD
    assert (
        "call_quantity: expected an integer" in reply["text"] and "colour: unknown parameter" in reply["text"]
    )
    assert client.http.get("/skit/pipelines/runs", headers=client.auth()).json()["response"]["total"] == 0


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('run fetch_calls_pipeline ```{"lang": "en", "call_quantity": -5}```', "call_quantity: must be >= 0"),
        ('run fetch_calls_pipeline ```{"lang": "en", "random_seed": -7}```', "random_seed: must be >= 0"),
        (
            'run fetch_calls_pipeline ```{"lang": "en", "timezone": "IST"}```',
            "timezone: unknown timezone 'IST'",
        ),
        (
            'run tag_calls ```{"org_id": "1", "s3_path": "gs://b/c.csv", "job_ids": "4"}```',
            "s3_path: unsupported",
        ),
        ('run tag_calls ```{"org_id": "1", "s3_path": "calls.csv"}```', "labelstudio_project_id: no project"),
        ('run eer_from_tog ```{"job_id": "4", "start_date": "2026-02-30"}```', "start_date: cannot read"),
    ],
)
def test_every_pipeline_is_checked_before_a_run(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient], text: str, line: str
) -> None:
    server, slack, client = bot
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(f"<@U0BOT> {text}", event_id="Ev-check"))
    (reply,) = replies(slack, "Please address")
    assert line in reply["text"], reply["text"]
    store = RunStore.from_url(get_settings().effective_database_url)
    assert store.list_runs(get_api_settings().slack_namespace).total == 0


def test_create_recurring_makes_a_schedule_the_api_fires(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient],
) -> None:
    server, slack, _ = bot
    text = (
        "<@U0BOT> create_recurring fetch_calls_pipeline `0 3 * * 1` tz=Asia/Kolkata "
        '```{"lang": "hi", /* weekly */ "call_quantity": 50}```'
    )
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(text, event_id="Ev4"))
    (reply,) = replies(slack, "Scheduled")
    schedules = server.app.state.ctx.schedules
    (record,) = schedules.list(get_api_settings().slack_namespace)
    assert f"`{record.schedule_id}`" in reply["text"] and "`0 3 * * 1` (Asia/Kolkata)" in reply["text"]
    assert (record.cron, record.timezone, record.source) == ("0 3 * * 1", "Asia/Kolkata", "slack")
    assert record.payload["lang"] == "hi" and record.payload["call_quantity"] == 50

    # Without a cron: how to say when; a bad one: the field named, nothing stored.
    no_cron = "<@U0BOT> create_recurring fetch_calls_pipeline ```{}```"
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(no_cron, event_id="Ev4b"))
    (ask,) = replies(slack, "Say when")
    assert "five-field cron" in ask["text"]
    bad = '<@U0BOT> create_recurring fetch_calls_pipeline 0 3 * * ```{"lang": "hi"}```'
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(bad, event_id="Ev4c"))
    (refused,) = replies(slack, "Please address")
    assert "cron: '0 3 * *' has 4 fields" in refused["text"]
    assert len(schedules.list(get_api_settings().slack_namespace)) == 1


def test_create_recurring_without_a_schedule_store_answers_a_remind_command(isolated_settings: Path) -> None:
    from skit_pipelines.api.service import RunService
    from skit_pipelines.api.slack_bot import SlackBot
    from skit_pipelines.pipelines import PIPELINES

    store = RunStore.from_url(get_settings().effective_database_url, create=True)
    service = RunService(store, get_settings(), get_api_settings(), dict(PIPELINES))
    text = (
        '<@U0BOT> create_recurring fetch_calls_pipeline ```{"lang": "hi", /* daily */ "call_quantity": 50}```'
    )
    reply = SlackBot(service, get_api_settings()).reply(text, channel="C0CHAN", ts="1.2", bot_user_id="UBOT")
    store.dispose()
    match = re.search(r'/remind <#C0CHAN> "<@UBOT> run fetch_calls_pipeline b64_([A-Za-z0-9+/=]+)"', reply)
    assert match, reply
    assert json.loads(base64.b64decode(match[1])) == {"lang": "hi", "call_quantity": 50}


def test_help_status_and_unknown_pipeline(bot: tuple[ThreadedApi, FakeSlackServer, ApiClient]) -> None:
    server, slack, client = bot
    signed_slack_post(server.url, SIGNING_SECRET, mention_event("<@U0BOT> help", event_id="Ev5"))
    (help_reply,) = replies(slack, "How to talk to me")
    assert "`fetch_calls_pipeline`: Randomly sample calls" in help_reply["text"]

    store = server.app.state.ctx.service.store  # a finished run, written as a worker would
    store.insert_run(
        RunRecord(
            run_id="r-1",
            pipeline="sleep_pipeline",
            namespace="skit",
            backend="local",
            state=RunState.PENDING,
            run_url="http://x/r-1",
        )
    )
    store.finish_run(
        "r-1", RunState.SUCCEEDED, outputs={"Output": "/tmp/skit-test-artifact.csv"}, notify=False
    )
    signed_slack_post(server.url, SIGNING_SECRET, mention_event("<@U0BOT> status r-1", event_id="Ev6"))
    (status,) = replies(slack, "SUCCEEDED")
    assert "`r-1` (sleep_pipeline)" in status["text"] and "/tmp/skit-test-artifact.csv" in status["text"]
    signed_slack_post(server.url, SIGNING_SECRET, mention_event("<@U0BOT> status r-2", event_id="Ev6b"))
    (missing,) = replies(slack, "I know no run")
    assert "`r-2`" in missing["text"]

    signed_slack_post(server.url, SIGNING_SECRET, mention_event("<@U0BOT> run nope ```{}```", event_id="Ev7"))
    (unknown,) = replies(slack, "unknown pipeline")
    assert "fetch_calls_pipeline" in unknown["text"]


def test_signatures_are_verified_and_replays_refused(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient],
) -> None:
    server, slack, client = bot
    event = mention_event('<@U0BOT> run sleep_pipeline ```{"seconds": 0.1}```', event_id="Ev8")
    assert signed_slack_post(server.url, "wrong-secret", event).status_code == 401
    assert signed_slack_post(server.url, SIGNING_SECRET, event, age=6 * 60).status_code == 401  # > 5 minutes
    assert signed_slack_post(server.url, SIGNING_SECRET, event, signature="v0=deadbeef").status_code == 401
    # Slack re-sends an event it thinks we missed: one run, one reply.
    assert signed_slack_post(server.url, SIGNING_SECRET, event).status_code == 200
    assert signed_slack_post(server.url, SIGNING_SECRET, event).status_code == 200
    replies(slack, "Running")
    time.sleep(0.5)  # the repeat is handled after its acknowledgement: give it time to (not) act
    assert client.http.get("/skit/pipelines/runs", headers=client.auth()).json()["response"]["total"] == 1
    assert len([c for c in slack.calls("chat.postMessage") if "Running" in c.args.get("text", "")]) == 1
    # URL verification (Slack's set-up handshake) is answered too, when signed.
    challenge = signed_slack_post(
        server.url, SIGNING_SECRET, {"type": "url_verification", "challenge": "c-1"}
    )
    assert challenge.status_code == 200 and challenge.json()["challenge"] == "c-1"


def test_unsigned_or_unreadable_requests_get_the_envelope_and_log_no_traceback(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient], caplog: pytest.LogCaptureFixture
) -> None:
    server, slack, _ = bot
    url = server.url + "/slack/events"

    def signed(body: bytes, content_type: str = "application/json") -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_signature(SIGNING_SECRET, timestamp, body),
        }

    cases = [  # (body, headers, status, words in the message)
        (b"{}", {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=0"}, 401, "Timestamp"),
        (b"{}", {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=0"}, 401, "Timestamp"),
        (b"{}", {}, 401, "Timestamp"),
        (b"not json", {"X-Slack-Request-Timestamp": str(int(time.time()))}, 401, "Signature"),
        (b"{not json", signed(b"{not json"), 400, "not valid JSON"),
        (
            b"payload=%7Bbroken",
            signed(b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
            400,
            "JSON",
        ),
        (b"[1, 2]", signed(b"[1, 2]"), 400, "not a JSON object"),
        (b"\xff\xfe", signed(b"\xff\xfe"), 400, "not UTF-8"),
    ]
    with caplog.at_level(logging.INFO):
        for body, headers, status, words in cases:
            response = httpx.post(url, content=body, headers=headers, timeout=10)
            assert response.status_code == status, (body[:20], response.text)
            envelope = response.json()
            assert envelope["status"] == "error" and words in envelope["response"]["message"], envelope
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert slack.calls("chat.postMessage") == []


def test_bot_is_off_without_a_signing_secret(client: ApiClient) -> None:
    response = signed_slack_post(client.url, SIGNING_SECRET, mention_event("<@U0BOT> help", event_id="Ev9"))
    assert response.status_code == 404
    assert "SKIT_SLACK_SIGNING_SECRET" in response.json()["response"]["message"]


@pytest.mark.parametrize(
    ("text", "action", "pipeline", "payload"),
    [
        ('<@U1> run p\n```json\n{"a": 1, // c\n "b": "x &amp; y"}\n```', "run", "p", {"a": 1, "b": "x & y"}),
        (
            "<@U1> run p ```{\u201ca\u201d: \u201c<https://e.com/x|e.com/x>\u201d}```",
            "run",
            "p",
            {"a": "https://e.com/x"},
        ),
        (
            '<@U1> run p ```{"l": [1, 2], "d": {"k": "<#C1|gen>"}}```',
            "run",
            "p",
            {"l": "[1, 2]", "d": '{"k": "#C1"}'},
        ),
        ("<@U1>   run   p", "run", "p", {}),
        ("<@U1> RUN p b64_eyJhIjogMX0", "run", "p", {"a": 1}),
        ("<@U1> hello there", "help", "", {}),
        ("", "help", "", {}),
    ],
)
def test_grammar(text: str, action: str, pipeline: str, payload: dict) -> None:
    command = parse_command(text)
    assert (command.action, command.pipeline, command.payload) == (action, pipeline, payload)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("<@U1> run", "which pipeline"),
        ("<@U1> run p ```[1, 2]```", "JSON object"),
        ("<@U1> run p ```{nope```", "not valid JSON"),
        ('<@U1> run p ```{"a": 1}', "not closed"),
        ("<@U1> run p b64_%%%", "base64"),
        ("<@U1> run p extra words", "unexpected"),
        ("<@U1> status", "which run"),
    ],
)
def test_grammar_errors(text: str, words: str) -> None:
    with pytest.raises(CommandError, match=words):
        parse_command(text)


def test_a_location_outside_the_allowed_roots_is_refused_before_any_run(
    bot: tuple[ThreadedApi, FakeSlackServer, ApiClient],
) -> None:
    server, slack, client = bot
    text = '<@U0BOT> run eer_from_tog\n```{"dataset_path": "../../../../etc/passwd"}```'
    signed_slack_post(server.url, SIGNING_SECRET, mention_event(text, event_id="Ev9"))
    (reply,) = replies(slack, "Please address")
    assert "dataset_path: '../../../../etc/passwd' cannot be read" in reply["text"], reply["text"]
    assert "root:" not in reply["text"]
    assert client.http.get("/skit/pipelines/runs", headers=client.auth()).json()["response"]["total"] == 0
