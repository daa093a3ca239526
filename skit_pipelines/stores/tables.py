"""What the metrics tables share: their columns, their error, and the one insert that writes them.

Why SQLAlchemy Core: one table definition and one insert for SQLite (the embedded default) and PostgreSQL
(production), in the database of ``SKIT_DATABASE_URL``. Tables are created if absent, so a fresh machine
needs no migration step. Unlike the reference, which logged and swallowed every database error (spec 14
item 19) so a run looked green with nothing written, a failed write raises :class:`MetricsWriteError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from skit_pipelines import runtime
from skit_pipelines.config import mask_url_password
from skit_pipelines.db import UtcDateTime, create_engine, ensure_sqlite_parent
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.warehouse.schema import JSONType

__all__ = [
    "MetricsWriteError",
    "database_url_or_default",
    "dialect_insert",
    "failure_summary",
    "insert_rows",
    "metrics_table",
]


def database_url_or_default(database_url: str = "") -> str:
    """``database_url``, else the configured one (``SKIT_DATABASE_URL``, or SQLite under ``SKIT_HOME``).

    Why here and not in the metrics: computing a metric needs no settings; only the edge that writes the
    rows knows where they go. The entry point put the settings' URL in the runtime configuration
    (:mod:`skit_pipelines.runtime`).
    """
    if database_url:
        return database_url
    configured = runtime.current().database_url
    if not configured:
        raise MetricsWriteError(
            "no metrics database: the runtime configuration has no database_url (set SKIT_DATABASE_URL, or "
            "configure the runtime with Settings.runtime())"
        )
    return configured


def dialect_insert(dialect_name: str, table: sa.Table) -> Any:
    """An INSERT into ``table`` that accepts ``on_conflict_do_*`` on the connection's backend (PostgreSQL,
    else SQLite): what every idempotent store write (situations, conversations, verdicts) is built on."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


def failure_summary(exc: BaseException) -> str:
    """``<error type>: <first line>`` of a failed database call, for a store's error message: the lines after
    the first hold the SQL and its parameters, which may carry the user's data."""
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line}"


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


class MetricsWriteError(SkitPipelinesError, RuntimeError):
    """Writing metric rows failed; the message names the table and the (password-masked) database."""


def insert_rows(table: sa.Table, rows: Sequence[Mapping[str, Any]], database_url: str = "") -> int:
    """Insert ``rows`` into ``table`` (created if missing) in one transaction; return how many were written.

    Why a failure raises :class:`MetricsWriteError` (naming the table and the password-masked database)
    instead of being logged: the reference swallowed it, so a run looked green with nothing written.
    ``database_url`` defaults to ``SKIT_DATABASE_URL`` (SQLite under ``SKIT_HOME`` when unset).
    """
    url = database_url_or_default(database_url)
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
        raise MetricsWriteError(
            f"writing {len(rows)} rows to {table.name} in {mask_url_password(url)} failed: "
            f"{failure_summary(exc)}"
        ) from exc
    finally:
        engine.dispose()
    return len(rows)
