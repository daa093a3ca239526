"""The demo warehouse generator: deterministic, realistic in shape, and honest about its ground truth."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.demo_data import CLIENTS, DemoDataSummary, generate_demo_warehouse
from skit_pipelines.warehouse.demo_marker import NotDemoDataError, read_marker
from tests.warehouse_factory import build_warehouse, call_row

END_DATE = dt.date(2026, 3, 20)  # a Friday
DAYS = 5
CALLS = 400


def read_rows(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    engine = schema.create_engine(url)
    try:
        with engine.connect() as conn:
            calls = [dict(r._mapping) for r in conn.execute(sa.select(schema.calls).order_by("id"))]
            turns = [dict(r._mapping) for r in conn.execute(sa.select(schema.turns).order_by("id"))]
    finally:
        engine.dispose()
    return calls, turns


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoDataSummary, list[dict], list[dict]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'warehouse.db'}"
    summary = generate_demo_warehouse(url, calls=CALLS, seed=7, end_date=END_DATE, days=DAYS, batch_size=150)
    calls, turns = read_rows(url)
    return summary, calls, turns


def turns_by_call(turns: list[dict]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = {}
    for turn in turns:
        grouped.setdefault(turn["call_id"], []).append(turn)
    return grouped


def speech_turns(turns: list[dict]) -> list[dict]:
    return [t for t in turns if t["context"]["demo_true_intent"] != "_silence_"]


# --- determinism ------------------------------------------------------------------------------------------


def test_same_seed_same_rows_and_other_seed_other_rows(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b", "c")]
    for url, seed in zip(urls, (3, 3, 4), strict=True):
        generate_demo_warehouse(url, calls=200, seed=seed, end_date=END_DATE, days=3, batch_size=70)
    first, second, other = (read_rows(url) for url in urls)
    assert first == second
    assert first[0][0]["uuid"] == second[0][0]["uuid"]
    assert first[0] != other[0]
    assert {c["uuid"] for c in first[0]}.isdisjoint({c["uuid"] for c in other[0]})


def test_rows_do_not_depend_on_batch_size_or_wall_clock(tmp_path: Path) -> None:
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    generate_demo_warehouse(a, calls=120, seed=5, end_date=dt.date(2024, 2, 29), days=2, batch_size=7)
    generate_demo_warehouse(b, calls=120, seed=5, end_date=dt.date(2024, 2, 29), days=2, batch_size=5000)
    assert read_rows(a) == read_rows(b)


_DIGEST_SCRIPT = """
import hashlib, json, sys, datetime as dt
from skit_pipelines.warehouse.demo_data import generate_demo_warehouse
from tests.test_demo_data import read_rows
url = sys.argv[1]
generate_demo_warehouse(url, calls=60, seed=11, end_date=dt.date(2026, 1, 5), days=2)
print(hashlib.sha256(json.dumps(read_rows(url), default=str, sort_keys=True).encode()).hexdigest())
"""


def test_rows_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; the generated rows must not."""
    digests = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        url = f"sqlite:///{tmp_path / f'h{hash_seed}.db'}"
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT, url],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64


# --- shape of calls ---------------------------------------------------------------------------------------


def test_summary_matches_the_tables(demo: tuple) -> None:
    summary, calls, turns = demo
    assert summary.calls == len(calls) == CALLS
    assert summary.turns == len(turns)
    assert sum(summary.clients.values()) == sum(summary.languages.values()) == CALLS
    assert set(summary.clients) == {c.client_id for c in CLIENTS}
    assert summary.first_call == min(c["start_time"] for c in calls)
    assert summary.last_call == max(c["start_time"] for c in calls)
    assert summary.seconds > 0
    labels = [label for label, _ in summary.as_rows()]
    assert labels[:2] == ["calls", "turns"] and "languages" in labels


def test_every_call_has_3_to_15_turns_in_time_order(demo: tuple) -> None:
    _, calls, turns = demo
    grouped = turns_by_call(turns)
    assert set(grouped) == {c["id"] for c in calls}
    for call in calls:
        own = grouped[call["id"]]
        assert 3 <= len(own) <= 15, call
        times = [t["reftime"] for t in own]
        assert times == sorted(times)
        assert call["start_time"] < times[0]
        assert times[-1] <= call["start_time"] + dt.timedelta(seconds=call["call_duration"])
    lengths = Counter(len(v) for v in grouped.values())
    assert len(lengths) >= 5, lengths  # a spread of lengths, not one shape


