"""Tables of the run tracker (SQLAlchemy Core) and an engine that behaves under concurrent writers.

Why the database holds the truth: the API process, the worker processes running local pipelines and a
restarted API all read and write the same rows. A run exists as soon as its row does (before the HTTP
response), its final state and its pending notifications are written in one transaction, and a
notification is sent by whoever *claims* its row with a conditional UPDATE: exactly one claimer wins, on
SQLite and PostgreSQL alike.

SQLite: WAL lets readers run beside the writer, ``timeout`` makes a writer wait for the lock instead of
failing, and write transactions start with ``BEGIN IMMEDIATE`` (connections opened with
``execution_options(immediate=True)``) so two writers never deadlock upgrading read locks.
"""

from __future__ import annotations

import sqlalchemy as sa

from skit_pipelines.db import UtcDateTime

metadata = sa.MetaData()

TS = UtcDateTime()

runs = sa.Table(
    "api_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("pipeline_ref", sa.String(400), nullable=False, default=""),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("backend", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("arguments", sa.Text, nullable=False, default="{}"),
    sa.Column("webhook_uri", sa.Text, nullable=False, default=""),
    sa.Column("channel", sa.String(200), nullable=False, default=""),
    sa.Column("slack_thread", sa.String(100), nullable=False, default=""),
    sa.Column("created_by", sa.String(200), nullable=False, default=""),
    sa.Column("source", sa.String(20), nullable=False, default="http"),
    sa.Column("backend_run_id", sa.String(200), nullable=False, default=""),
    sa.Column("run_url", sa.Text, nullable=False, default=""),
    sa.Column("run_dir", sa.Text, nullable=False, default=""),
    sa.Column("outputs", sa.Text, nullable=False, default="{}"),
    sa.Column("step_states", sa.Text, nullable=False, default="{}"),
    sa.Column("failed_step", sa.String(200), nullable=False, default=""),
    sa.Column("error", sa.Text, nullable=False, default=""),
    sa.Column("error_logs", sa.Text, nullable=False, default=""),
    sa.Column("worker_pid", sa.Integer, nullable=True),
    sa.Column("worker_host", sa.String(200), nullable=False, default=""),
    sa.Column("heartbeat_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("started_at", TS, nullable=True),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("finished_at", TS, nullable=True),
    # Added after the first release (see ``upgrade``): nullable or defaulted on the server side.
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=False, server_default=""),
    sa.Column("notify_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    # The latest progress line of a running step (JSON: the step and its TrainingProgress), or "".
    sa.Column("progress", sa.Text, nullable=False, server_default=""),
)
sa.Index("ix_api_runs_namespace_created", runs.c.namespace, runs.c.created_at)
sa.Index("ix_api_runs_state", runs.c.state, runs.c.backend)
# One run per (user, namespace, Idempotency-Key); NULL keys (no header) never collide.
sa.Index(
    "ux_api_runs_idempotency",
    runs.c.created_by,
    runs.c.namespace,
    runs.c.idempotency_key,
    unique=True,
)

# One row per notification a run owes: kind "webhook" or "slack" (final), "webhook_pending" (started).
deliveries = sa.Table(
    "api_run_deliveries",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("api_runs.run_id"), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # pending, delivering, delivered, failed, skipped
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("first_attempt_at", TS, nullable=True),
    sa.Column("claimed_by", sa.String(100), nullable=False, default=""),
    sa.Column("claimed_at", TS, nullable=True),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("delivered_at", TS, nullable=True),
)
sa.Index("ix_api_run_deliveries_status", deliveries.c.status, deliveries.c.next_attempt_at)

# Every attempt of every delivery, for the status endpoint and for audits.
delivery_attempts = sa.Table(
    "api_delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=False, default=""),
    sa.Column("seconds", sa.Float, nullable=False, default=0.0),
)
sa.Index("ix_api_delivery_attempts_run", delivery_attempts.c.run_id, delivery_attempts.c.kind)

# Slack event ids already handled: Slack re-sends an event it thinks we missed.
slack_events = sa.Table(
    "api_slack_events",
    metadata,
    sa.Column("event_id", sa.String(100), primary_key=True),
    sa.Column("received_at", TS, nullable=False),
)


# Counters of the login rate limits (fixed windows), shared by every API process on the database: a key is
# the limit and a digest of the user name or client address, never the name itself.
rate_limits = sa.Table(
    "api_rate_limits",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # epoch seconds: the end of the window
)
sa.Index("ix_api_rate_limits_expires", rate_limits.c.expires_at)


# Recurring runs of the local (API) scheduler: one row per schedule. ``next_fire_at`` is the slot to fire
# next; a scheduler fires a slot only after moving ``next_fire_at`` past it with a compare-and-set UPDATE
# (``WHERE next_fire_at = <the slot it read>``), so of two API processes exactly one fires each slot.
schedules = sa.Table(
    "api_schedules",
    metadata,
    sa.Column("schedule_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("cron", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, default="UTC"),
    sa.Column("payload", sa.Text, nullable=False, default="{}"),  # the request body each run is made from
    sa.Column("state", sa.String(20), nullable=False),  # active, paused
    sa.Column("next_fire_at", TS, nullable=True),
    sa.Column("last_fired_at", TS, nullable=True),
    sa.Column("last_run_id", sa.String(64), nullable=False, default=""),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("fired_count", sa.Integer, nullable=False, default=0),
    sa.Column("created_by", sa.String(200), nullable=False, default=""),
    sa.Column("source", sa.String(20), nullable=False, default="http"),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)
sa.Index("ix_api_schedules_due", schedules.c.state, schedules.c.next_fire_at)
sa.Index("ix_api_schedules_namespace", schedules.c.namespace, schedules.c.created_at)


def create_tables(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
    upgrade(engine)


def upgrade(engine: sa.Engine) -> list[str]:
    """Bring tables made by an older version up to date; returns the columns and indexes it added.

    Why additive only: an older API or worker may still be running on the same database during a rolling
    upgrade; new columns are nullable or have a server default, so the old code's INSERTs keep working.
    Every added column is listed in ``metadata`` with such a default; nothing is ever dropped or renamed.
    """
    added: list[str] = []
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")
            added.append(f"{table.name}.{column.name}")
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(engine, checkfirst=True)
                added.append(f"{table.name}.{index.name}")
    return added
