"""The run tracker's reads and writes: runs, their notifications (deliveries) and every delivery attempt.

Every state change that others act upon is a conditional UPDATE whose ``rowcount`` says who won:
- queued local runs are claimed together with a worker slot (``PENDING`` → ``RUNNING``) in one transaction
  that counts the running ones under a database lock, so every API process on the database shares one
  limit;
- a run becomes final once (a late or duplicate report cannot overwrite it), and in the same transaction
  the notifications it owes are inserted, so a final run without its pending webhook cannot exist;
- a delivery is claimed by one sender (``pending`` → ``delivering``) and its outcome recorded with the
  attempt. A claim left by a process that died mid-delivery is taken back after ``claim_timeout``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from skit_pipelines.api import db
from skit_pipelines.db import create_engine, ensure_sqlite_parent
from skit_pipelines.runner.base import FINAL_STATES, RunState

FINAL = tuple(s.value for s in FINAL_STATES)
HOST = socket.gethostname()
# Deliveries a run can owe: its final webhook, its "started" webhook (opt-in) and its Slack thread message.
WEBHOOK, PENDING_WEBHOOK, SLACK = "webhook", "webhook_pending", "slack"
# Any key will do as long as every process uses the same one: it serialises slot claims on PostgreSQL.
DISPATCH_LOCK_KEY = 0x5C17_0001


def storable(text: str) -> str:
    """Text the database accepts: PostgreSQL refuses NUL in text columns, and one NUL in a log tail must
    not make a run's result unwritable (that once stalled the whole queue)."""
    return text.replace("\x00", "\N{REPLACEMENT CHARACTER}") if "\x00" in text else text


def _storable_values(values: dict[str, Any]) -> dict[str, Any]:
    return {key: storable(value) if isinstance(value, str) else value for key, value in values.items()}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes (stored as UTC); make every timestamp aware."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


@dataclass
class RunRecord:
    run_id: str
    pipeline: str
    namespace: str
    backend: str
    state: RunState
    arguments: dict[str, Any] = field(default_factory=dict)
    pipeline_ref: str = ""
    webhook_uri: str = ""
    channel: str = ""
    slack_thread: str = ""
    created_by: str = ""
    source: str = "http"
    backend_run_id: str = ""
    run_url: str = ""
    run_dir: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    step_states: dict[str, str] = field(default_factory=dict)
    failed_step: str = ""
    error: str = ""
    error_logs: str = ""
    worker_pid: int | None = None
    worker_host: str = ""
    heartbeat_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    idempotency_key: str | None = None
    request_hash: str = ""
    notify_pending: bool = False
    progress: dict[str, Any] = field(default_factory=dict)
    """The latest progress line a step printed: ``{"step": ..., **TrainingProgress.as_dict()}``, or {}."""

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        data = dict(row._mapping)
        for key in ("arguments", "outputs", "step_states", "progress"):
            data[key] = json.loads(data.get(key) or "{}")
        for key in ("heartbeat_at", "created_at", "started_at", "updated_at", "finished_at"):
            data[key] = _utc(data[key])
        data["state"] = RunState(data["state"])
        data["notify_pending"] = bool(data.get("notify_pending"))
        return cls(**data)


@dataclass
class Delivery:
    run_id: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    first_attempt_at: dt.datetime | None
    last_error: str
    delivered_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Delivery:
        m = row._mapping
        return cls(
            run_id=m["run_id"],
            kind=m["kind"],
            status=m["status"],
            attempts=m["attempts"],
            next_attempt_at=_utc(m["next_attempt_at"]),  # type: ignore[arg-type]
            first_attempt_at=_utc(m["first_attempt_at"]),
            last_error=m["last_error"],
            delivered_at=_utc(m["delivered_at"]),
        )


@dataclass
class Page:
    runs: list[RunRecord]
    total: int


