"""The situations registry (stores/situations.py) on SQLite and on a real PostgreSQL server.

Each PostgreSQL test works in a fresh schema (``postgres_schema_url``), dropped afterwards.
"""

import multiprocessing
from typing import Any

import pytest
import sqlalchemy as sa

from skit_pipelines.situations import InvalidationOutcome, Situation, parse_situations
from skit_pipelines.stores.situations import (
    SituationsStoreError,
    UnknownSituationsError,
    add_situations,
    invalidate_situations,
    read_situations,
    situation_key,
)

LOST_JOB = Situation("lost job", "asks for time", "PAYMENT_DELAY")
ANGRY = Situation("angry", "wants manager", "ESCALATION")


def _valid_rows(url: str) -> list[dict[str, Any]]:
    return [row for row in read_situations(url) if row["is_valid"]]


def test_add_inserts_then_reuses_valid_rows(db_url: str) -> None:
    first = add_situations([LOST_JOB, ANGRY], db_url)
    assert [(s.situation, s.scenario, s.scenario_category, s.new) for s in first] == [
        ("lost job", "asks for time", "PAYMENT_DELAY", True),
        ("angry", "wants manager", "ESCALATION", True),
    ]
    again = add_situations([ANGRY, LOST_JOB, Situation("new", "one", "X")], db_url)
    by_text = {s.situation: s for s in again}
    assert by_text["angry"].situation_id == first[1].situation_id and not by_text["angry"].new
    assert by_text["lost job"].situation_id == first[0].situation_id and not by_text["lost job"].new
    assert by_text["new"].new
    rows = read_situations(db_url)
    assert len(rows) == 3 and all(row["is_valid"] for row in rows)
    row = next(r for r in rows if r["id"] == first[0].situation_id)
    assert row["created_at"].tzinfo is not None and row["invalidated_at"] is None
    assert row["situation_key"] == situation_key(LOST_JOB)


def test_an_invalidated_situation_is_not_reused(db_url: str) -> None:
    (first,) = add_situations([LOST_JOB], db_url)
    invalidate_situations([first.situation_id], database_url=db_url)
    (second,) = add_situations([LOST_JOB], db_url)
    assert second.new and second.situation_id != first.situation_id
    (third,) = add_situations([LOST_JOB], db_url)
    assert third.situation_id == second.situation_id and not third.new
    assert [row["id"] for row in _valid_rows(db_url)] == [second.situation_id]


def test_every_invalidation_outcome_with_its_audit(db_url: str) -> None:
    a, b = add_situations([LOST_JOB, ANGRY], db_url)
    result = invalidate_situations(
        [a.situation_id], reason="duplicate", invalidated_by="U123", database_url=db_url
    )
    assert result.outcomes == ((a.situation_id, InvalidationOutcome.INVALIDATED),)
    (row,) = read_situations(db_url, ids=[a.situation_id])
    assert row["is_valid"] is False
    assert (row["invalidated_by"], row["invalidation_reason"]) == ("U123", "duplicate")
    first_audit = (row["invalidated_at"], row["updated_at"])
    assert first_audit[0] is not None and first_audit[0] == first_audit[1]

    missing = 10_000
    result = invalidate_situations(
        [a.situation_id, b.situation_id, missing], reason="again", ignore_missing=True, database_url=db_url
    )
    assert result.outcomes == (
        (a.situation_id, InvalidationOutcome.ALREADY_INVALID),
        (b.situation_id, InvalidationOutcome.INVALIDATED),
        (missing, InvalidationOutcome.NOT_FOUND),
    )
    assert (result.count(InvalidationOutcome.INVALIDATED), result.ids(InvalidationOutcome.NOT_FOUND)) == (
        1,
        (missing,),
    )
    (row,) = read_situations(db_url, ids=[a.situation_id])
    assert (row["invalidated_at"], row["updated_at"]) == first_audit  # already invalid: left as it was
    assert row["invalidation_reason"] == "duplicate"

    rerun = invalidate_situations([a.situation_id, b.situation_id], database_url=db_url)
    assert {outcome for _, outcome in rerun.outcomes} == {InvalidationOutcome.ALREADY_INVALID}


