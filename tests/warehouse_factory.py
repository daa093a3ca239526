"""Tiny hand-made warehouses for exact assertions (the demo generator is tested on its own)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from skit_pipelines.config import get_settings
from skit_pipelines.warehouse import schema

UTC = dt.UTC
BASE = dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def call_row(i: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": i,
        "uuid": f"call-{i:05d}",
        "client_id": "7",
        "client_uuid": "client-7",
        "flow_id": "f1",
        "flow_uuid": "flow-1",
        "flow_name": "collections",
        "flow_version": "3",
        "template_id": "t1",
        "use_case": "debt_collection",
        "language": "en",
        "call_type": "INBOUND",
        "caller_number": f"+9100{i}",
        "virtual_number": "+9180",
        "asr_provider": "google",
        "disposition": "PTP",
        "call_end_status": "COMPLETED",
        "call_duration": 60.0,
        "reported": False,
        "call_url": f"https://recordings.example.com/{i}.wav",
        "start_time": BASE + dt.timedelta(minutes=i),
        "timezone": "Asia/Kolkata",
    }
    row.update(overrides)
    return row


def turn_rows(
    call_id: int, count: int = 3, first_id: int | None = None, **overrides: Any
) -> list[dict[str, Any]]:
    first_id = first_id if first_id is not None else call_id * 100
    rows = []
    for k in range(count):
        row = {
            "id": first_id + k,
            "uuid": f"turn-{call_id:05d}-{k}",
            "call_id": call_id,
            "reftime": BASE + dt.timedelta(minutes=call_id, seconds=10 * k),
            "state": ["GREETING", "COF", "END"][k % 3],
            "utterances": [
                [
                    {"transcript": f"yes {k}", "confidence": 0.9},
                    {"transcript": f"yeah {k}", "confidence": 0.5},
                ]
            ],
            "bot_response": "Hello",
            "context": {"bot_response": "Hello"},
            "prediction": {"intents": [{"name": "_confirm_", "score": 0.9, "slots": []}]},
            "intent": ["_greeting_", "_confirm_", "_cancel_"][k % 3],
            "intent_score": 0.9,
            "slots": [],
            "entities": [],
            "audio_url": f"https://audio.example.com/{call_id}-{k}.flac",
            "asr_latency": 0.2,
            "slu_latency": 0.05,
        }
        row.update(overrides)
        rows.append(row)
    return rows


def build_warehouse(url: str, calls: list[dict[str, Any]], turns_per_call: int = 3) -> sa.Engine:
    engine = schema.create_engine(url)
    schema.create_schema(engine)
    with engine.begin() as conn:
        conn.execute(schema.turns.delete())
        conn.execute(schema.calls.delete())
        conn.execute(schema.calls.insert(), calls)
        turns = [t for c in calls for t in turn_rows(c["id"], turns_per_call)]
        if turns:
            conn.execute(schema.turns.insert(), turns)
    return engine


def build_settings_warehouse(calls: int) -> str:
    """Fill the warehouse the settings point at (the test's own ``SKIT_HOME``) with ``calls`` calls.

    Why here: fixtures of many modules need "a small warehouse where the code under test looks by default";
    returns its URL for the tests that open it directly.
    """
    url = get_settings().effective_warehouse_url
    schema.ensure_sqlite_parent(url)
    build_warehouse(url, [call_row(i) for i in range(1, calls + 1)]).dispose()
    return url
