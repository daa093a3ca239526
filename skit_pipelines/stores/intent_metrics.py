"""The ``intent_metrics`` table: one row per evaluation category, for trends over time (spec 5.1, "mlwr").

Why SQLAlchemy Core: one table definition and one insert for SQLite (the embedded default) and PostgreSQL
(production), in the database of ``SKIT_DATABASE_URL``. The table is created if absent, so a fresh
machine needs no migration step. Unlike the reference, which logged and swallowed every database error
(spec 14 item 19) so a run looked green with nothing written, a failed write raises
:class:`MetricsWriteError` and fails the step. All rows of a run go in one transaction: all or nothing.

Columns are the reference's (``slu_name, dataset_job_id, language, metric_name, n_calls, n_turns,
precision, recall, f1, support, created_at, calls_from_date, calls_to_date, tagged_from_date,
tagged_to_date, reference_url, raw``) plus an ``id``. Times are stored in UTC on every backend.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from skit_pipelines.db import create_engine, ensure_sqlite_parent
from skit_pipelines.metrics.intent.evaluation import IntentEvaluation
from skit_pipelines.metrics.json_values import json_safe
from skit_pipelines.metrics.tagged import DatasetInfo
from skit_pipelines.stores.tables import (
    MetricsWriteError,
    database_url_or_default,
    insert_rows,
    metrics_table,
)

__all__ = [
    "MetricsWriteError",
    "intent_metrics",
    "metric_rows",
    "read_intent_metrics",
    "write_intent_metrics",
]

metadata = sa.MetaData()


intent_metrics = metrics_table(
    "intent_metrics",
    metadata,
    [
        sa.Column("precision", sa.Float),
        sa.Column("recall", sa.Float),
        sa.Column("f1", sa.Float),
        sa.Column("support", sa.Integer),
    ],
    "reference_url",
    sa.Index("ix_intent_metrics_slu_metric_created", "slu_name", "metric_name", "created_at"),
)

COLUMNS = tuple(c.name for c in intent_metrics.columns if c.name != "id")


def _row(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown intent_metrics columns: {', '.join(sorted(unknown))}")
    if not values.get("metric_name"):
        raise ValueError("every intent_metrics row needs a metric_name")
    row = {column: values.get(column) for column in COLUMNS}
    row["created_at"] = row["created_at"] or dt.datetime.now(dt.timezone.utc)
    for column in ("precision", "recall", "f1"):
        if row[column] is not None:
            row[column] = float(row[column])
            if not math.isfinite(row[column]):
                row[column] = None
    for column in ("support", "n_calls", "n_turns"):
        if row[column] is not None:
            row[column] = int(row[column])
    row["raw"] = json_safe(row["raw"])
    return row


def write_intent_metrics(rows: Sequence[Mapping[str, Any]], database_url: str = "") -> int:
    """Insert ``rows`` (dicts of the table's columns) in one transaction; return how many were written.

    ``database_url`` defaults to ``SKIT_DATABASE_URL`` (SQLite under ``SKIT_HOME`` when unset). The table
    is created if it does not exist. Any failure raises :class:`MetricsWriteError`.
    """
    prepared = [_row(values) for values in rows]
    if not prepared:
        return 0
    return insert_rows(intent_metrics, prepared, database_url)


def read_intent_metrics(database_url: str = "", slu_name: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``intent_metrics`` (optionally one SLU's), oldest first; [] when the table does not exist."""
    url = database_url_or_default(database_url)
    ensure_sqlite_parent(url)
    engine = create_engine(url, bulk_writes=True)
    try:
        if not sa.inspect(engine).has_table("intent_metrics"):
            return []
        query = sa.select(intent_metrics).order_by(intent_metrics.c.created_at, intent_metrics.c.id)
        if slu_name is not None:
            query = query.where(intent_metrics.c.slu_name == slu_name)
        with engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()
    for row in rows:
        if isinstance(row.get("raw"), str):
            row["raw"] = json.loads(row["raw"])
    return rows


def metric_rows(
    evaluation: IntentEvaluation,
    info: DatasetInfo,
    *,
    slu_name: str,
    dataset_job_id: str,
    reference_url: str,
) -> list[dict[str, Any]]:
    """One ``intent_metrics`` row per category (``<category>-intents``), as spec 5.1."""
    rows = []
    for category, values in evaluation.categories().items():
        rows.append(
            {
                "slu_name": slu_name or None,
                "dataset_job_id": dataset_job_id or None,
                "language": info.language,
                "metric_name": f"{category}-intents",
                "n_calls": info.n_calls,
                "n_turns": info.n_turns,
                "precision": values["precision"],
                "recall": values["recall"],
                "f1": values["f1"],
                "support": values["support"],
                "calls_from_date": info.calls_from_date,
                "calls_to_date": info.calls_to_date,
                "tagged_from_date": info.tagged_from_date,
                "tagged_to_date": info.tagged_to_date,
                "reference_url": reference_url,
                "raw": values["raw"],
            }
        )
    return rows
