"""The LLM judge against a loopback chat-completions server through the real ``openai`` client: verdicts,
numbered lines and evidence turns, tokens, and every fault kept as that call's judge_error (429 with
retry-after, 500, 401, malformed JSON, slow server, no JSON mode); truncation; choosing a judge."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from skit_pipelines.compliance.judge import Judge
from skit_pipelines.compliance.judges import NO_LLM, select_judge
from skit_pipelines.compliance.llm_judge import LLMJudge, numbered_transcript
from skit_pipelines.compliance.rules_judge import RulesJudge
from skit_pipelines.compliance.transcripts import transcript_lines
from skit_pipelines.llm.client import ChatClient, RetryPolicy
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.llm.prompts import PromptTemplateError, packaged_prompt
from skit_pipelines.parameters import InvalidParameterError
from tests.fakes.openai_server import FakeChatCompletionsServer

FAST = RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.05, retry_after_cap_s=5)
SECRET = "sk-test-SECRET-0123456789"

BREACH = """<call>
BOT: Hello, am I speaking with <PERSON>?
USER: no this is his mother
BOT: Please tell him that the total amount due is $50.00.
</call>"""
FINE = """<call>
BOT: Hello, am I speaking with <PERSON>?
USER: yes speaking
BOT: Your balance is $120.00.
</call>"""


def rule_answer(body: dict[str, Any]) -> str:
    """A model that reads the numbered transcript: breach when the mother was told the amount (line 3)."""
    user = body["messages"][-1]["content"]
    breach = "mother" in user
    return json.dumps(
        {"is_breach": breach, "explanation": "mother told" if breach else "debtor", "evidence_turn": 3}
    )


def judge_for(server: FakeChatCompletionsServer, **endpoint: Any) -> tuple[LLMJudge, list[float]]:
    slept: list[float] = []
    values = {"model": "judge-1", "base_url": server.v1_url, "concurrency": 2, "timeout_s": 5.0, **endpoint}
    client = ChatClient(LLMEndpoint(**values), retry=FAST, sleep=slept.append)
    return LLMJudge(client, packaged_prompt("compliance_judge")), slept


def test_verdicts_point_at_numbered_lines_and_count_tokens() -> None:
    with FakeChatCompletionsServer(answer=rule_answer) as server:
        judge, _ = judge_for(server)
        breach, fine = judge.judge([BREACH, FINE])
    assert isinstance(judge, Judge)
    assert (breach.is_breach, breach.evidence_turn, breach.explanation) == (True, 3, "mother told")
    assert (fine.is_breach, fine.judge_error) == (False, "")
    assert breach.tokens > 0 and json.loads(breach.output)["is_breach"] is True
    assert (judge.name, judge.model, judge.prompt_version) == ("llm", "judge-1", "1")
    (sent,) = [r.body for r in server.requests if "mother" in r.user_text]  # concurrent: any order
    assert sent["temperature"] == 0 and sent["response_format"] == {"type": "json_object"}
    system, user = sent["messages"]
    assert "must not reveal private debt information" in system["content"]
    assert '"evidence_turn": 3' in system["content"] and "$50.00" in system["content"]
    assert (
        "1. BOT: Hello, am I speaking with <PERSON>?\n2. USER: no this is his mother\n3. BOT:"
        in (user["content"])
    )


def test_the_reference_breach_key_and_odd_evidence_turns_are_read() -> None:
    answers = iter(
        [
            '{"breach": "true", "explanation": "x", "evidence_turn": "2"}',
            '{"breach": false, "evidence_turn": 99}',
        ]
    )
    with FakeChatCompletionsServer(answer=lambda body: next(answers)) as server:
        judge, _ = judge_for(server, concurrency=1)
        first, second = judge.judge([BREACH, FINE])
    assert (first.is_breach, first.evidence_turn) == (True, 2)
    assert (second.is_breach, second.evidence_turn) == (False, None)  # no line 99


def test_malformed_answers_are_judge_errors_with_the_raw_text_kept() -> None:
    answers = iter(["I think this is a breach.", '{"is_breach": "maybe"}'])
    with FakeChatCompletionsServer(answer=lambda body: next(answers)) as server:
        judge, _ = judge_for(server, concurrency=1)
        prose, maybe = judge.judge([BREACH, FINE])
    assert prose.is_breach is None and prose.judge_error.startswith("parse: no JSON object")
    assert prose.output == "I think this is a breach." and prose.tokens > 0
    assert maybe.is_breach is None and "no true/false is_breach (got 'maybe')" in maybe.judge_error


def test_429_with_retry_after_then_an_answer() -> None:
    with FakeChatCompletionsServer(answer=rule_answer) as server:
        server.fail_next(429, times=2, retry_after="3")
        judge, slept = judge_for(server, concurrency=1)
        (verdict,) = judge.judge([BREACH])
    assert verdict.is_breach is True and slept == [3.0, 3.0]


def test_a_429_storm_and_500s_are_per_call_errors_not_dropped_calls() -> None:
    with FakeChatCompletionsServer(answer=rule_answer) as server:
        server.fail_next(429, times=3, retry_after="0")
        server.fail_next(500, times=3)
        judge, _ = judge_for(server, concurrency=1)
        limited, failed, answered = judge.judge([BREACH, FINE, BREACH])
    assert limited.is_breach is None and limited.judge_error.startswith("rate_limited: HTTP 429")
    assert failed.is_breach is None and failed.judge_error.startswith("server: HTTP 500")
    assert answered.is_breach is True


def test_a_wrong_key_fails_every_call_and_never_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeChatCompletionsServer(answer=rule_answer, api_key="the-right-key") as server:
        judge, _ = judge_for(server, api_key=SECRET, concurrency=1)
        verdicts = judge.judge([BREACH, FINE, BREACH])
    assert [v.judge_error.split(":")[0] for v in verdicts] == ["auth", "auth", "auth"]
    assert len(server.requests) == 1  # the rest were not sent: they would fail the same way
    assert SECRET not in repr(judge) and SECRET not in caplog.text
    assert all(SECRET not in v.judge_error for v in verdicts)


def test_a_slow_server_is_a_timeout_error() -> None:
    with FakeChatCompletionsServer(answer=rule_answer, delay_s=1.5) as server:
        judge, _ = judge_for(server, timeout_s=0.3)
        (verdict,) = judge.judge([BREACH])
    assert verdict.is_breach is None and verdict.judge_error.startswith("timeout:")


def test_a_server_without_json_mode_is_asked_again() -> None:
    def prose(body: dict[str, Any]) -> str:
        verdict = {"is_breach": True, "explanation": "told the mother", "evidence_turn": 3}
        return f"Verdict:\n```json\n{json.dumps(verdict)}\n```"

    with FakeChatCompletionsServer(answer=prose, json_mode_supported=False) as server:
        judge, _ = judge_for(server, concurrency=1)
        first, second = judge.judge([BREACH, FINE])
    assert first.is_breach is True and second.is_breach is True
    assert ["response_format" in r.body for r in server.requests] == [True, False, False]


def test_an_unreachable_server_is_a_per_call_error() -> None:
    from tests.conftest import free_port

    client = ChatClient(
        LLMEndpoint(model="m", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout_s=1.0),
        retry=FAST,
        sleep=lambda _: None,
    )
    (verdict,) = LLMJudge(client, packaged_prompt("compliance_judge")).judge([BREACH])
    assert verdict.judge_error.startswith("unreachable:")


def test_a_long_transcript_is_truncated_with_a_note() -> None:
    lines = "\n".join(f"BOT: line {i} " + "x" * 300 for i in range(200))
    transcript = f"<call>\n{lines}\n</call>"
    text, sent = numbered_transcript(transcript_lines(transcript), max_chars=3000)
    assert 5 < sent < 200 and len(text) < 3300
    assert f"[transcript truncated: the last {200 - sent} of 200 lines are not shown" in text
    with FakeChatCompletionsServer(answer=rule_answer) as server:
        judge, _ = judge_for(server)
        judge.max_chars = 3000
        (verdict,) = judge.judge([transcript])
    assert verdict.is_breach is False and verdict.evidence_turn == 3
    assert verdict.explanation.endswith(f"(judged on the first {sent} of 200 lines: transcript truncated)")
    assert "transcript truncated" in server.requests[0].user_text


def test_an_empty_transcript_is_an_error_without_a_request() -> None:
    with FakeChatCompletionsServer(answer=rule_answer) as server:
        judge, _ = judge_for(server)
        (verdict,) = judge.judge(["<call>\n</call>"])
    assert verdict.judge_error and not server.requests


# ---------------------------------------------------------------------------------------------- select_judge


def test_auto_is_the_llm_when_configured_else_rules() -> None:
    configured = LLMEndpoint(model="m", base_url="http://127.0.0.1:9/v1")
    judge = select_judge("auto", configured)
    assert isinstance(judge, LLMJudge) and judge.model == "m"
    judge.close()
    assert isinstance(select_judge("auto", None), RulesJudge)
    assert isinstance(select_judge("", LLMEndpoint(model="")), RulesJudge)
    assert isinstance(select_judge("rules", configured), RulesJudge)


def test_llm_without_an_llm_and_unknown_kinds_are_clear_errors() -> None:
    with pytest.raises(InvalidParameterError) as info:
        select_judge("llm", LLMEndpoint(model=""))
    assert info.value.parameter == "judge" and str(info.value) == NO_LLM
    with pytest.raises(InvalidParameterError, match="judge: 'gpt4' is not one of auto, llm, rules"):
        select_judge("gpt4", None)
    with pytest.raises(InvalidParameterError, match="prompt_file: a prompt is for the llm judge"):
        select_judge("rules", None, "prompt.yaml")


def test_a_prompt_file_replaces_the_packaged_prompt(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        'name: compliance_judge\nversion: "7"\nsystem: Judge it ($$ amounts).\nuser: $transcript\n'
    )
    with FakeChatCompletionsServer(answer=rule_answer) as server:
        endpoint = LLMEndpoint(model="m", base_url=server.v1_url)
        judge = select_judge("llm", endpoint, str(path))
        judge.judge([BREACH])
        judge.close()
    assert judge.prompt_version.startswith("7+") and len(judge.prompt_version) == 10
    assert server.requests[0].body["messages"][0]["content"] == "Judge it ($ amounts)."
    path.write_text('name: compliance_judge\nversion: "7"\nuser: "no placeholder"\n')
    with pytest.raises(PromptTemplateError, match=r"has no \$transcript placeholder"):
        select_judge("llm", endpoint, str(path))
    path.write_text(
        'name: compliance_judge\nversion: "7"\nsystem: "Amounts like $50 matter."\nuser: $transcript\n'
    )
    with pytest.raises(PromptTemplateError, match=r"write \$\$ for a literal dollar sign"):
        select_judge("llm", endpoint, str(path))
