"""The ``entity_metrics`` table (spec 5.2): the rows of one entity evaluation, written in one transaction.

Why SQLAlchemy Core: one table definition and one insert that work on SQLite (the embedded default,
``SKIT_DATABASE_URL`` unset) and PostgreSQL (production), with no ORM objects. The table is created when
missing; rows of one evaluation go in one transaction, and any failure raises — the reference logged
and swallowed it, so a run looked green with nothing written (spec 14, item 19).

Columns: the reference's ``slu_name, dataset_job_id, language, metric_name ("{entity}-entity"), n_calls,
n_turns, false_positive_rate, false_negative_rate, mismatch_rate, support, negatives, created_at,
calls_from_date, calls_to_date, tagged_from_date, tagged_to_date, raw`` plus ``id`` (primary key),
``entity_error_rate`` (the all-entities rate of that type) and ``report_uri`` (the HTML report).
One row per entity type of the first-entity report, and one ``overall-entity`` row whose rates are
micro-averaged over the types (sums of fp, fn, mm, tp and negatives) and whose ``raw`` also holds the
all-entities and span scores. ``raw`` of a type row is its report row plus its counts and its
all-entities scores. Times are stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from skit_pipelines.metrics.entity.evaluation import EntityEvaluation
from skit_pipelines.metrics.json_values import json_safe
from skit_pipelines.metrics.tagged import DatasetInfo
from skit_pipelines.stores.tables import MetricsWriteError, insert_rows, metrics_table

__all__ = [
    "MetricsWriteError",
    "entity_metrics",
    "metadata",
    "metric_rows",
    "write_entity_metrics",
]

metadata = sa.MetaData()

entity_metrics = metrics_table(
    "entity_metrics",
    metadata,
    [
        sa.Column("false_positive_rate", sa.Float),
        sa.Column("false_negative_rate", sa.Float),
        sa.Column("mismatch_rate", sa.Float),
        sa.Column("support", sa.Integer),
        sa.Column("negatives", sa.Integer),
        sa.Column("entity_error_rate", sa.Float),
    ],
    "report_uri",
)


# --------------------------------------------------------------------------------------------- writing


_clean = json_safe


def _rate(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def metric_rows(
    evaluation: EntityEvaluation,
    info: DatasetInfo,
    *,
    slu_name: str = "",
    dataset_job_id: str = "",
    report_uri: str = "",
    created_at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The rows one evaluation adds to ``entity_metrics`` (one per entity type, then ``overall-entity``)."""
    created = created_at or dt.datetime.now(dt.timezone.utc)
    common = {
        "slu_name": slu_name,
        "dataset_job_id": dataset_job_id,
        "language": info.language,
        "n_calls": info.n_calls,
        "n_turns": info.n_turns,
        "created_at": created,
        "calls_from_date": info.calls_from_date,
        "calls_to_date": info.calls_to_date,
        "tagged_from_date": info.tagged_from_date,
        "tagged_to_date": info.tagged_to_date,
        "report_uri": report_uri,
    }
    every = evaluation.all_entities.to_dict(orient="index")  # per-column dtypes kept (ints stay ints)
    counts = evaluation.first.counts.to_dict(orient="index")
    rows = []
    for kind, r in evaluation.first.report.to_dict(orient="index").items():
        all_row = every.get(kind)
        raw = {**{k: _clean(v) for k, v in r.items()}, **{k: _clean(v) for k, v in counts[kind].items()}}
        if all_row is not None:
            raw["all_entities"] = {k: _clean(v) for k, v in all_row.items()}
        rows.append(
            {
                **common,
                "metric_name": f"{kind}-entity",
                "false_positive_rate": float(r["FPR"]),
                "false_negative_rate": float(r["FNR"]),
                "mismatch_rate": float(r["Mismatch Rate"]),
                "support": int(r["Support"]),
                "negatives": int(r["Negatives"]),
                "entity_error_rate": None if all_row is None else float(all_row["entity_error_rate"]),
                "raw": raw,
            }
        )
    count_frame = evaluation.first.counts
    tp, fp, fn, mm, negatives, support = (
        int(count_frame[col].sum()) for col in ("tp", "fp", "fn", "mm", "negatives", "support")
    )
    overall = every["overall"]
    spans = evaluation.spans.table
    rows.append(
        {
            **common,
            "metric_name": "overall-entity",
            "false_positive_rate": _rate(fp, negatives),
            "false_negative_rate": _rate(fn, fn + tp + mm),
            "mismatch_rate": _rate(mm, tp + mm),
            "support": support,
            "negatives": negatives,
            "entity_error_rate": float(overall["entity_error_rate"]),
            "raw": {
                "first_entity": {
                    "tp": tp,
                    "fp": fp,
                    "fn": fn,
                    "mm": mm,
                    "support": support,
                    "negatives": negatives,
                },
                "all_entities": {k: _clean(v) for k, v in overall.items()},
                "spans": [
                    {k: _clean(v) for k, v in rec.items()}
                    for rec in spans[spans["entity"] == "overall"].to_dict(orient="records")
                ],
                "headline": {k: _clean(v) for k, v in evaluation.headline().items()},
            },
        }
    )
    return rows


def write_entity_metrics(
    evaluation: EntityEvaluation,
    info: DatasetInfo,
    *,
    slu_name: str = "",
    dataset_job_id: str = "",
    report_uri: str = "",
    database_url: str = "",
    created_at: dt.datetime | None = None,
) -> int:
    """Insert the evaluation's rows into ``entity_metrics`` (created if missing); returns the row count.

    One transaction: all rows or none. Any failure raises :class:`MetricsWriteError` naming the table and
    the database (password masked), which fails the pipeline step.
    """
    rows = metric_rows(
        evaluation,
        info,
        slu_name=slu_name,
        dataset_job_id=dataset_job_id,
        report_uri=report_uri,
        created_at=created_at,
    )
    return insert_rows(entity_metrics, rows, database_url)
