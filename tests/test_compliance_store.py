"""compliance_breaches on SQLite and the real PostgreSQL: TEXT columns, one row per (call, prompt, model),
re-runs update, a new prompt adds rows, and an undecided re-run never erases a verdict."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from skit_pipelines.stores.compliance import compliance_breaches, read_breaches, upsert_breaches
from skit_pipelines.stores.tables import MetricsWriteError


def row(call: str, **values: Any) -> dict[str, Any]:
    base = {
        "call_uuid": call,
        "call_id": call.removeprefix("uuid-"),
        "audio_url": "",
        "call_url": f"https://calls.example.com/{call}",
        "flow_uuid": "flow-1",
        "client_uuid": "client-1",
        "reftime": dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone.utc),
        "is_breach": True,
        "judge": "llm",
        "model": "judge-1",
        "prompt_version": "1",
        "compliance_output": '{"is_breach": true}',
        "explanation": "told the mother",
        "evidence_turn": 3,
        "judge_error": "",
        "tokens_consumed": 120,
        "call_information": "<call>\nBOT: hi\n</call>",
    }
    return base | values


def test_rerun_updates_and_new_prompts_add_rows(db_url: str) -> None:
    long_text = "<call>\n" + "BOT: " + "é" * 20_000 + "\n</call>"  # CHAR(10000) cut this in the reference
    assert (
        upsert_breaches([row("uuid-1", call_information=long_text), row("uuid-2", is_breach=False)], db_url)
        == 2
    )
    assert (
        upsert_breaches(
            [row("uuid-1", explanation="again", tokens_consumed=7, call_information=long_text)], db_url
        )
        == 1
    )
    upsert_breaches([row("uuid-1", prompt_version="2")], db_url)
    upsert_breaches([row("uuid-1", model="other-model")], db_url)
    rows = read_breaches(db_url)
    assert len(rows) == 4
    first = rows[0]
    assert (first["explanation"], first["tokens_consumed"], first["call_information"]) == (
        "again",
        7,
        long_text,
    )
    assert first["updated_at"] >= first["created_at"] and first["reftime"].tzinfo is not None
    assert {(r["call_uuid"], r["prompt_version"], r["model"]) for r in rows} == {
        ("uuid-1", "1", "judge-1"),
        ("uuid-2", "1", "judge-1"),
        ("uuid-1", "2", "judge-1"),
        ("uuid-1", "1", "other-model"),
    }
    engine = sa.create_engine(db_url)
    try:
        columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("compliance_breaches")}
    finally:
        engine.dispose()
    assert all(
        isinstance(columns[name], sa.Text) for name in ("call_uuid", "call_information", "explanation")
    )


def test_an_undecided_rerun_keeps_the_verdict_but_a_decided_one_replaces_an_error(db_url: str) -> None:
    upsert_breaches([row("uuid-1"), row("uuid-2", is_breach=None, judge_error="server: HTTP 500")], db_url)
    upsert_breaches(
        [
            row("uuid-1", is_breach=None, judge_error="rate_limited: HTTP 429", explanation=""),
            row("uuid-2", is_breach=False, explanation="debtor verified"),
        ],
        db_url,
    )
    by_call = {r["call_uuid"]: r for r in read_breaches(db_url)}
    assert (by_call["uuid-1"]["is_breach"], by_call["uuid-1"]["judge_error"]) == (True, "")
    assert (by_call["uuid-2"]["is_breach"], by_call["uuid-2"]["judge_error"]) == (False, "")
    assert by_call["uuid-2"]["explanation"] == "debtor verified"


def test_nothing_to_write_opens_nothing_and_a_bad_database_is_named(tmp_path) -> None:
    assert upsert_breaches([], "sqlite:////nonexistent-dir/x.db") == 0
    (tmp_path / "file").write_text("")
    with pytest.raises(MetricsWriteError, match="compliance_breaches|metrics database"):
        upsert_breaches([row("uuid-1")], f"sqlite:///{tmp_path / 'file' / 'sub.db'}")
    assert compliance_breaches.name == "compliance_breaches"
