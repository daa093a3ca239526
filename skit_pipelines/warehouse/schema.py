"""The call warehouse: a ``calls`` table and a ``turns`` table, in SQLAlchemy Core.

Why Core and not the ORM: sampling reads and bulk loading write hundreds of thousands of rows; Core keeps
them as plain tuples and dicts, with one schema that works on SQLite (the embedded default) and on
PostgreSQL (production). Times are stored in UTC by :class:`~skit_pipelines.db.UtcDateTime` because
SQLite has no timezone-aware type; the client's own timezone is kept per call so reports can convert back.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from skit_pipelines.db import UtcDateTime, create_engine
from skit_pipelines.db import ensure_sqlite_parent as ensure_sqlite_parent  # re-exported: callers of schema.*
from skit_pipelines.errors import SkitPipelinesError

CALL_TYPES = ("INBOUND", "OUTBOUND", "CALL_TEST")


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData()

calls = sa.Table(
    "calls",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("client_id", sa.String(64), nullable=False, comment="Organisation / client id"),
    sa.Column("client_uuid", sa.String(36)),
    sa.Column("flow_id", sa.String(64)),
    sa.Column("flow_uuid", sa.String(36)),
    sa.Column("flow_name", sa.String(200)),
    sa.Column("flow_version", sa.String(32)),
    sa.Column("template_id", sa.String(64)),
    sa.Column("use_case", sa.String(100)),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("call_type", sa.String(16), nullable=False, comment="INBOUND, OUTBOUND or CALL_TEST"),
    sa.Column("caller_number", sa.String(32)),
    sa.Column("virtual_number", sa.String(32)),
    sa.Column("asr_provider", sa.String(32)),
    sa.Column("disposition", sa.String(64)),
    sa.Column("call_end_status", sa.String(64)),
    sa.Column("call_duration", sa.Float, comment="seconds"),
    sa.Column("reported", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("call_url", sa.Text),
    sa.Column("start_time", UtcDateTime, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, comment="IANA timezone of the client"),
    sa.CheckConstraint("call_type IN ('INBOUND', 'OUTBOUND', 'CALL_TEST')", name="ck_calls_call_type"),
    # Sampling always filters on a time range and a language, then narrows by client or flow.
    sa.Index("ix_calls_language_start_time", "language", "start_time"),
    sa.Index("ix_calls_client_start_time", "client_id", "start_time"),
    sa.Index("ix_calls_flow_id", "flow_id"),
    sa.Index("ix_calls_template_id", "template_id"),
)

turns = sa.Table(
    "turns",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True, comment="conversation_uuid"),
    sa.Column(
        "call_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("calls.id"),
        nullable=False,
    ),
    sa.Column("reftime", UtcDateTime, nullable=False),
    sa.Column("state", sa.String(100)),
    sa.Column("utterances", JSONType, comment="ASR n-best: list of lists of {transcript, confidence}"),
    sa.Column("bot_response", sa.Text),
    sa.Column("context", JSONType),
    sa.Column("prediction", JSONType, comment="production SLU response"),
    sa.Column("intent", sa.String(100)),
    sa.Column("intent_score", sa.Float),
    sa.Column("slots", JSONType),
    sa.Column("entities", JSONType),
    sa.Column("audio_url", sa.Text),
    sa.Column("asr_latency", sa.Float, comment="seconds"),
    sa.Column("slu_latency", sa.Float, comment="seconds"),
    sa.Index("ix_turns_call_id_reftime", "call_id", "reftime"),
    sa.Index("ix_turns_intent", "intent"),
    sa.Index("ix_turns_state", "state"),
)

# What a warehouse is: ``kind=demo`` marks one written by the demo data generator (which may then replace
# its rows); a warehouse without the marker holds somebody's real calls.
skit_metadata = sa.Table(
    "skit_metadata",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

FILL_HINT = "run `skit-pipelines demo-data` to build a demo warehouse or set SKIT_WAREHOUSE_URL"


class WarehouseUnavailableError(SkitPipelinesError, RuntimeError):
    """The call warehouse does not exist or lacks its tables; the message names it and says how to fill it."""


def describe_url(url: str) -> str:
    """``url`` with its password hidden, and a SQLite file's absolute path (which folder was it, really?)."""
    parsed = sa.engine.make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute() and not parsed.query.get("uri"):
            shown += f" ({path.resolve()})"
    return shown


def open_warehouse(url: str) -> sa.Engine:
    """An engine on an existing warehouse with ``calls`` and ``turns``; creates no file and no table.

    Why check first: SQLite creates a missing file on connect, so a run from the wrong folder used to leave
    an empty database behind and fail with a raw "no such table: calls".
    """
    parsed = sa.engine.make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
        and not parsed.query.get("uri")
        and not Path(parsed.database).is_file()
    ):
        raise WarehouseUnavailableError(f"the call warehouse {describe_url(url)} does not exist; {FILL_HINT}")
    probe = sa.create_engine(url)  # no pragmas: looking must not write (WAL mode writes to an empty file)
    try:
        with probe.connect() as conn:
            inspector = sa.inspect(conn)
            missing = [table.name for table in (calls, turns) if not inspector.has_table(table.name)]
    finally:
        probe.dispose()
    if missing:
        raise WarehouseUnavailableError(
            f"the call warehouse {describe_url(url)} has no {' and no '.join(missing)} table "
            f"(is it empty?); {FILL_HINT}"
        )
    return create_engine(url, bulk_writes=True)


def create_schema(engine: sa.Engine) -> None:
    """Create the tables and indexes if they do not exist yet."""
    metadata.create_all(engine)


def drop_schema(engine: sa.Engine) -> None:
    metadata.drop_all(engine)
