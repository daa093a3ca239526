"""The chat-completions client against a loopback server speaking the protocol, through the real ``openai``
package: JSON mode and its fallback, retries (429 with retry-after, 5xx, timeouts), bounded concurrency,
per-item errors, token counts, and an API key that never shows."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest

from skit_pipelines.config import get_settings
from skit_pipelines.llm.client import (
    BatchUsage,
    ChatClient,
    JsonAnswerError,
    RetryPolicy,
    parse_json_object,
    retry_after_seconds,
)
from skit_pipelines.llm.endpoint import InvalidLLMEndpoint, LLMEndpoint
from tests.fakes.openai_server import FakeChatCompletionsServer

FAST = RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.05, retry_after_cap_s=5)
MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "owes $50.00"}]


def client_for(server: FakeChatCompletionsServer, **endpoint: Any) -> tuple[ChatClient, list[float]]:
    """A client of the fake server whose waits are recorded instead of slept."""
    slept: list[float] = []
    values = {"model": "judge-1", "base_url": server.v1_url, "concurrency": 2, "timeout_s": 5.0, **endpoint}
    return ChatClient(LLMEndpoint(**values), retry=FAST, sleep=slept.append), slept


def test_asks_for_json_at_temperature_zero_and_counts_tokens() -> None:
    with FakeChatCompletionsServer() as server:
        client, _ = client_for(server)
        result = client.complete_json(MESSAGES)
    assert result.ok and result.parsed == {"breach": True, "explanation": "read 11 characters"}
    sent = server.requests[0].body
    assert sent["temperature"] == 0
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["model"] == "judge-1" and sent["messages"] == MESSAGES
    assert (result.prompt_tokens, result.completion_tokens) == (5, len(result.content.split()))
    assert result.total_tokens == result.prompt_tokens + result.completion_tokens
    assert result.model == "judge-1" and result.attempts == 1 and result.json_mode


def test_a_server_that_reports_no_usage_costs_zero_tokens() -> None:
    with FakeChatCompletionsServer(usage=False) as server:
        client, _ = client_for(server)
        result = client.complete_json(MESSAGES)
    assert result.ok and (result.prompt_tokens, result.completion_tokens) == (0, 0)


def test_a_server_without_json_mode_is_asked_again_and_json_is_cut_from_the_text() -> None:
    def prose(body: dict[str, Any]) -> str:
        return 'Sure! Here is my verdict:\n```json\n{"breach": false}\n``` Hope that helps.'

    with FakeChatCompletionsServer(answer=prose, json_mode_supported=False) as server:
        client, _ = client_for(server)
        first = client.complete_json(MESSAGES)
        second = client.complete_json(MESSAGES)
    assert first.parsed == {"breach": False} and second.parsed == {"breach": False}
    assert not first.json_mode and not client.json_mode
    # rejected once, then asked without response_format; the second call does not try it again
    assert ["response_format" in r.body for r in server.requests] == [True, False, False]


def test_429_waits_what_retry_after_says() -> None:
    with FakeChatCompletionsServer() as server:
        server.fail_next(429, times=2, retry_after="2")
        client, slept = client_for(server)
        result = client.complete_json(MESSAGES)
    assert result.ok and result.attempts == 3
    assert slept == [2.0, 2.0]
    assert len(server.requests) == 3


def test_retry_after_is_capped() -> None:
    with FakeChatCompletionsServer() as server:
        server.fail_next(429, times=1, retry_after="3600")
        client, slept = client_for(server)
        assert client.complete_json(MESSAGES).ok
    assert slept == [FAST.retry_after_cap_s]


def test_5xx_backs_off_exponentially_then_succeeds() -> None:
    with FakeChatCompletionsServer() as server:
        server.fail_next(500, times=1)
        server.fail_next(503, times=1)
        client, slept = client_for(server)
        result = client.complete_json(MESSAGES)
    assert result.ok and result.attempts == 3
    assert slept == [0.01, 0.02]


def test_a_429_storm_is_an_item_error_not_an_exception() -> None:
    with FakeChatCompletionsServer() as server:
        server.fail_next(429, times=100, retry_after="0")
        client, _ = client_for(server)
        result = client.complete_json(MESSAGES)
    assert not result.ok and result.parsed is None
    assert result.error.startswith("rate_limited: HTTP 429")
    assert len(server.requests) == FAST.attempts


def test_a_slow_server_times_out_after_the_retries() -> None:
    with FakeChatCompletionsServer(delay_s=0.6) as server:
        client, slept = client_for(server, timeout_s=0.2)
        result = client.complete_json(MESSAGES)
    assert result.error.startswith("timeout:")
    assert len(slept) == FAST.attempts - 1


def test_an_unreachable_server_is_an_item_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ChatClient(
        LLMEndpoint(model="m", base_url=f"http://127.0.0.1:{port}/v1", timeout_s=2),
        retry=FAST,
        sleep=lambda s: None,
    )
    result = client.complete_json(MESSAGES)
    assert result.error.startswith("unreachable:")


def test_malformed_json_is_kept_as_a_parse_error_with_its_tokens() -> None:
    with FakeChatCompletionsServer(answer=lambda body: "breach: yes, clearly {not json") as server:
        client, _ = client_for(server)
        result = client.complete_json(MESSAGES)
    assert result.parsed is None and result.error.startswith("parse: no JSON object")
    assert result.content == "breach: yes, clearly {not json"
    assert result.total_tokens > 0


def test_a_wrong_key_fails_the_batch_without_showing_the_key(caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-very-secret-123"

    caplog.set_level(logging.DEBUG)
    with FakeChatCompletionsServer() as server:  # a server that echoes the wrong key, as OpenAI's 401 does
        server.fail_next(401, body={"error": {"message": f"Incorrect API key provided: {secret}"}})
        client, _ = client_for(server, api_key=secret, concurrency=1)
        results = client.complete_json_batch([MESSAGES] * 5)
    assert [r.error.split(":")[0] for r in results] == ["auth"] * 5
    assert len(server.requests) == 1  # the first 401 stops the rest of the batch
    assert server.requests[0].headers["authorization"] == f"Bearer {secret}"  # the key was really sent
    shown = " ".join(r.error for r in results) + caplog.text + repr(client) + repr(client.endpoint)
    assert secret not in shown and "***" in results[0].error


def test_the_server_checks_the_key_it_was_given() -> None:
    with FakeChatCompletionsServer(api_key="sk-right") as server:
        wrong, _ = client_for(server, api_key="sk-wrong")
        right, _ = client_for(server, api_key="sk-right")
        assert wrong.complete_json(MESSAGES).error.startswith("auth: HTTP 401")
        assert right.complete_json(MESSAGES).ok


def test_a_batch_keeps_order_and_bounds_the_requests_in_flight() -> None:
    def numbered(body: dict[str, Any]) -> str:
        return json.dumps({"n": int(body["messages"][-1]["content"])})

    with FakeChatCompletionsServer(answer=numbered, delay_s=0.15) as server:
        client, _ = client_for(server, concurrency=3)
        batch = [[{"role": "user", "content": str(i)}] for i in range(9)]
        results = client.complete_json_batch(batch)
    assert [r.parsed for r in results] == [{"n": i} for i in range(9)]
    assert server.max_in_flight == 3
    usage = BatchUsage.of(results)
    assert (usage.answered, usage.failed) == (9, 0)
    assert usage.total_tokens == sum(r.total_tokens for r in results) > 0


def test_batch_usage_counts_failures_by_kind() -> None:
    with FakeChatCompletionsServer(answer=lambda body: "nope") as server:
        server.fail_next(500, times=FAST.attempts)
        client, _ = client_for(server, concurrency=1)
        results = client.complete_json_batch([MESSAGES, MESSAGES])
    usage = BatchUsage.of(results)
    assert usage.failed == 2 and usage.errors == {"server": 1, "parse": 1}


def test_parse_json_object() -> None:
    assert parse_json_object('{"breach": true}') == {"breach": True}
    assert parse_json_object('The answer is {"breach": false, "why": "ok"} as shown') == {
        "breach": False,
        "why": "ok",
    }
    assert parse_json_object('```json\n{"a": 1}\n```') == {"a": 1}
    for bad in ("[1, 2]", "", "no braces", "{broken"):
        with pytest.raises(JsonAnswerError):
            parse_json_object(bad)


def test_retry_after_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_the_endpoint_comes_from_the_settings(settings_env: Any) -> None:
    assert not get_settings().llm().configured  # no LLM unless configured
    settings_env(
        SKIT_LLM_BASE_URL="http://127.0.0.1:9/v1",
        SKIT_LLM_API_KEY="sk-abc",
        SKIT_LLM_MODEL="gpt-x",
        SKIT_LLM_CONCURRENCY="7",
    )
    client = ChatClient.from_settings(get_settings())
    endpoint = client.endpoint
    assert endpoint.configured
    assert (endpoint.base_url, endpoint.model, endpoint.concurrency, endpoint.api_key) == (
        "http://127.0.0.1:9/v1",
        "gpt-x",
        7,
        "sk-abc",
    )
    assert "sk-abc" not in repr(client)
    assert "sk-abc" not in str(get_settings().describe())


def test_an_endpoint_that_cannot_work_is_refused() -> None:
    with pytest.raises(InvalidLLMEndpoint, match="concurrency"):
        LLMEndpoint(model="m", concurrency=0)
    with pytest.raises(InvalidLLMEndpoint, match="timeout"):
        LLMEndpoint(model="m", timeout_s=0)