def test_times_are_aware_and_inside_the_days(demo: tuple) -> None:
    _, calls, turns = demo
    first_day = END_DATE - dt.timedelta(days=DAYS - 1)
    for call in calls:
        assert call["start_time"].tzinfo is not None
        local = call["start_time"].astimezone(ZoneInfo(call["timezone"]))
        assert first_day <= local.date() <= END_DATE, call
    assert all(t["reftime"].tzinfo is not None for t in turns)
    local_days = {c["start_time"].astimezone(ZoneInfo(c["timezone"])).date() for c in calls}
    assert local_days == {first_day + dt.timedelta(days=i) for i in range(DAYS)}


def test_end_date_is_a_full_day_of_calls(demo: tuple) -> None:
    _, calls, _ = demo
    local = [c["start_time"].astimezone(ZoneInfo(c["timezone"])) for c in calls]
    on_end = [t for t in local if t.date() == END_DATE]
    assert len(on_end) >= CALLS / DAYS / 2
    assert sum(t.hour >= 12 for t in on_end) >= len(on_end) / 3
    assert any(t.hour >= 18 for t in on_end)
    business = sum(8 <= t.hour < 21 for t in local)
    assert business / len(local) >= 0.85


def test_no_call_or_turn_lies_after_now(tmp_path: Path) -> None:
    now = dt.datetime(2026, 3, 20, 9, 15, tzinfo=dt.timezone.utc)  # 14:45 in Kolkata, 05:15 in New York
    url = f"sqlite:///{tmp_path / 'w.db'}"
    generate_demo_warehouse(url, calls=300, seed=4, days=2, now=now)
    calls, turns = read_rows(url)
    assert max(c["start_time"] for c in calls) <= now
    assert max(t["reftime"] for t in turns) <= now
    assert all(c["start_time"] + dt.timedelta(seconds=c["call_duration"]) <= now for c in calls)
    # The window ends on each client's own today: Kolkata already has calls on the 20th, local time.
    kolkata = [
        c["start_time"].astimezone(ZoneInfo("Asia/Kolkata")) for c in calls if c["timezone"] == "Asia/Kolkata"
    ]
    assert any(t.date() == dt.date(2026, 3, 20) for t in kolkata)
    assert {t.date() for t in kolkata} <= {dt.date(2026, 3, 19), dt.date(2026, 3, 20)}


def test_default_ends_at_the_wall_clock(tmp_path: Path) -> None:
    summary = generate_demo_warehouse(f"sqlite:///{tmp_path / 'w.db'}", calls=150, days=2)
    after = dt.datetime.now(dt.timezone.utc)
    calls, turns = read_rows(f"sqlite:///{tmp_path / 'w.db'}")
    assert max(c["start_time"] for c in calls) <= after and max(t["reftime"] for t in turns) <= after
    assert summary.calls == 150


def test_an_end_date_in_the_future_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    now = dt.datetime(2026, 3, 20, 9, 15, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError, match="end_date 2026-03-22 is in the future"):
        generate_demo_warehouse(f"sqlite:///{path}", calls=10, end_date=dt.date(2026, 3, 22), now=now)
    assert not path.exists()


def test_languages_call_types_and_callers(demo: tuple) -> None:
    _, calls, _ = demo
    languages = Counter(c["language"] for c in calls)
    assert languages["en"] / CALLS >= 0.5
    assert {"en", "hi"} <= set(languages) and len(languages) >= 3
    types = Counter(c["call_type"] for c in calls)
    assert types["INBOUND"] and types["OUTBOUND"]
    assert 1 <= types["CALL_TEST"] <= 0.08 * CALLS
    callers = Counter(c["caller_number"] for c in calls)
    assert callers.most_common(1)[0][1] >= 2  # repeat callers exist
    assert 0 < sum(c["reported"] for c in calls) <= 0.08 * CALLS
    assert len({c["timezone"] for c in calls}) >= 3
    for call in calls:
        assert call["call_url"].startswith("https://recordings.example.com/")
        assert call["call_url"].endswith(f"/{call['uuid']}.wav")
        assert call["flow_id"] and call["flow_uuid"] and call["template_id"] and call["asr_provider"]


