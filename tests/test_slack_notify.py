"""send_notification against a real HTTP server speaking the Slack Web API (tests/fakes/slack_server.py)."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

import pytest

from skit_pipelines.config import get_settings
from skit_pipelines.notify import slack
from skit_pipelines.notify.slack import NotificationResult, build_blocks, format_cc, send_notification
from tests.conftest import SettingsEnv, free_port

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]


def test_message_code_block_cc_and_thread_arrive(slack_server: FakeSlackServer) -> None:
    result = send_notification(
        "Fetched *200* calls",
        code_block="aws s3 cp s3://bucket/key .",
        channel="#ops",
        cc="U111, @jdoe,<@U222>",
        thread_id="1699999999.000200",
        settings=get_settings(),
    )

    assert result == NotificationResult(sent=True, channel=slack_server.CHANNEL, ts=slack_server.TS)
    (req,) = slack_server.calls("chat.postMessage")
    assert req.path == "/api/chat.postMessage"
    assert req.authorization == f"Bearer {slack_server.token}"
    body = req.json
    assert body["channel"] == "#ops"
    assert body["thread_ts"] == "1699999999.000200"
    assert body["text"] == "Fetched *200* calls\ncc: <@U111> <@jdoe> <@U222>"
    assert body["link_names"] in (True, 1)
    assert body["blocks"] == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Fetched *200* calls\ncc: <@U111> <@jdoe> <@U222>"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "```\naws s3 cp s3://bucket/key .\n```"}},
    ]
    assert slack_server.calls("files.getUploadURLExternal") == []


def test_default_channel_no_thread_no_code(slack_server: FakeSlackServer, settings_env: SettingsEnv) -> None:
    settings_env(SKIT_SLACK_DEFAULT_CHANNEL="#skit-alerts")

    result = send_notification("done", settings=get_settings())

    assert result.sent and result.error == ""
    (req,) = slack_server.calls("chat.postMessage")
    assert req.json["channel"] == "#skit-alerts"
    assert "thread_ts" not in req.json  # slack_sdk drops None values
    assert req.json["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]


def test_base_url_without_trailing_slash(slack_server: FakeSlackServer, settings_env: SettingsEnv) -> None:
    settings_env(SKIT_SLACK_API_URL=slack_server.url.rstrip("/"))

    assert send_notification("hi", channel="C999", settings=get_settings()).sent
    assert slack_server.calls("chat.postMessage")[0].path == "/api/chat.postMessage"


def test_no_token_logs_and_sends_nothing(
    slack_server: FakeSlackServer, caplog: pytest.LogCaptureFixture, settings_env: SettingsEnv
) -> None:
    settings_env(SKIT_SLACK_TOKEN=None)

    with caplog.at_level(logging.INFO, logger="skit_pipelines.notify.slack"):
        result = send_notification(
            "run finished", code_block="aws s3 cp x .", channel="x", cc="U1", settings=get_settings()
        )

    assert slack_server.requests == []

    assert result.sent is False
    assert result.channel == "x"
    assert "SKIT_SLACK_TOKEN" in result.error
    record = next(r for r in caplog.records if "would have posted" in r.getMessage())
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert text.startswith(
        "Slack not configured (SKIT_SLACK_TOKEN empty); would have posted to #x: run finished"
    )
    assert "cc: <@U1>" in text and "aws s3 cp x ." in text


def test_no_channel_anywhere(slack_server: FakeSlackServer) -> None:
    result = send_notification("hello", settings=get_settings())

    assert result.sent is False
    assert "SKIT_SLACK_DEFAULT_CHANNEL" in result.error
    assert slack_server.requests == []


def test_invalid_auth_is_returned_not_raised(
    slack_server: FakeSlackServer, settings_env: SettingsEnv
) -> None:
    settings_env(SKIT_SLACK_TOKEN="xoxb-revoked")

    result = send_notification(
        "hello", channel="#ops", file_content="data", file_title="t", settings=get_settings()
    )

    assert result.sent is False
    assert "invalid_auth" in result.error
    assert len(slack_server.calls("chat.postMessage")) == 1
    assert slack_server.calls("chat.postMessage")[0].authorization == "Bearer xoxb-revoked"
    assert slack_server.calls("files.getUploadURLExternal") == []  # nothing more after a failed post


def test_channel_not_found(slack_server: FakeSlackServer) -> None:
    slack_server.respond("chat.postMessage", {"ok": False, "error": "channel_not_found"})

    result = send_notification("hello", channel="#nope", settings=get_settings())

    assert result == NotificationResult(
        sent=False, channel="#nope", error="Slack API error: channel_not_found"
    )


def test_server_down_returns_error_quickly(settings_env: SettingsEnv) -> None:
    settings_env(SKIT_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/", SKIT_SLACK_TOKEN="xoxb-anything")

    started = time.monotonic()
    result = send_notification("hello", channel="#ops", settings=get_settings())

    assert time.monotonic() - started < 3
    assert result.sent is False
    assert "cannot reach Slack" in result.error


def test_rate_limit_is_retried_with_retry_after(slack_server: FakeSlackServer) -> None:
    slack_server.respond(
        "chat.postMessage",
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": "0"},
        times=1,
    )

    result = send_notification("hello", channel="#ops", settings=get_settings())

    assert result.sent, result.error
    assert len(slack_server.calls("chat.postMessage")) == 2


def test_server_error_after_retries_is_returned(slack_server: FakeSlackServer) -> None:
    slack_server.respond("chat.postMessage", {"ok": False, "error": "internal_error"}, status=503)

    result = send_notification("hello", channel="#ops", settings=get_settings())

    assert result.sent is False
    assert "internal_error" in result.error and "503" in result.error
    assert len(slack_server.calls("chat.postMessage")) == 1 + slack.SERVER_ERROR_RETRIES


def test_file_upload(slack_server: FakeSlackServer) -> None:
    content = "intent,precision\n_confirm_,0.97\n"

    result = send_notification(
        "report ready",
        channel="#ops",
        thread_id="1699999999.000200",
        file_title="IRR report",
        file_content=content,
        settings=get_settings(),
    )

    assert result.sent and result.error == ""
    (get_url,) = slack_server.calls("files.getUploadURLExternal")
    assert get_url.form["filename"] == "IRR_report.txt"
    assert int(get_url.form["length"]) == len(content.encode())
    (upload,) = slack_server.calls("upload")
    assert upload.body == content.encode()
    (complete,) = slack_server.calls("files.completeUploadExternal")
    assert complete.form["channel_id"] == slack_server.CHANNEL
    assert complete.form["thread_ts"] == "1699999999.000200"
    assert json.loads(complete.form["files"])[0]["title"] == "IRR report"
    assert complete.authorization == f"Bearer {slack_server.token}"
    assert list(slack_server.uploads.values()) == [content.encode()]


def test_file_upload_failure_keeps_message_sent(slack_server: FakeSlackServer) -> None:
    slack_server.respond("files.completeUploadExternal", {"ok": False, "error": "not_in_channel"})

    result = send_notification("report ready", channel="#ops", file_content="x", settings=get_settings())

    assert result.sent is True
    assert "file upload failed" in result.error and "not_in_channel" in result.error


def test_long_message_is_split_within_section_limit(slack_server: FakeSlackServer) -> None:
    lines = [f"line {i:05d} " + "x" * 80 for i in range(100)]  # ~9k characters
    message = "\n".join(lines)

    assert send_notification(message, code_block="y" * 7000, channel="#ops", settings=get_settings()).sent

    (req,) = slack_server.calls("chat.postMessage")
    texts = [b["text"]["text"] for b in req.json["blocks"]]
    assert all(len(t) <= slack.SECTION_TEXT_LIMIT for t in texts)
    message_sections = [t for t in texts if not t.startswith("```")]
    assert "\n".join(message_sections) == message  # split on line breaks, nothing lost
    code_sections = [t for t in texts if t.startswith("```")]
    assert "".join(t.removeprefix("```\n").removesuffix("\n```") for t in code_sections) == "y" * 7000
    assert len(req.json["text"]) <= slack.FALLBACK_TEXT_LIMIT


def test_huge_message_is_truncated_with_a_note() -> None:
    blocks, truncated = build_blocks("z" * 100_000)

    assert truncated
    assert len(blocks) == slack.MAX_SECTIONS_PER_PART
    assert all(len(b["text"]["text"]) <= slack.SECTION_TEXT_LIMIT for b in blocks)
    last = blocks[-1]["text"]["text"]
    shown = sum(len(b["text"]["text"]) for b in blocks[:-1]) + last.index("\n…")
    assert last.endswith(f"({100_000 - shown} more characters not shown)")


def test_format_cc() -> None:
    assert format_cc("") == ""
    assert format_cc(" , ") == ""
    assert format_cc("U1,<@U2>, @bob ") == "\ncc: <@U1> <@U2> <@bob>"


def test_code_fence_inside_code_block_is_defused() -> None:
    blocks, _ = build_blocks("m", "a```b")
    assert blocks[1]["text"]["text"] == "```\na``\u200b`b\n```"
