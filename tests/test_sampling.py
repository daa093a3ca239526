"""Sampling: uniform over matching calls, exact cap, every turn of each call, on SQLite and PostgreSQL."""

import csv
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from skit_pipelines.warehouse.filters import build_call_filters
from skit_pipelines.warehouse.sampling import (
    TURN_COLUMNS,
    _local_time,
    reservoir_sample,
    sample_calls_to_csv,
    turns_query,
)
from tests.warehouse_factory import BASE, build_warehouse, call_row

NOW = BASE


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def filters(**kwargs):
    kwargs.setdefault("lang", "en")
    kwargs.setdefault("timezone", "UTC")
    return build_call_filters(now=NOW, **kwargs)


def test_exact_cap_and_every_turn(db_url: str, tmp_path: Path) -> None:
    engine = build_warehouse(db_url, [call_row(i) for i in range(1, 41)], turns_per_call=3)
    out = tmp_path / "s.csv"
    result = sample_calls_to_csv(engine, filters(), 25, out, seed=3)
    rows = read_rows(out)
    assert (result.matching_calls, result.sampled_calls, result.turns) == (40, 25, 75)
    per_call = Counter(r["call_uuid"] for r in rows)
    assert len(per_call) == 25 and set(per_call.values()) == {3}
    assert list(rows[0].keys()) == list(TURN_COLUMNS)
    # Same seed, same sample, on any backend.
    again = tmp_path / "again.csv"
    sample_calls_to_csv(engine, filters(), 25, again, seed=3)
    assert again.read_text() == out.read_text()
    engine.dispose()


def test_quantity_above_matches_returns_all(db_url: str, tmp_path: Path) -> None:
    engine = build_warehouse(db_url, [call_row(i) for i in range(1, 6)])
    result = sample_calls_to_csv(engine, filters(), 200, tmp_path / "s.csv", seed=1)
    assert (result.matching_calls, result.sampled_calls, result.turns) == (5, 5, 15)
    engine.dispose()


def test_turn_columns_are_rendered(tmp_path: Path) -> None:
    engine = build_warehouse(f"sqlite:///{tmp_path / 'w.db'}", [call_row(1)])
    out = tmp_path / "s.csv"
    sample_calls_to_csv(engine, filters(timezone="Asia/Kolkata", start_date="2026-03-10"), 5, out, seed=1)
    first = read_rows(out)[0]
    assert first["reftime"] == "2026-03-10T15:31:00+05:30"  # converted to the requested timezone
    assert first["readable_reftime"] == "10-Mar-2026 03:31 PM"
    assert json.loads(first["utterances"])[0][0]["transcript"] == "yes 0"
    assert first["primary_utterance"] == "yes 0"
    assert first["format_utterances"] == "yes 0\nyeah 0"
    assert json.loads(first["intents_info"])[0]["name"] == "_confirm_"
    assert first["call_uuid"] == "call-00001" and first["conversation_uuid"] == "turn-00001-0"
    engine.dispose()


def test_filters_select_the_right_calls(db_url: str, tmp_path: Path) -> None:
    calls = [
        call_row(1),
        call_row(2, language="hi"),
        call_row(3, client_id="9"),
        call_row(4, call_type="CALL_TEST"),
        call_row(5, caller_number="0000000000"),
        call_row(6, call_duration=5.0),
        call_row(7, reported=True),
        call_row(8, flow_id="f2", flow_name="cards"),
        call_row(9, start_time=BASE - dt.timedelta(days=2)),
        call_row(10, asr_provider="deepgram"),
    ]
    engine = build_warehouse(db_url, calls)

    def sampled(**kw) -> set[str]:
        out = tmp_path / "s.csv"
        sample_calls_to_csv(engine, filters(**kw), 100, out, seed=0)
        return {r["call_uuid"] for r in read_rows(out)}

    everything_today = {f"call-{i:05d}" for i in (1, 3, 6, 7, 8, 10)}
    assert sampled() == everything_today  # default: INBOUND/OUTBOUND, test callers ignored, today only
    assert sampled(lang="hi") == {"call-00002"}
    assert sampled(client_id="9,11") == {"call-00003"}
    assert sampled(call_type="CALL_TEST") == {"call-00004"}
    assert "call-00005" in sampled(ignore_callers="+91001")
    assert "call-00001" not in sampled(ignore_callers="+91001")
    assert "call-00006" not in sampled(min_duration="10")
    assert sampled(reported=True) == {"call-00007"}
    assert sampled(flow_ids="f2") == {"call-00008"} == sampled(flow_name="cards")
    assert "call-00009" in sampled(start_date="2026-03-08")
    assert sampled(asr_provider="deepgram") == {"call-00010"}
    engine.dispose()


