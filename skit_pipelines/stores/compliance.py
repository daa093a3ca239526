"""The ``compliance_breaches`` table: one row per audited call, judge and prompt, updated on a re-run.

In the metrics database (``SKIT_DATABASE_URL``: SQLite embedded, PostgreSQL in production), created when
first used like the other metrics tables (``CREATE TABLE`` only when absent, under an advisory lock on
PostgreSQL, not on every run as the reference did). What changed from the reference (spec 8.1, 14 item 20):

- text columns are ``TEXT``, not ``CHAR(n)``, which padded short values and cut long transcripts;
- a call's verdict is unique on ``(call_uuid, prompt_version, model)``, so auditing the same calls again
  **updates** their rows (``INSERT ... ON CONFLICT DO UPDATE`` on both backends) instead of inserting
  duplicates, while a new prompt or model adds rows next to the old ones (verdicts stay comparable);
- a call the judge could not decide is stored too (``is_breach`` NULL, ``judge_error`` says why), but it
  never overwrites a verdict that an earlier run reached: a flaky re-run cannot erase an audit result.
- ``judge``, ``explanation``, ``evidence_turn``, ``judge_error`` and the run times are kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from skit_pipelines.config import mask_url_password
from skit_pipelines.db import UtcDateTime, create_engine, ensure_sqlite_parent
from skit_pipelines.stores.tables import (
    MetricsWriteError,
    database_url_or_default,
    dialect_insert,
    failure_summary,
)

__all__ = ["TEXT_COLUMNS", "compliance_breaches", "read_breaches", "upsert_breaches"]

metadata = sa.MetaData()

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LOCK_KEY = 0x5C1752  # pg_advisory_xact_lock key: one creation of the table at a time

#: The text columns a row carries (everything but the key parts, the numbers and the times).
TEXT_COLUMNS: tuple[str, ...] = (
    "call_id",
    "audio_url",
    "call_url",
    "flow_uuid",
    "client_uuid",
    "judge",
    "compliance_output",
    "call_information",
    "explanation",
    "judge_error",
)

compliance_breaches = sa.Table(
    "compliance_breaches",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("call_uuid", sa.Text, nullable=False),
    sa.Column("call_id", sa.Text),
    sa.Column("audio_url", sa.Text),
    sa.Column("call_url", sa.Text),
    sa.Column("flow_uuid", sa.Text),
    sa.Column("client_uuid", sa.Text),
    sa.Column("reftime", UtcDateTime()),
    sa.Column("is_breach", sa.Boolean),
    sa.Column("judge", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("prompt_version", sa.Text, nullable=False),
    sa.Column("compliance_output", sa.Text),
    sa.Column("explanation", sa.Text),
    sa.Column("evidence_turn", sa.Integer),
    sa.Column("judge_error", sa.Text, nullable=False, server_default=""),
    sa.Column("tokens_consumed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("call_information", sa.Text),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint(
        "call_uuid", "prompt_version", "model", name="uq_compliance_breaches_call_prompt_model"
    ),
)

_KEY = ("call_uuid", "prompt_version", "model")


def _open(database_url: str) -> tuple[sa.Engine, str]:
    url = database_url_or_default(database_url)
    try:
        ensure_sqlite_parent(url)
        return create_engine(url, bulk_writes=True), url
    except Exception as exc:
        raise MetricsWriteError(f"cannot open the metrics database {mask_url_password(url)}: {exc}") from exc


def ensure_table(engine: sa.Engine) -> None:
    """Create ``compliance_breaches`` when absent (one process at a time on PostgreSQL)."""
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
        metadata.create_all(conn, checkfirst=True)


def _upsert(dialect_name: str) -> Any:
    table = compliance_breaches
    insert = dialect_insert(dialect_name, table)
    updated = {
        c.name: insert.excluded[c.name] for c in table.columns if c.name not in ("id", "created_at", *_KEY)
    }
    # an undecided call (judge_error) never replaces a verdict an earlier run reached
    keep_verdicts = sa.or_(insert.excluded.judge_error == "", table.c.is_breach.is_(None))
    return insert.on_conflict_do_update(index_elements=list(_KEY), set_=updated, where=keep_verdicts)


def upsert_breaches(rows: Sequence[Mapping[str, Any]], database_url: str = "") -> int:
    """Insert or update ``rows`` (keyed on call_uuid, prompt_version, model) in one transaction.

    Each row has the table's columns but ``id``, ``created_at`` and ``updated_at``. Returns how many rows
    were given; a failure raises :class:`MetricsWriteError` naming the table and the masked database.
    """
    if not rows:
        return 0
    now = dt.datetime.now(dt.timezone.utc)
    values = [{**row, "created_at": now, "updated_at": now} for row in rows]
    engine, url = _open(database_url)
    try:
        ensure_table(engine)
        with engine.connect().execution_options(immediate=True) as conn, conn.begin():
            conn.execute(_upsert(conn.dialect.name), values)
    except Exception as exc:
        raise MetricsWriteError(
            f"writing {len(values)} rows to compliance_breaches in {mask_url_password(url)} failed: "
            f"{failure_summary(exc)}"
        ) from exc
    finally:
        engine.dispose()
    return len(values)


def read_breaches(database_url: str = "") -> list[dict[str, Any]]:
    """Every row of ``compliance_breaches`` by id; [] when the table does not exist yet."""
    engine, _ = _open(database_url)
    try:
        if not sa.inspect(engine).has_table(compliance_breaches.name):
            return []
        with engine.connect() as conn:
            query = sa.select(compliance_breaches).order_by(compliance_breaches.c.id)
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()