def test_an_unknown_id_changes_nothing_unless_ignored(db_url: str) -> None:
    a, b = add_situations([LOST_JOB, ANGRY], db_url)
    with pytest.raises(UnknownSituationsError) as info:
        invalidate_situations([a.situation_id, 987654, b.situation_id, 987655], database_url=db_url)
    assert info.value.missing == (987654, 987655)
    assert "no situation with id 987654, 987655" in str(info.value) and "nothing was changed" in str(
        info.value
    )
    assert len(_valid_rows(db_url)) == 2


def test_invalidating_before_any_situation_exists(db_url: str) -> None:
    with pytest.raises(UnknownSituationsError):
        invalidate_situations([1], database_url=db_url)
    result = invalidate_situations([1], ignore_missing=True, database_url=db_url)
    assert result.outcomes == ((1, InvalidationOutcome.NOT_FOUND),)


def _legacy_table(url: str, valid_column: bool) -> None:
    """``situation_scenario_mapper`` as the reference created it (``is_valid`` added out of band, or not)."""
    engine = sa.create_engine(url)
    extra = ", is_valid BOOLEAN" if valid_column else ""
    serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE situation_scenario_mapper (id {serial} PRIMARY KEY, situation TEXT NOT NULL, "
            "scenario TEXT, scenario_category VARCHAR(511), created_at TIMESTAMP, "
            f"updated_at TIMESTAMP{extra})"
        )
        rows = [
            ("lost job", "asks for time", "PAYMENT_DELAY"),
            ("lost job", "asks for time", "PAYMENT_DELAY"),
        ]
        rows.append(("angry", "wants manager", "ESCALATION"))
        for situation, scenario, category in rows:
            values = {"s": situation, "sc": scenario, "c": category}
            columns, params = "situation, scenario, scenario_category", ":s, :sc, :c"
            if valid_column:
                columns, params = columns + ", is_valid", params + ", :v"
                values["v"] = category != "ESCALATION"
            conn.execute(
                sa.text(f"INSERT INTO situation_scenario_mapper ({columns}) VALUES ({params})"), values
            )
    engine.dispose()


def test_a_reference_table_without_is_valid_is_upgraded(db_url: str) -> None:
    _legacy_table(db_url, valid_column=False)
    results = add_situations([LOST_JOB, ANGRY], db_url)
    # the oldest of the reference's duplicate rows is the one reused; the old rows are all valid
    assert [(s.situation_id, s.new) for s in results] == [(1, False), (3, False)]
    rows = read_situations(db_url)
    assert [row["is_valid"] for row in rows] == [True, True, True]
    assert rows[1]["situation_key"] is None  # the duplicate keeps no key: never matched
    result = invalidate_situations([2], reason="dup", database_url=db_url)
    assert result.count(InvalidationOutcome.INVALIDATED) == 1


def test_a_reference_table_with_is_valid_keeps_its_invalid_rows(db_url: str) -> None:
    _legacy_table(db_url, valid_column=True)
    lost, angry = add_situations([LOST_JOB, ANGRY], db_url)
    assert (lost.situation_id, lost.new) == (1, False)
    assert angry.new and angry.situation_id > 3  # row 3 was invalid in the reference's table


def test_a_database_that_cannot_be_opened_is_named(tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SituationsStoreError, match=str(blocker)):
        add_situations([LOST_JOB], f"sqlite:///{blocker}/sub/x.db")


# ------------------------------------------------------------------ two processes adding the same situations

ROUNDS = 12


def _adder(url: str, barrier: Any, results: Any) -> None:
    for round_number in range(ROUNDS):
        situations = parse_situations(f"round {round_number}::same text::RACE|shared::always::RACE")
        barrier.wait(timeout=60)
        stored = add_situations(situations, url)
        results.put((round_number, [(s.situation_id, s.new) for s in stored]))


@pytest.mark.slow
def test_two_processes_adding_the_same_situations_make_one_row(db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [context.Process(target=_adder, args=(db_url, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    got = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    rows = read_situations(db_url)
    assert len(rows) == ROUNDS + 1  # one per round, and one "shared"
    for round_number in range(ROUNDS):
        (first, second) = [stored for number, stored in got if number == round_number]
        assert first[0][0] == second[0][0], "both processes got the same id"
        assert sorted([first[0][1], second[0][1]]) == [False, True], "exactly one inserted it"
    assert len({stored[1][0] for _, stored in got}) == 1  # "shared": one id throughout
