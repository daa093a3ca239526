"""The ``entity_metrics`` table on SQLite and PostgreSQL: rows, values, dates, and failures that raise."""

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from skit_pipelines.metrics.entity.evaluation import evaluate_entity_frame
from skit_pipelines.metrics.tagged import dataset_info
from skit_pipelines.stores.entity_metrics import (
    MetricsWriteError,
    entity_metrics,
    write_entity_metrics,
)


def ent(kind: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "value": value, "text": "t", "start": 0, "end": 4}


@pytest.fixture
def tagged() -> pd.DataFrame:
    turns = [
        ([ent("date", "2026-03-12")], [ent("date", "2026-03-12")]),  # date tp
        ([ent("date", "2026-03-12")], [ent("date", "2026-03-14")]),  # date mm
        ([ent("number", 4)], []),  # number fn
        ([], []),
    ]
    return pd.DataFrame(
        {
            "data_id": ["a", "b", "c", "d"],
            "truth_entities": [json.dumps(t) for t, _ in turns],
            "predicted_entities": [json.dumps(p) for _, p in turns],
            "raw.language": ["hi", "hi", "hi", "hi"],
            "raw.call_uuid": ["c1", "c1", "c2", "c3"],
            "raw.conversation_uuid": ["a", "b", "c", "d"],
            "reftime": [
                "2026-03-01T10:00:00+05:30",
                "2026-03-02T09:00:00+05:30",
                "2026-03-03T08:00:00+05:30",
                "2026-03-01T11:00:00+05:30",
            ],
            "tagged_time": ["2026-03-10T12:00:00", "", "2026-03-11T12:00:00", "2026-03-10T13:00:00"],
        }
    )


def test_rows_land_in_the_table(db_url: str, tagged: pd.DataFrame) -> None:
    evaluation = evaluate_entity_frame(tagged)
    info = dataset_info(tagged, timezone="Asia/Kolkata")
    created = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.timezone.utc)
    written = write_entity_metrics(
        evaluation,
        info,
        slu_name="banking",
        dataset_job_id="42",
        report_uri="/r.html",
        database_url=db_url,
        created_at=created,
    )
    assert written == 3  # date, number, overall
    # Appending a second evaluation keeps the first (a trend table).
    assert write_entity_metrics(evaluation, info, database_url=db_url) == 3

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        query = sa.select(entity_metrics).where(entity_metrics.c.slu_name == "banking")
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(entity_metrics.c.id))]
        total = conn.execute(sa.select(sa.func.count()).select_from(entity_metrics)).scalar_one()
    engine.dispose()
    assert total == 6
    by_name = {r["metric_name"]: r for r in rows}
    assert list(by_name) == ["date-entity", "number-entity", "overall-entity"]
    date = by_name["date-entity"]
    assert (date["support"], date["negatives"], date["mismatch_rate"]) == (2, 2, 0.5)
    assert (date["false_positive_rate"], date["false_negative_rate"]) == (0.0, 0.0)
    assert date["entity_error_rate"] == 0.5
    assert (date["language"], date["dataset_job_id"], date["n_calls"], date["n_turns"]) == ("hi", "42", 3, 4)
    assert date["report_uri"] == "/r.html"
    raw = date["raw"] if isinstance(date["raw"], dict) else json.loads(date["raw"])
    assert raw["Support"] == 2 and raw["tp"] == 1 and raw["mm"] == 1 and raw["all_entities"]["reference"] == 2

    def utc(value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.timezone.utc)

    assert utc(date["created_at"]) == created
    assert utc(date["calls_from_date"]) == dt.datetime(2026, 3, 1, 4, 30, tzinfo=dt.timezone.utc)
    assert utc(date["calls_to_date"]) == dt.datetime(2026, 3, 3, 2, 30, tzinfo=dt.timezone.utc)
    # naive tagged times are read in the evaluation's timezone (IST = UTC+5:30)
    assert utc(date["tagged_from_date"]) == dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.timezone.utc)

    overall = by_name["overall-entity"]  # micro-averages over the types: tp 1, mm 1, fn 1; negatives 2 + 3
    assert overall["false_negative_rate"] == pytest.approx(1 / 3)
    assert overall["mismatch_rate"] == pytest.approx(1 / 2)
    assert (overall["support"], overall["negatives"]) == (3, 5)
    assert overall["entity_error_rate"] == pytest.approx(2 / 3)
    overall_raw = overall["raw"] if isinstance(overall["raw"], dict) else json.loads(overall["raw"])
    assert {s["scheme"] for s in overall_raw["spans"]} == {"strict", "exact", "partial", "type"}


def test_a_failed_write_raises_and_writes_nothing(db_url: str, tagged: pd.DataFrame) -> None:
    # A table of that name with another shape: the insert must fail loudly (the reference swallowed it).
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE entity_metrics (id INTEGER PRIMARY KEY, metric_name TEXT)"))
    engine.dispose()
    evaluation = evaluate_entity_frame(tagged)
    with pytest.raises(MetricsWriteError, match="entity_metrics"):
        write_entity_metrics(evaluation, dataset_info(tagged), database_url=db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM entity_metrics")).scalar_one() == 0
    engine.dispose()


def test_an_unreachable_database_raises(tagged: pd.DataFrame) -> None:
    from tests.conftest import free_port

    url = f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/none?connect_timeout=2"
    with pytest.raises(MetricsWriteError) as info:
        write_entity_metrics(evaluate_entity_frame(tagged), dataset_info(tagged), database_url=url)
    assert "secret" not in str(info.value)  # the password is masked


def test_default_database_is_sqlite_in_skit_home(tagged: pd.DataFrame, isolated_settings: Any) -> None:
    assert write_entity_metrics(evaluate_entity_frame(tagged), dataset_info(tagged)) == 3
    assert (isolated_settings / "skit.db").exists()