def test_dispositions_follow_the_dialogue(demo: tuple) -> None:
    _, calls, turns = demo
    grouped = turns_by_call(turns)
    statuses = Counter(c["call_end_status"] for c in calls)
    assert statuses["COMPLETED"] > CALLS / 3 and statuses["TRANSFERRED"] > 0
    for call in calls:
        states = [t["state"] for t in grouped[call["id"]]]
        assert states[0] == "GREETING"
        assert call["disposition"]
        if call["call_end_status"] == "TRANSFERRED":
            assert "AGENT_TRANSFER" in states
        if call["disposition"] == "WRONG_NUMBER":
            assert "WRONG_PERSON" in states
        if call["call_end_status"] == "NO_RESPONSE":
            last = grouped[call["id"]][-3:]
            assert all(t["context"]["demo_true_intent"] == "_silence_" for t in last)
        if call["disposition"] == "CARD_BLOCKED":
            assert "CARD_BLOCK" in states


# --- turns ------------------------------------------------------------------------------------------------


def test_utterances_are_asr_nbest_lists(demo: tuple) -> None:
    _, _, turns = demo
    empty = 0
    sizes: Counter[int] = Counter()
    for turn in turns:
        utterances = turn["utterances"]
        assert isinstance(utterances, list)
        if turn["context"]["demo_true_intent"] == "_silence_":
            assert utterances in ([], [[]])
            empty += 1
            continue
        assert len(utterances) == 1 and 1 <= len(utterances[0]) <= 5
        confidences = [alt["confidence"] for alt in utterances[0]]
        assert confidences == sorted(confidences, reverse=True)
        assert all(0 < c < 1 for c in confidences)
        assert all(isinstance(alt["transcript"], str) and alt["transcript"] for alt in utterances[0])
        sizes[len(utterances[0])] += 1
    assert empty > 0 and len(sizes) == 5
    speech = speech_turns(turns)
    noisy = sum(t["utterances"][0][0]["transcript"] != t["context"]["demo_transcript"] for t in speech)
    assert 0.1 < noisy / len(speech) < 0.7  # ASR is often, not always, right


def test_turn_columns_are_consistent(demo: tuple) -> None:
    _, calls, turns = demo
    by_id = {c["id"]: c for c in calls}
    for turn in turns:
        top = turn["prediction"]["intents"][0]
        assert top["name"] == turn["intent"] and top["score"] == turn["intent_score"]
        assert top["slots"] == turn["slots"]
        assert [v for slot in turn["slots"] for v in slot["values"]] == turn["entities"]
        assert turn["context"]["bot_response"] == turn["bot_response"] and turn["bot_response"]
        assert turn["state"]
        call = by_id[turn["call_id"]]
        if turn["audio_url"] is not None:
            assert turn["audio_url"].startswith("https://recordings.example.com/")
            assert turn["audio_url"].endswith(f"/{call['uuid']}/{turn['uuid']}.flac")
        assert 0 < turn["asr_latency"] < 2 and 0 < turn["slu_latency"] < 2
    assert len({t["uuid"] for t in turns}) == len(turns)


def test_wrong_predictions_follow_wrong_rate_with_plausible_confusions(demo: tuple) -> None:
    _, _, turns = demo
    speech = speech_turns(turns)
    wrong = [t for t in speech if t["intent"] != t["context"]["demo_true_intent"]]
    assert abs(len(wrong) / len(speech) - 0.15) < 0.04
    right = [t for t in speech if t not in wrong]
    mean_wrong = sum(t["intent_score"] for t in wrong) / len(wrong)
    mean_right = sum(t["intent_score"] for t in right) / len(right)
    assert mean_wrong < mean_right - 0.15
    pairs = Counter((t["context"]["demo_true_intent"], t["intent"]) for t in wrong)
    confirm = {predicted: n for (true, predicted), n in pairs.items() if true == "_confirm_"}
    assert confirm.get("_cancel_", 0) < confirm.get("thank_you", 0) + confirm.get("_oos_", 0)
    assert all(true != predicted for true, predicted in pairs)


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_wrong_rate_extremes(tmp_path: Path, rate: float) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    generate_demo_warehouse(url, calls=60, seed=2, end_date=END_DATE, days=2, wrong_rate=rate)
    speech = speech_turns(read_rows(url)[1])
    wrong = sum(t["intent"] != t["context"]["demo_true_intent"] for t in speech)
    assert wrong == round(rate * len(speech))


