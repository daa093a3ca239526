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

from skit_pipelines.config import get_settings, mask_url_password
from skit_pipelines.db import UtcDateTime, create_engine, ensure_sqlite_parent
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.warehouse.schema import JSONType

__all__ = [
    "MetricsWriteError",
    "insert_rows",
    "intent_metrics",
    "json_safe",
    "metrics_table",
    "read_intent_metrics",
    "write_intent_metrics",
]

metadata = sa.MetaData()


def metrics_table(
    name: str, metadata: sa.MetaData, measures: Sequence[sa.Column], link: str, *extra: sa.schema.SchemaItem
) -> sa.Table:
    """A metrics table: what was measured on which data, ``measures``, when, a ``link`` column and ``raw``.

    Why one definition: ``intent_metrics`` and ``entity_metrics`` share the reference's identifying and date
    columns, in the reference's order; writing them once keeps the two tables from drifting apart.
    ``extra`` takes indexes and constraints.
    """
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("slu_name", sa.String(200)),
        sa.Column("dataset_job_id", sa.String(200)),
        sa.Column("language", sa.String(32)),
        sa.Column("metric_name", sa.String(200), nullable=False),
        sa.Column("n_calls", sa.Integer),
        sa.Column("n_turns", sa.Integer),
        *measures,
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("calls_from_date", UtcDateTime()),
        sa.Column("calls_to_date", UtcDateTime()),
        sa.Column("tagged_from_date", UtcDateTime()),
        sa.Column("tagged_to_date", UtcDateTime()),
        sa.Column(link, sa.Text),
        sa.Column("raw", JSONType),
        *extra,
    )


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


class MetricsWriteError(SkitPipelinesError, RuntimeError):
    """Writing metric rows failed; the message names the table and the (password-masked) database."""


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf replaced by None and numpy scalars as Python numbers (JSONB rejects NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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


def insert_rows(table: sa.Table, rows: Sequence[Mapping[str, Any]], database_url: str = "") -> int:
    """Insert ``rows`` into ``table`` (created if missing) in one transaction; return how many were written.

    Why a failure raises :class:`MetricsWriteError` (naming the table and the password-masked database)
    instead of being logged: the reference swallowed it, so a run looked green with nothing written.
    ``database_url`` defaults to ``SKIT_DATABASE_URL`` (SQLite under ``SKIT_HOME`` when unset).
    """
    url = database_url or get_settings().effective_database_url
    try:
        ensure_sqlite_parent(url)
        engine = create_engine(url, bulk_writes=True)
    except Exception as exc:
        raise MetricsWriteError(f"cannot open the metrics database {mask_url_password(url)}: {exc}") from exc
    try:
        table.metadata.create_all(engine, tables=[table])
        with engine.begin() as conn:
            conn.execute(table.insert(), list(rows))
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise MetricsWriteError(
            f"writing {len(rows)} rows to {table.name} in {mask_url_password(url)} failed: "
            f"{type(exc).__name__}: {first_line}"
        ) from exc
    finally:
        engine.dispose()
    return len(rows)


def read_intent_metrics(database_url: str = "", slu_name: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``intent_metrics`` (optionally one SLU's), oldest first; [] when the table does not exist."""
    url = database_url or get_settings().effective_database_url
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
