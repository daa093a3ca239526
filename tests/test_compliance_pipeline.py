"""publish_compliance_breaches: the audit job on a warehouse of debt-collection calls (breach and no-breach
cases known by construction), its outcomes (empty sample, partial and total judge failure), PII and secrets
kept out of outputs and logs, and the pipeline end to end on kfp's local runner with both judges, rows
checked in SQLite and PostgreSQL, re-runs idempotent, and Slack as a fake server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from skit_pipelines import storage
from skit_pipelines.compliance.rules_judge import judge_transcript
from skit_pipelines.config import get_settings
from skit_pipelines.jobs.compliance import (
    CSV_COLUMNS,
    ComplianceJudgeFailed,
    audit_compliance,
    compliance_request_from,
)
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.runner.base import RunState, get_runner
from skit_pipelines.stores.compliance import read_breaches
from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.fetch import fetch_calls
from skit_pipelines.warehouse.filters import build_call_filters
from tests.fakes.openai_server import FakeChatCompletionsServer
from tests.warehouse_factory import call_row

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]

SECRET = "sk-test-SECRET-compliance-42"
DAY = {"start_date": "2026-03-10", "end_date": "2026-03-10", "timezone": "UTC"}

# Debt-collection calls: (bot, user) turns, and whether the call is a breach.
CALLS: dict[int, tuple[list[tuple[str, str]], bool]] = {
    1: (  # the amount told to a third party
        [
            ("<speak>Hello, am I speaking with John Smith?</speak>", "no this is his mother"),
            ("Please tell him that the total amount due is $50.00.", "okay I will"),
        ],
        True,
    ),
    2: (  # the amount told before verification
        [("Hi, this is Acme Collections calling. You owe $1,250.00 on your account.", "who is this")],
        True,
    ),
    3: (  # the verified debtor told the amount
        [
            ("Hello, am I speaking with Maria Garcia?", "yes speaking"),
            ("Your balance is $80.00. Can we reach you at another number?", "yes call me at 415-555-0132"),
        ],
        False,
    ),
    4: (  # a third party told nothing
        [
            ("Hello, may I speak with Robert Brown?", "wrong number"),
            ("Sorry for the trouble. Goodbye.", ""),
        ],
        False,
    ),
}
PII = ("John Smith", "Maria Garcia", "Robert Brown", "415-555-0132")


def build_debt_warehouse(url: str) -> None:
    engine = schema.create_engine(url)
    schema.create_schema(engine)
    base = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
    calls, turns = [], []
    for call_id, (script, _) in CALLS.items():
        calls.append(call_row(call_id, language="en", flow_name="debt-collection", use_case="collections"))
        for k, (bot, user) in enumerate(script):
            utterances = [[{"transcript": user, "confidence": 0.9}]] if user else []
            turns.append(
                {
                    "id": call_id * 100 + k,
                    "uuid": f"turn-{call_id}-{k}",
                    "call_id": call_id,
                    "reftime": base + dt.timedelta(minutes=call_id, seconds=10 * k),
                    "state": "COLLECTIONS",
                    "utterances": utterances,
                    "bot_response": bot,
                    "context": {},
                    "prediction": {},
                    "intent": "_confirm_",
                    "intent_score": 0.9,
                    "slots": [],
                    "entities": [],
                    "audio_url": f"https://audio.example.com/{call_id}-{k}.flac",
                    "asr_latency": 0.2,
                    "slu_latency": 0.05,
                }
            )
    with engine.begin() as conn:
        conn.execute(schema.turns.delete())
        conn.execute(schema.calls.delete())
        conn.execute(schema.calls.insert(), calls)
        conn.execute(schema.turns.insert(), turns)
    engine.dispose()


def model_answer(body: dict[str, Any]) -> str:
    """A fake model that reads the numbered transcript it was sent (the deterministic rules as its brain)."""
    text = body["messages"][-1]["content"]
    transcript = re.sub(r"^\d+\. ", "", text, flags=re.MULTILINE)
    verdict = judge_transcript(transcript)
    return json.dumps(
        {
            "is_breach": verdict.is_breach,
            "explanation": verdict.explanation,
            "evidence_turn": verdict.evidence_turn,
        }
    )


@pytest.fixture
def turns_uri(isolated_settings: Path) -> str:
    url = get_settings().effective_warehouse_url
    schema.ensure_sqlite_parent(url)
    build_debt_warehouse(url)
    return fetch_calls(build_call_filters(lang="en", **DAY), call_quantity=100, warehouse_url=url).calls_uri


def csv_rows(uri: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(storage.read_text(uri))))


def expected_breaches() -> dict[str, str]:
    return {f"call-{i:05d}": str(breach) for i, (_, breach) in CALLS.items()}


# ---------------------------------------------------------------------------------------------------- the job


def test_rules_audit_writes_redacted_csv_report_and_rows_and_reruns_update(
    turns_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = audit_compliance(compliance_request_from(turns_uri, "auto", lang="en"))
    assert (result.calls, result.breaches, result.judge_errors, result.judge) == (4, 2, 0, "rules")
    assert result.message.splitlines()[0] == (
        "Tried generating report for 4 calls. Among these 2 had compliance breaches."
    )
    assert result.message.splitlines()[-1] == f"Report: {result.report_uri}"
    rows = csv_rows(result.csv_uri)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {r["call_uuid"]: r["is_breach"] for r in rows} == expected_breaches()
    third_party = next(r for r in rows if r["call_uuid"] == "call-00001")
    assert third_party["evidence_turn"] == "3" and "someone else" in third_party["explanation"]
    assert third_party["call_information"].startswith("<call>\nBOT: Hello, am I speaking with <PERSON>?\n")
    assert "$50.00" in third_party["call_information"]
    debtor = next(r for r in rows if r["call_uuid"] == "call-00003")
    assert "<PHONE>" in debtor["call_information"] and "$80.00" in debtor["call_information"]
    report = storage.read_text(result.report_uri)
    outputs = storage.read_text(result.csv_uri) + report
    for pii in PII:
        assert pii not in outputs and pii not in caplog.text
    assert "<li value=3 class=evidence>" in report and "breach rate 50.0%" in report

    stored = read_breaches()
    assert {r["call_uuid"]: str(r["is_breach"]) for r in stored} == expected_breaches()
    assert {(r["judge"], r["model"], r["prompt_version"]) for r in stored} == {("rules", "rules", "rules-1")}
    again = audit_compliance(compliance_request_from(turns_uri, "rules", lang="en"))
    assert again.breaches == 2 and len(read_breaches()) == 4  # updated, not duplicated


def test_an_empty_sample_is_a_clear_outcome(isolated_settings: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(
        ",".join([*CSV_COLUMNS[:7], "conversation_id", "bot_response", "primary_utterance"]) + "\n"
    )
    result = audit_compliance(compliance_request_from(str(empty)))
    assert (result.calls, result.breaches, result.rows_written) == (0, 0, 0)
    assert result.message.startswith("Tried generating report for 0 calls: no calls matched the filters")
    assert csv_rows(result.csv_uri) == [] and "No calls matched" in storage.read_text(result.report_uri)
    assert read_breaches() == []
    (tmp_path / "nothing.csv").write_text("")
    with pytest.raises(InvalidParameterError, match="calls_uri: .* is empty"):
        audit_compliance(compliance_request_from(str(tmp_path / "nothing.csv")))


def test_llm_partial_failures_are_kept_with_their_errors(turns_uri: str) -> None:
    with FakeChatCompletionsServer(answer=model_answer) as server:
        server.fail_next(413, times=1, body={"error": {"message": "request too large for the context"}})
        endpoint = LLMEndpoint(model="judge-1", base_url=server.v1_url, concurrency=1)
        result = audit_compliance(compliance_request_from(turns_uri, "llm"), endpoint=endpoint)
    assert (result.calls, result.judge_errors, result.judge, result.model) == (4, 1, "llm", "judge-1")
    assert (
        "1 call(s) could not be judged (kept with judge_error; first: bad_request: HTTP 413" in result.message
    )
    rows = csv_rows(result.csv_uri)
    failed = [r for r in rows if r["judge_error"]]
    assert len(failed) == 1 and failed[0]["is_breach"] == ""
    decided = {r["call_uuid"]: r["is_breach"] for r in rows if not r["judge_error"]}
    assert decided == {k: v for k, v in expected_breaches().items() if k in decided}
    assert all(int(r["tokens_consumed"]) > 0 for r in rows if not r["judge_error"])
    assert len(read_breaches()) == 4 and result.tokens > 0
    for request in server.requests:
        assert not any(pii in request.user_text for pii in PII)  # nothing un-redacted left the machine


def test_every_call_failing_fails_the_run_naming_why_without_the_key(
    turns_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeChatCompletionsServer(answer=model_answer, api_key="the-right-key") as server:
        endpoint = LLMEndpoint(model="judge-1", base_url=server.v1_url, api_key=SECRET)
        with pytest.raises(ComplianceJudgeFailed) as info:
            audit_compliance(compliance_request_from(turns_uri, "auto"), endpoint=endpoint)
    message = str(info.value)
    assert "the llm judge decided none of the 4 calls (auth: 4); first error: auth: HTTP 401" in message
    uri = message.rsplit("The per-call errors are in ", 1)[1]
    assert all(r["judge_error"].startswith("auth:") for r in csv_rows(uri))
    assert SECRET not in message and SECRET not in caplog.text and SECRET not in storage.read_text(uri)
    assert read_breaches() == []


def test_a_prompt_file_is_read_through_the_store_and_a_bad_one_is_named(
    turns_uri: str, tmp_path: Path
) -> None:
    good = tmp_path / "judge.yaml"
    good.write_text('name: compliance_judge\nversion: "2"\nsystem: "Strict auditor."\nuser: $transcript\n')
    with FakeChatCompletionsServer(answer=model_answer) as server:
        endpoint = LLMEndpoint(model="judge-1", base_url=server.v1_url)
        result = audit_compliance(compliance_request_from(turns_uri, "llm", str(good)), endpoint=endpoint)
        assert result.prompt_version.startswith("2+")
        assert server.requests[0].body["messages"][0]["content"] == "Strict auditor."
        bad = tmp_path / "bad.yaml"
        bad.write_text("name: situations\nversion: '1'\nuser: $transcript\n")
        with pytest.raises(InvalidParameterError) as info:
            audit_compliance(compliance_request_from(turns_uri, "llm", str(bad)), endpoint=endpoint)
    assert info.value.parameter == "prompt_file" and str(bad) in str(info.value)
    assert "expected 'compliance_judge'" in str(info.value)
    # without an LLM, auto runs the rules and says the prompt was not used
    rules = audit_compliance(compliance_request_from(turns_uri, "auto", str(good)), endpoint=None)
    assert rules.judge == "rules" and "prompt_file ignored" in rules.message


# ------------------------------------------------------------------------------------------ end to end (kfp)


@pytest.mark.slow
def test_pipeline_with_the_rules_judge_on_sqlite(turns_uri: str, slack_server: FakeSlackServer) -> None:
    runner = get_runner()
    arguments = {"lang": "en", **DAY, "channel": "#compliance"}
    first = runner.run("publish_compliance_breaches", arguments)
    assert first.state == RunState.SUCCEEDED, first.error
    outputs = first.outputs
    assert (outputs["calls"], outputs["breaches"], outputs["judge_errors"], outputs["judge_used"]) == (
        4,
        2,
        0,
        "rules",
    )
    assert {r["call_uuid"]: r["is_breach"] for r in csv_rows(outputs["csv_uri"])} == expected_breaches()
    assert Path(outputs["report_uri"]).read_text().startswith("<!doctype html>")
    (post,) = slack_server.calls("chat.postMessage")
    text = post.args["text"]
    assert "Tried generating report for 4 calls. Among these 2 had compliance breaches" in text
    assert f"Report: {outputs['report_uri']}" in text
    assert f"cp {outputs['csv_uri']} ." in str(post.args["blocks"])  # the download command, as a code block

    again = runner.run("publish_compliance_breaches", {"lang": "en", **DAY})
    assert again.state == RunState.SUCCEEDED, again.error
    assert len(read_breaches()) == 4

    no_llm = runner.run("publish_compliance_breaches", {"lang": "en", **DAY, "judge": "llm"})
    assert no_llm.state == RunState.FAILED and "judge: 'llm' needs an LLM" in no_llm.error


@pytest.mark.slow
def test_pipeline_with_the_llm_judge_on_postgresql(
    turns_uri: str, postgres_schema_url: str, settings_env: Any
) -> None:
    with FakeChatCompletionsServer(answer=model_answer, api_key=SECRET) as server:
        settings_env(
            SKIT_DATABASE_URL=postgres_schema_url,
            SKIT_LLM_BASE_URL=server.v1_url,
            SKIT_LLM_MODEL="judge-1",
            SKIT_LLM_API_KEY=SECRET,
        )
        runner = get_runner()
        first = runner.run("publish_compliance_breaches", {"lang": "en", **DAY, "random_seed": 3})
        assert first.state == RunState.SUCCEEDED, first.error
        second = runner.run("publish_compliance_breaches", {"lang": "en", **DAY, "random_seed": 3})
        assert second.state == RunState.SUCCEEDED, second.error
    assert (first.outputs["calls"], first.outputs["breaches"], first.outputs["judge_used"]) == (4, 2, "llm")
    assert first.outputs["tokens"] > 0 and len(server.requests) == 8
    for request in server.requests:
        assert not any(pii in request.user_text for pii in PII)
    stored = read_breaches(postgres_schema_url)
    assert len(stored) == 4  # the re-run updated its rows
    assert {r["call_uuid"]: str(r["is_breach"]) for r in stored} == expected_breaches()
    assert {(r["judge"], r["model"], r["prompt_version"]) for r in stored} == {("llm", "judge-1", "1")}
    log = (Path(first.run_dir) / "run.log").read_text()
    assert SECRET not in log and not any(pii in log for pii in PII)


def test_api_and_slack_runs_may_read_a_prompt_file_only_where_allowed(tmp_path: Path) -> None:
    from skit_pipelines.pipeline_checks import location_errors
    from skit_pipelines.readpolicy import ReadPolicy

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    policy = ReadPolicy.create(confined=True, allowed=[str(allowed)], secrets=())
    assert (
        location_errors("publish_compliance_breaches", {"prompt_file": str(allowed / "p.yaml")}, policy) == {}
    )
    errors = location_errors("publish_compliance_breaches", {"prompt_file": "/etc/passwd"}, policy)
    assert set(errors) == {"prompt_file"}