def test_entities_are_in_the_words_and_resolved_against_reftime(demo: tuple) -> None:
    _, calls, turns = demo
    by_id = {c["id"]: c for c in calls}
    seen_types: Counter[str] = Counter()
    for turn in turns:
        context = turn["context"]
        zone = ZoneInfo(by_id[turn["call_id"]]["timezone"])
        local_day = turn["reftime"].astimezone(zone).date()
        for entity in context["demo_true_entities"]:
            seen_types[entity["type"]] += 1
            assert entity["text"] in context["demo_transcript"]
            value = entity["value"]
            if entity["type"] in ("date", "time"):
                parsed = dt.datetime.fromisoformat(value)
                assert parsed.utcoffset() == parsed.replace(tzinfo=zone).utcoffset()  # the client's zone
                assert abs((parsed.date() - local_day).days) <= 62
                if entity["type"] == "time":
                    assert parsed.astimezone(zone) > turn["reftime"].astimezone(zone) - dt.timedelta(days=1)
            else:
                assert isinstance(value, int) and value > 0
        for entity in turn["entities"]:
            assert {"type", "entity_type", "value", "body"} <= set(entity)
            assert entity["body"] in context["demo_transcript"]
    assert {"date", "time", "number", "amount_of_money", "duration"} <= set(seen_types)


def test_entity_intents_carry_entities(demo: tuple) -> None:
    _, calls, turns = demo
    digits_turns = [t for t in turns if t["context"]["demo_true_intent"] == "inform_digits"]
    assert digits_turns
    assert all(t["context"]["demo_true_entities"][0]["type"] == "number" for t in digits_turns)
    predicted = sum(bool(t["entities"]) for t in digits_turns)
    assert predicted / len(digits_turns) > 0.85
    # the digits a caller gives are the ones the bot repeats back
    blocks = [t for t in turns if t["state"] == "CARD_BLOCK"]
    for block in blocks:
        said = [
            t
            for t in turns
            if t["call_id"] == block["call_id"] and t["context"]["demo_true_intent"] == "inform_digits"
        ]
        if said:
            assert str(said[0]["context"]["demo_true_entities"][0]["value"]) in block["bot_response"]
    later = [
        t
        for t in turns
        if t["context"]["demo_true_intent"] in ("inform_pay_later", "inform_date")
        and t["context"]["demo_true_entities"]
    ]
    assert later
    assert all(e["type"] in ("date", "time") for t in later for e in t["context"]["demo_true_entities"])


def test_silence_and_states(demo: tuple) -> None:
    _, _, turns = demo
    states = Counter(t["state"] for t in turns)
    assert {
        "GREETING",
        "IDENTITY_CHECK",
        "COF",
        "PAYMENT_DATE",
        "AMOUNT",
        "CARD_BLOCK",
        "CALLBACK_TIME",
        "ANYTHING_ELSE",
    } <= set(states)
    intents = Counter(t["context"]["demo_true_intent"] for t in turns)
    assert {
        "_confirm_",
        "_cancel_",
        "inform_pay_later",
        "ask_for_installment",
        "_repeat_",
        "block_card",
    } <= set(intents)
    assert 0 < intents["_silence_"] < 0.2 * len(turns)


# --- database behaviour -----------------------------------------------------------------------------------


def test_replace_empties_and_append_continues(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'w.db'}"  # the folder is created
    generate_demo_warehouse(url, calls=120, seed=1, end_date=END_DATE, days=2)
    generate_demo_warehouse(url, calls=50, seed=2, end_date=END_DATE, days=2, replace=True)
    calls, turns = read_rows(url)
    assert len(calls) == 50 and calls[0]["id"] == 1
    assert {t["call_id"] for t in turns} == {c["id"] for c in calls}

    generate_demo_warehouse(url, calls=30, seed=3, end_date=END_DATE, days=2, replace=False)
    calls, turns = read_rows(url)
    assert len(calls) == 80 and [c["id"] for c in calls] == list(range(1, 81))
    with pytest.raises(ValueError, match="seed"):
        generate_demo_warehouse(url, calls=30, seed=3, end_date=END_DATE, days=2, replace=False)
    assert len(read_rows(url)[0]) == 80  # the failed append wrote nothing


