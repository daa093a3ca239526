"""Transcripts from the turns CSV (spec 8.1): BOT then USER per turn, in turn order, tags stripped, "NA"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from skit_pipelines.compliance.transcripts import (
    CALL_COLUMNS,
    TurnsColumnsMissing,
    build_transcripts,
    transcript_lines,
)
from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.filters import build_call_filters
from skit_pipelines.warehouse.sampling import write_turns_csv
from tests.warehouse_factory import call_row, turn_rows


def turn(call_id: int, conversation_id: int, bot: Any, user: Any, **extra: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "call_uuid": f"call-{call_id}",
        "audio_url": f"https://audio/{call_id}-{conversation_id}.flac",
        "call_url": f"https://rec/{call_id}.wav",
        "flow_uuid": "flow-1",
        "client_uuid": "client-7",
        "reftime": f"2026-03-10T10:{conversation_id:02d}:00+00:00",
        "conversation_id": conversation_id,
        "bot_response": bot,
        "primary_utterance": user,
        **extra,
    }


def test_lines_in_turn_order_bot_first_tags_stripped_na_for_empty_bot() -> None:
    turns = pd.DataFrame(
        [
            # out of order on purpose: turn 12 is written before turn 11
            turn(
                1, 12, '<speak>Your balance is <say-as interpret-as="currency">$50.00</say-as>.</speak>', None
            ),
            turn(1, 11, "<speak>Hello,<break time='1s'/> am I speaking with John?</speak>", "yes speaking"),
            turn(2, 21, None, "hello?"),
            turn(2, 22, "<break time='2s'/>", "who is this"),
            turn(1, 13, "Goodbye\nnow", "bye"),
        ]
    )
    out = build_transcripts(turns)
    assert list(out.columns) == [*CALL_COLUMNS, "call_information"]
    assert out["call_id"].tolist() == [1, 2]  # first appearance
    assert out.loc[0, "call_information"] == (
        "<call>\n"
        "BOT: Hello, am I speaking with John?\n"
        "USER: yes speaking\n"
        "BOT: Your balance is $50.00 .\n"
        "BOT: Goodbye now\n"
        "USER: bye\n"
        "</call>"
    )
    assert (
        out.loc[1, "call_information"] == "<call>\nBOT: NA\nUSER: hello?\nBOT: NA\nUSER: who is this\n</call>"
    )
    # call-level columns come from the call's first turn in turn order
    assert out.loc[0, "audio_url"] == "https://audio/1-11.flac"
    assert out.loc[0, "reftime"] == "2026-03-10T10:11:00+00:00"


def test_numbered_lines_read_back() -> None:
    text = "<call>\nBOT: Hi\nUSER: yes\nBOT: NA\n</call>"
    lines = transcript_lines(text)
    assert [(x.number, x.speaker, x.text) for x in lines] == [
        (1, "BOT", "Hi"),
        (2, "USER", "yes"),
        (3, "BOT", "NA"),
    ]


def test_missing_columns_are_named() -> None:
    with pytest.raises(TurnsColumnsMissing, match="bot_response, primary_utterance"):
        build_transcripts(pd.DataFrame({c: [] for c in (*CALL_COLUMNS, "conversation_id")}))


def test_no_turns_no_calls() -> None:
    empty = pd.DataFrame(columns=list(turn(1, 1, "", "")))
    assert build_transcripts(empty).empty


def test_from_the_csv_that_fetch_calls_writes(tmp_path: Path) -> None:
    engine = schema.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    schema.create_schema(engine)
    calls = [call_row(1), call_row(2)]
    turns = turn_rows(1, 2) + turn_rows(
        2, 3, bot_response="<speak>You owe <prosody rate='slow'>$120.50</prosody></speak>"
    )
    turns[1]["utterances"] = []  # a turn without a user utterance
    with engine.begin() as conn:
        conn.execute(schema.calls.insert(), calls)
        conn.execute(schema.turns.insert(), turns)
    csv = tmp_path / "turns.csv"
    filters = build_call_filters(lang="en", start_date="2026-03-01", end_date="2026-03-31", timezone="UTC")
    assert write_turns_csv(engine, [1, 2], filters, csv) == 5

    out = build_transcripts(pd.read_csv(csv))
    assert out["call_uuid"].tolist() == ["call-00001", "call-00002"]
    assert out.loc[0, "call_information"] == "<call>\nBOT: Hello\nUSER: yes 0\nBOT: Hello\n</call>"
    assert out.loc[1, "call_information"].splitlines()[1:3] == ["BOT: You owe $120.50", "USER: yes 0"]
    assert out.loc[1, "reftime"] == (dt.datetime(2026, 3, 10, 10, 2, tzinfo=dt.UTC)).isoformat()
