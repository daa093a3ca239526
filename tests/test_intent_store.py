"""The intent_metrics table on SQLite and PostgreSQL: rows written once per category, failures raise."""

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from skit_pipelines.metrics.intent.evaluation import evaluate_intents
from skit_pipelines.metrics.intent.scores import LayersSpec
from skit_pipelines.metrics.tagged import dataset_info
from skit_pipelines.stores.intent_metrics import (
    MetricsWriteError,
    metric_rows,
    read_intent_metrics,
    write_intent_metrics,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def tagged_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "data_id": ["t1", "t2", "t3", "t4"],
            "intent_y": ["_confirm_", "_cancel_", "_confirm_", "ood"],
            "raw.intent": ["_confirm_", "_confirm_", "_confirm_", "oos"],
            "raw.language": ["en"] * 4,
            "raw.call_uuid": ["c1", "c1", "c2", "c2"],
            "raw.conversation_uuid": ["t1", "t2", "t3", "t4"],
            "reftime": [
                "2026-03-01T10:00:00+05:30",
                "2026-03-01T10:01:00+05:30",
                "2026-03-02T11:00:00+05:30",
                "2026-03-02T11:02:00+05:30",
            ],
            "tagged_time": ["2026-03-05T08:00:00Z"] * 4,
        }
    )


def rows_for(frame: pd.DataFrame) -> list[dict]:
    evaluation = evaluate_intents(
        frame,
        groups={"smalltalk_intents": ["_confirm_", "_cancel_"]},
        layers=LayersSpec(true_layers={"lexical_oos": ["ood"]}, pred_layers={"oos": ["oos"]}),
    )
    return metric_rows(
        evaluation,
        dataset_info(frame, "Asia/Kolkata"),
        slu_name="acme-slu",
        dataset_job_id="42",
        reference_url="s3://bucket/report.html",
    )


def test_rows_round_trip(db_url: str) -> None:
    rows = rows_for(tagged_frame())
    assert write_intent_metrics(rows, db_url) == 3
    stored = read_intent_metrics(db_url)
    assert [r["metric_name"] for r in stored] == ["overall-intents", "smalltalk-intents", "layers-intents"]
    overall = stored[0]
    assert (overall["slu_name"], overall["dataset_job_id"], overall["language"]) == ("acme-slu", "42", "en")
    assert (overall["n_calls"], overall["n_turns"], overall["support"]) == (2, 4, 4)
    # weighted avg: _cancel_ (P 0, R 0, 1 turn), _confirm_ (P 2/3, R 1, 2 turns), ood (0, 0, 1 turn)
    assert overall["precision"] == pytest.approx(2 * (2 / 3) / 4)
    assert overall["recall"] == pytest.approx(0.5)
    assert overall["calls_from_date"] == dt.datetime(2026, 3, 1, 10, 0, tzinfo=IST)
    assert overall["calls_from_date"].tzinfo is not None
    assert overall["tagged_to_date"] == dt.datetime(2026, 3, 5, 8, 0, tzinfo=dt.timezone.utc)
    assert overall["reference_url"] == "s3://bucket/report.html"
    raw = overall["raw"]
    assert raw["accuracy"] == {"precision": None, "recall": None, "f1-score": 0.5, "support": 4}
    assert raw["_confirm_"]["support"] == 2
    layers = stored[2]
    assert layers["precision"] is None and layers["support"] == 1
    assert set(layers["raw"]) == {"layer-lexical_oos", "layer-oos"}
    # A second run appends: metrics are trended over time.
    write_intent_metrics(rows_for(tagged_frame()), db_url)
    assert len(read_intent_metrics(db_url, slu_name="acme-slu")) == 6


def test_default_database_is_sqlite_in_skit_home(isolated_settings) -> None:
    assert write_intent_metrics(rows_for(tagged_frame())) == 3
    assert (isolated_settings / "skit.db").exists()
    assert len(read_intent_metrics()) == 3


def test_a_failed_write_raises_and_writes_nothing(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # an incompatible table of the same name
        conn.execute(sa.text("CREATE TABLE intent_metrics (id INTEGER PRIMARY KEY, other TEXT)"))
    engine.dispose()
    with pytest.raises(MetricsWriteError, match="writing 3 rows to intent_metrics"):
        write_intent_metrics(rows_for(tagged_frame()), db_url)


def test_unreachable_database_raises(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MetricsWriteError, match="metrics database"):
        write_intent_metrics(rows_for(tagged_frame()), f"sqlite:///{blocker}/sub/metrics.db")
    with pytest.raises(ValueError, match="metric_name"):
        write_intent_metrics([{"precision": 1.0}])