def test_a_database_with_other_calls_is_refused_unless_replace_foreign(db_url: str) -> None:
    build_warehouse(db_url, [call_row(i) for i in range(1, 31)], turns_per_call=4).dispose()
    before = read_rows(db_url)
    with pytest.raises(NotDemoDataError, match="holds 30 calls and 120 turns that are not demo data"):
        generate_demo_warehouse(db_url, calls=20, seed=1, end_date=END_DATE, days=2)
    with pytest.raises(NotDemoDataError):  # appending would mix demo calls into real ones: refused too
        generate_demo_warehouse(db_url, calls=20, seed=1, end_date=END_DATE, days=2, replace=False)
    assert read_rows(db_url) == before  # left exactly as it was

    generate_demo_warehouse(db_url, calls=20, seed=1, end_date=END_DATE, days=2, replace_foreign=True)
    calls, _ = read_rows(db_url)
    assert len(calls) == 20 and not any(c["uuid"].startswith("call-") for c in calls)
    engine = schema.create_engine(db_url)
    with engine.connect() as conn:
        marker = read_marker(conn)
    engine.dispose()
    assert marker["kind"] == "demo" and marker["seed"] == "1" and marker["calls"] == "20"
    # Marked as ours now: regenerated without asking.
    generate_demo_warehouse(db_url, calls=15, seed=2, end_date=END_DATE, days=2)
    assert len(read_rows(db_url)[0]) == 15


def test_progress_is_reported_per_batch(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    generate_demo_warehouse(
        f"sqlite:///{tmp_path / 'w.db'}",
        calls=250,
        seed=1,
        end_date=END_DATE,
        batch_size=100,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(100, 250), (200, 250), (250, 250)]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"calls": 0}, "calls"),
        ({"calls": -5}, "calls"),
        ({"days": 0}, "days"),
        ({"batch_size": 0}, "batch_size"),
        ({"wrong_rate": -0.1}, "wrong_rate"),
        ({"wrong_rate": 1.5}, "wrong_rate"),
    ],
)
def test_invalid_arguments_name_the_parameter(tmp_path: Path, kwargs: dict, parameter: str) -> None:
    path = tmp_path / "w.db"
    with pytest.raises(ValueError, match=parameter) as info:
        generate_demo_warehouse(f"sqlite:///{path}", **kwargs)
    assert str(info.value).startswith(parameter)
    assert not path.exists()  # validated before touching the database


def test_works_on_sqlite_and_postgresql(db_url: str) -> None:
    summary = generate_demo_warehouse(db_url, calls=150, seed=9, end_date=END_DATE, days=3, batch_size=60)
    calls, turns = read_rows(db_url)
    assert summary.calls == len(calls) == 150 and summary.turns == len(turns)
    assert all(c["start_time"].tzinfo is not None for c in calls)
    assert isinstance(turns[0]["utterances"], list) and isinstance(turns[0]["prediction"], dict)
    again = generate_demo_warehouse(db_url, calls=150, seed=9, end_date=END_DATE, days=3, batch_size=60)
    assert read_rows(db_url) == (calls, turns) and again.turns == summary.turns
    engine = schema.create_engine(db_url)
    try:
        with engine.begin() as conn:  # keys were pre-assigned: a plain insert must still get a fresh id
            new_id = conn.execute(
                schema.calls.insert().values(
                    uuid="manual",
                    client_id="x",
                    language="en",
                    call_type="INBOUND",
                    start_time=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                    timezone="UTC",
                )
            ).inserted_primary_key[0]
        assert new_id > 150
    finally:
        engine.dispose()


def test_a_postgresql_load_leaves_planner_statistics(postgres_schema_url: str) -> None:
    """Without them every sampled chunk was a sequential scan of ``turns`` (docs/benchmarks.md)."""
    generate_demo_warehouse(postgres_schema_url, calls=50, seed=1, end_date=END_DATE, days=2)
    engine = sa.create_engine(postgres_schema_url)
    with engine.connect() as conn:
        analyzed = conn.execute(
            sa.text(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND last_analyze IS NOT NULL"
            )
        ).scalars()
        assert {"calls", "turns"} <= set(analyzed)
    engine.dispose()