class RunStore:
    """All database access of the API, its watcher and its workers."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, create: bool = False) -> RunStore:
        ensure_sqlite_parent(url)
        store = cls(create_engine(url))
        if create:
            try:
                db.create_tables(store.engine)
            except sa.exc.DBAPIError:  # another process created them at the same moment
                db.create_tables(store.engine)
        return store

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(immediate=True)
            with conn.begin():
                yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.select(sa.literal(1)))

    # -- runs -------------------------------------------------------------------------------------
    def insert_run(self, record: RunRecord) -> None:
        now = now_utc()
        values = {
            "run_id": record.run_id,
            "pipeline": record.pipeline,
            "pipeline_ref": record.pipeline_ref,
            "namespace": record.namespace,
            "backend": record.backend,
            "state": record.state.value,
            "arguments": json.dumps(record.arguments),
            "webhook_uri": record.webhook_uri,
            "channel": record.channel,
            "slack_thread": record.slack_thread,
            "created_by": record.created_by,
            "source": record.source,
            "backend_run_id": record.backend_run_id,
            "run_url": record.run_url,
            "run_dir": "",
            "outputs": "{}",
            "step_states": "{}",
            "failed_step": "",
            "error": "",
            "error_logs": "",
            "worker_host": "",
            "created_at": now,
            "updated_at": now,
            "idempotency_key": record.idempotency_key,
            "request_hash": record.request_hash,
            "notify_pending": record.notify_pending,
        }
        with self._write() as conn:
            conn.execute(db.runs.insert().values(**_storable_values(values)))
        record.created_at = record.updated_at = now

    def run_by_idempotency_key(self, created_by: str, namespace: str, key: str) -> RunRecord | None:
        query = sa.select(db.runs).where(
            db.runs.c.created_by == created_by,
            db.runs.c.namespace == namespace,
            db.runs.c.idempotency_key == key,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return RunRecord.from_row(row) if row is not None else None

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.runs).where(db.runs.c.run_id == run_id)).first()
        return RunRecord.from_row(row) if row is not None else None

    def list_runs(
        self,
        namespace: str,
        *,
        pipeline: str = "",
        states: tuple[str, ...] = (),
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        where = [db.runs.c.namespace == namespace]
        if pipeline:
            where.append(db.runs.c.pipeline == pipeline)
        if states:
            where.append(db.runs.c.state.in_(states))
        query = (
            sa.select(db.runs)
            .where(*where)
            .order_by(db.runs.c.created_at.desc(), db.runs.c.run_id.desc())
            .limit(limit)
            .offset(offset)
        )
        count = sa.select(sa.func.count()).select_from(db.runs).where(*where)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(count).scalar_one()
        return Page(runs=[RunRecord.from_row(r) for r in rows], total=int(total))

    def unfinished_runs(self, backend: str) -> list[RunRecord]:
        query = (
            sa.select(db.runs)
            .where(db.runs.c.backend == backend, db.runs.c.state.not_in(FINAL))
            .order_by(db.runs.c.created_at)
        )
        with self.engine.connect() as conn:
            return [RunRecord.from_row(r) for r in conn.execute(query)]

    def count_local(self, state: RunState) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(db.runs)
            .where(db.runs.c.backend == "local", db.runs.c.state == state.value)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def queued_local_runs(self, limit: int) -> list[str]:
        query = (
            sa.select(db.runs.c.run_id)
            .where(db.runs.c.backend == "local", db.runs.c.state == RunState.PENDING.value)
            .order_by(db.runs.c.created_at, db.runs.c.run_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def claim_slots(self, workers: int) -> list[str]:
        """Claim the oldest queued local runs for the free worker slots (``workers`` minus those running).

        Counting and claiming happen in one transaction that holds the database's dispatch lock
        (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), so two API
        processes can never both see a slot free and both take it. A claimed run that asked for it owes
        its "started" webhook from now on (queued in the same transaction).
        """
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(DISPATCH_LOCK_KEY)))
            running = conn.execute(
                sa.select(sa.func.count())
                .select_from(db.runs)
                .where(db.runs.c.backend == "local", db.runs.c.state == RunState.RUNNING.value)
            ).scalar_one()
            now = now_utc()  # after the count: a run's start is never recorded before the end it waited for
            free = workers - int(running)
            if free <= 0:
                return []
            rows = conn.execute(
                sa.select(db.runs.c.run_id, db.runs.c.webhook_uri, db.runs.c.notify_pending)
                .where(db.runs.c.backend == "local", db.runs.c.state == RunState.PENDING.value)
                .order_by(db.runs.c.created_at, db.runs.c.run_id)
                .limit(free)
            ).all()
            claimed = []
            for row in rows:
                result = conn.execute(
                    db.runs.update()
                    .where(db.runs.c.run_id == row.run_id, db.runs.c.state == RunState.PENDING.value)
                    .values(
                        state=RunState.RUNNING.value,
                        started_at=now,
                        heartbeat_at=now,
                        updated_at=now,
                        worker_host=HOST,
                    )
                )
                if result.rowcount != 1:
                    continue
                claimed.append(row.run_id)
                if row.notify_pending and row.webhook_uri:
                    self._queue_delivery(conn, row.run_id, PENDING_WEBHOOK, now)
        return claimed

    def queue_pending_webhook(self, run_id: str) -> None:
        """A submitted Kubeflow run that asked for it owes its "started" webhook."""
        with self._write() as conn:
            self._queue_delivery(conn, run_id, PENDING_WEBHOOK, now_utc())

    @staticmethod
    def _queue_delivery(conn: sa.Connection, run_id: str, kind: str, now: dt.datetime) -> None:
        conn.execute(
            db.deliveries.insert().values(
                run_id=run_id,
                kind=kind,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                claimed_by="",
                last_error="",
            )
        )

    def set_worker(self, run_id: str, pid: int) -> None:
        with self._write() as conn:
            conn.execute(
                db.runs.update()
                .where(db.runs.c.run_id == run_id)
                .values(worker_pid=pid, worker_host=HOST, heartbeat_at=now_utc())
            )

    def heartbeat(self, run_id: str) -> bool:
        """Keep the run's heartbeat fresh; False once the run is final (canceled, or failed elsewhere)."""
        now = now_utc()
        with self._write() as conn:
            result = conn.execute(
                db.runs.update()
                .where(db.runs.c.run_id == run_id, db.runs.c.state.not_in(FINAL))
                .values(heartbeat_at=now)
            )
        return result.rowcount == 1

    def update_progress(self, run_id: str, **values: Any) -> None:
        """Non-final changes (state, step states, progress, backend run id, url); ignored once the run is
        final."""
        for key in ("outputs", "step_states", "progress"):
            if key in values:
                values[key] = json.dumps(values[key], default=str)
        if isinstance(values.get("state"), RunState):
            values["state"] = values["state"].value
        with self._write() as conn:
            conn.execute(
                db.runs.update()
                .where(db.runs.c.run_id == run_id, db.runs.c.state.not_in(FINAL))
                .values(updated_at=now_utc(), **_storable_values(values))
            )

    def finish_run(
        self,
        run_id: str,
        state: RunState,
        *,
        outputs: dict[str, Any] | None = None,
        failed_step: str = "",
        error: str = "",
        error_logs: str = "",
        notify: bool = True,
        **extra: Any,
    ) -> bool:
        """Make the run final (once) and queue the notifications it owes, in one transaction."""
        if not state.is_final:
            raise ValueError(f"{state.value} is not a final state")
        now = now_utc()
        values: dict[str, Any] = {
            "state": state.value,
            "outputs": json.dumps(outputs or {}, default=str),
            "failed_step": failed_step,
            "error": error,
            "error_logs": error_logs,
            "finished_at": now,
            "updated_at": now,
            **extra,
        }
        if "step_states" in values:
            values["step_states"] = json.dumps(values["step_states"], default=str)
        with self._write() as conn:
            result = conn.execute(
                db.runs.update()
                .where(db.runs.c.run_id == run_id, db.runs.c.state.not_in(FINAL))
                .values(**_storable_values(values))
            )
            if result.rowcount != 1:
                return False
            if notify:
                row = conn.execute(
                    sa.select(db.runs.c.webhook_uri, db.runs.c.channel, db.runs.c.slack_thread).where(
                        db.runs.c.run_id == run_id
                    )
                ).one()
                if row.webhook_uri:
                    self._queue_delivery(conn, run_id, WEBHOOK, now)
                if row.channel and row.slack_thread:
                    self._queue_delivery(conn, run_id, SLACK, now)
        return True

    # -- deliveries -------------------------------------------------------------------------------
    def due_deliveries(self, limit: int = 50) -> list[tuple[str, str]]:
        """Deliveries to attempt now; a run's final webhook waits until its "started" one is settled, so a
        receiver never hears "pending" after the result."""
        d = db.deliveries.c
        started = db.deliveries.alias("started")
        unsettled_start = sa.exists().where(
            started.c.run_id == d.run_id,
            started.c.kind == PENDING_WEBHOOK,
            started.c.status.in_(("pending", "delivering")),
        )
        query = (
            sa.select(d.run_id, d.kind)
            .where(
                d.status == "pending",
                d.next_attempt_at <= now_utc(),
                sa.or_(d.kind != WEBHOOK, sa.not_(unsettled_start)),
            )
            .order_by(d.next_attempt_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.run_id, r.kind) for r in conn.execute(query)]

    def claim_delivery(self, run_id: str, kind: str, claimer: str) -> Delivery | None:
        """pending → delivering for exactly one claimer; returns the delivery if this one won."""
        now = now_utc()
        with self._write() as conn:
            result = conn.execute(
                db.deliveries.update()
                .where(
                    db.deliveries.c.run_id == run_id,
                    db.deliveries.c.kind == kind,
                    db.deliveries.c.status == "pending",
                    db.deliveries.c.next_attempt_at <= now,
                )
                .values(
                    status="delivering",
                    claimed_by=claimer,
                    claimed_at=now,
                    first_attempt_at=sa.func.coalesce(db.deliveries.c.first_attempt_at, now),
                )
            )
            if result.rowcount != 1:
                return None
            row = conn.execute(
                sa.select(db.deliveries).where(db.deliveries.c.run_id == run_id, db.deliveries.c.kind == kind)
            ).one()
        return Delivery.from_row(row)

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        ok: bool,
        status_code: int | None,
        error: str,
        seconds: float,
        outcome: str,
        next_attempt_at: dt.datetime | None = None,
    ) -> None:
        """Record one attempt and the delivery's new status (delivered, failed, skipped or pending)."""
        now = now_utc()
        attempt = delivery.attempts + 1
        values: dict[str, Any] = {
            "status": outcome,
            "attempts": attempt,
            "claimed_by": "",
            "claimed_at": None,
            "last_error": "" if ok else storable(error),
        }
        if outcome == "delivered":
            values["delivered_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        with self._write() as conn:
            conn.execute(
                db.delivery_attempts.insert().values(
                    run_id=delivery.run_id,
                    kind=delivery.kind,
                    attempt=attempt,
                    at=now,
                    ok=ok,
                    status_code=status_code,
                    error=storable(error),
                    seconds=round(seconds, 4),
                )
            )
            conn.execute(
                db.deliveries.update()
                .where(db.deliveries.c.run_id == delivery.run_id, db.deliveries.c.kind == delivery.kind)
                .values(**values)
            )

    def release_stale_claims(self, older_than: dt.timedelta) -> int:
        """Claims left by a sender that died mid-delivery go back to pending."""
        cutoff = now_utc() - older_than
        with self._write() as conn:
            result = conn.execute(
                db.deliveries.update()
                .where(db.deliveries.c.status == "delivering", db.deliveries.c.claimed_at < cutoff)
                .values(status="pending", claimed_by="", claimed_at=None)
            )
        return result.rowcount

    def delivering_claims(self) -> list[tuple[str, str, str, dt.datetime | None]]:
        """(run id, kind, claimer, claimed at) of every delivery being sent right now."""
        d = db.deliveries.c
        query = sa.select(d.run_id, d.kind, d.claimed_by, d.claimed_at).where(d.status == "delivering")
        with self.engine.connect() as conn:
            return [(r.run_id, r.kind, r.claimed_by, _utc(r.claimed_at)) for r in conn.execute(query)]

    def release_claim(self, run_id: str, kind: str, claimed_by: str) -> bool:
        with self._write() as conn:
            result = conn.execute(
                db.deliveries.update()
                .where(
                    db.deliveries.c.run_id == run_id,
                    db.deliveries.c.kind == kind,
                    db.deliveries.c.status == "delivering",
                    db.deliveries.c.claimed_by == claimed_by,
                )
                .values(status="pending", claimed_by="", claimed_at=None)
            )
        return result.rowcount == 1

    def deliveries_of(self, run_id: str) -> list[Delivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.deliveries)
                .where(db.deliveries.c.run_id == run_id)
                .order_by(db.deliveries.c.kind)
            ).all()
        return [Delivery.from_row(r) for r in rows]

    def attempts_of(self, run_id: str, kind: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.delivery_attempts)
                .where(db.delivery_attempts.c.run_id == run_id, db.delivery_attempts.c.kind == kind)
                .order_by(db.delivery_attempts.c.attempt)
            ).all()
        return [
            {
                "attempt": r.attempt,
                "at": _utc(r.at).isoformat(),
                "ok": r.ok,  # type: ignore[union-attr]
                "status_code": r.status_code,
                "error": r.error,
                "seconds": r.seconds,
            }
            for r in rows
        ]

    # -- Slack events -----------------------------------------------------------------------------
    def first_sight_of_event(self, event_id: str) -> bool:
        """True the first time an event id is seen (Slack re-sends events it believes were missed)."""
        try:
            with self._write() as conn:
                conn.execute(db.slack_events.insert().values(event_id=event_id, received_at=now_utc()))
        except sa.exc.IntegrityError:
            return False
        return True