def test_states_and_intents_filter_turns(db_url: str, tmp_path: Path) -> None:
    engine = build_warehouse(db_url, [call_row(i) for i in range(1, 4)])
    out = tmp_path / "s.csv"
    result = sample_calls_to_csv(engine, filters(intents="_confirm_"), 10, out, seed=0)
    rows = read_rows(out)
    assert result.turns == 3 and {r["intent"] for r in rows} == {"_confirm_"}
    result = sample_calls_to_csv(engine, filters(states="END,GREETING"), 10, out, seed=0)
    assert result.turns == 6 and {r["state"] for r in read_rows(out)} == {"END", "GREETING"}
    result = sample_calls_to_csv(engine, filters(intents="no_such_intent"), 10, out, seed=0)
    assert (result.matching_calls, result.turns) == (0, 0)
    engine.dispose()


def test_no_match_writes_headers_only(tmp_path: Path) -> None:
    engine = build_warehouse(f"sqlite:///{tmp_path / 'w.db'}", [call_row(1)])
    out = tmp_path / "s.csv"
    result = sample_calls_to_csv(engine, filters(lang="ta"), 10, out, seed=0)
    assert result.sampled_calls == 0
    assert out.read_text().strip() == ",".join(TURN_COLUMNS)
    engine.dispose()


def test_reservoir_is_uniform() -> None:
    """Each of 10 items is picked about k/n of the time (chi-square-free check with wide bounds)."""
    counts: Counter[int] = Counter()
    rng = random.Random(1)
    for _ in range(4000):
        sample, seen = reservoir_sample(range(10), 3, rng)
        assert seen == 10 and len(set(sample)) == 3
        counts.update(sample)
    for item in range(10):
        assert 1050 < counts[item] < 1350  # expected 1200


@pytest.mark.parametrize("k", [0, 1, 5])
def test_reservoir_edges(k: int) -> None:
    sample, seen = reservoir_sample(iter([4, 5, 6]), k, random.Random(0))
    assert seen == 3 and len(sample) == min(k, 3)


def test_the_date_window_includes_its_first_instant_and_excludes_the_next_day(
    db_url: str, tmp_path: Path
) -> None:
    """``end_date`` is inclusive as a day, so the window ends *before* the next midnight: a call starting at
    00:00:00 of the next day belongs to the next day (and a call at the first instant belongs to this one)."""
    window = filters()  # today, in UTC
    calls = [
        call_row(1, start_time=window.start),  # the first instant of the day: in
        call_row(2, start_time=window.end - dt.timedelta(microseconds=1)),  # the day's last instant: in
        call_row(3, start_time=window.end),  # midnight that starts the next day: out
        call_row(4, start_time=window.start - dt.timedelta(seconds=1)),  # the day before: out
    ]
    engine = build_warehouse(db_url, calls)
    result = sample_calls_to_csv(engine, window, 10, tmp_path / "s.csv", seed=1)
    sampled = {row["call_uuid"] for row in read_rows(tmp_path / "s.csv")}
    assert result.matching_calls == 2 and sampled == {"call-00001", "call-00002"}
    engine.dispose()


def test_turns_query_selects_exactly_the_csv_columns() -> None:
    """The CSV rows are the query's rows with three placeholders filled: the names must line up."""
    assert list(turns_query([1, 2], filters()).selected_columns.keys()) == list(TURN_COLUMNS)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_reftime_text_equals_isoformat_and_strftime(zone: str) -> None:
    """The fast path (ISO text sliced, offset appended) equals isoformat/strftime, every hour and month."""
    tz = ZoneInfo(zone)
    moments = [
        dt.datetime(
            2026, month, 1 + hour, hour, 7 * hour % 60, 5, 123456 * (hour % 2), tzinfo=dt.timezone.utc
        )
        for month in range(1, 13)
        for hour in range(24)
    ]
    for moment in moments:
        local = moment.astimezone(tz)
        expected = (local.isoformat(), local.strftime("%d-%b-%Y %I:%M %p"))
        sqlite_text = moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        assert _local_time(sqlite_text, tz) == expected  # SQLite: naive UTC text
        assert _local_time(moment.astimezone(ZoneInfo("Asia/Tokyo")), tz) == expected  # PostgreSQL: aware
        assert _local_time(local.isoformat(), tz) == expected  # text with its own offset
    assert _local_time(None, tz) == ("", "")
