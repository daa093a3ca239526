"""Reads and writes of the local scheduler's table (``api_schedules``, in the runs database).

The one write that others race on is :meth:`ScheduleStore.claim_slot`: a compare-and-set of
``next_fire_at`` from the slot a scheduler read to the slot after it. Whoever's UPDATE changes the row owns
the slot and creates its run; everyone else sees ``rowcount == 0`` and does nothing. The database decides,
so this holds for two threads, two API processes, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from skit_pipelines.api import db
from skit_pipelines.api.store import RunStore, _utc, now_utc, storable

ACTIVE, PAUSED = "active", "paused"


@dataclass
class ScheduleRecord:
    schedule_id: str
    pipeline: str
    namespace: str
    cron: str
    timezone: str = "UTC"
    name: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    state: str = ACTIVE
    next_fire_at: dt.datetime | None = None
    last_fired_at: dt.datetime | None = None
    last_run_id: str = ""
    last_error: str = ""
    fired_count: int = 0
    created_by: str = ""
    source: str = "http"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> ScheduleRecord:
        data = dict(row._mapping)
        data["payload"] = json.loads(data.get("payload") or "{}")
        for key in ("next_fire_at", "last_fired_at", "created_at", "updated_at"):
            data[key] = _utc(data[key])
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        """The schedule as the API and the CLI's ``--json`` show it."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "schedule_id": self.schedule_id,
            "name": self.name,
            "pipeline": self.pipeline,
            "namespace": self.namespace,
            "cron": self.cron,
            "timezone": self.timezone,
            "parameters": self.payload,
            "state": self.state,
            "next_fire_at": iso(self.next_fire_at) if self.state == ACTIVE else None,
            "last_fired_at": iso(self.last_fired_at),
            "last_run_id": self.last_run_id,
            "last_error": self.last_error,
            "fired_count": self.fired_count,
            "created_by": self.created_by,
            "source": self.source,
            "created_at": iso(self.created_at),
        }


class ScheduleStore:
    """The schedules of a runs database (the :class:`RunStore`'s engine and write transactions)."""

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs
        self.engine = runs.engine

    def insert(self, record: ScheduleRecord) -> None:
        now = now_utc()
        values = {
            "schedule_id": record.schedule_id,
            "name": storable(record.name),
            "pipeline": record.pipeline,
            "namespace": record.namespace,
            "cron": record.cron,
            "timezone": record.timezone,
            "payload": storable(json.dumps(record.payload, default=str)),
            "state": record.state,
            "next_fire_at": record.next_fire_at,
            "last_run_id": "",
            "last_error": "",
            "fired_count": 0,
            "created_by": record.created_by,
            "source": record.source,
            "created_at": now,
            "updated_at": now,
        }
        with self.runs._write() as conn:
            conn.execute(db.schedules.insert().values(**values))
        record.created_at = record.updated_at = now

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        query = sa.select(db.schedules).where(db.schedules.c.schedule_id == schedule_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return ScheduleRecord.from_row(row) if row is not None else None

    def list(self, namespace: str | None = None) -> list[ScheduleRecord]:
        query = sa.select(db.schedules).order_by(db.schedules.c.created_at, db.schedules.c.schedule_id)
        if namespace is not None:
            query = query.where(db.schedules.c.namespace == namespace)
        with self.engine.connect() as conn:
            return [ScheduleRecord.from_row(r) for r in conn.execute(query)]

    def due(self, now: dt.datetime, limit: int = 100) -> list[ScheduleRecord]:
        s = db.schedules.c
        query = (
            sa.select(db.schedules)
            .where(s.state == ACTIVE, s.next_fire_at.is_not(None), s.next_fire_at <= now)
            .order_by(s.next_fire_at, s.schedule_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [ScheduleRecord.from_row(r) for r in conn.execute(query)]

    def claim_slot(
        self, schedule_id: str, slot: dt.datetime, following: dt.datetime, now: dt.datetime
    ) -> bool:
        """Move an active schedule from ``slot`` to ``following``; True for the one caller that did."""
        s = db.schedules.c
        with self.runs._write() as conn:
            result = conn.execute(
                db.schedules.update()
                .where(s.schedule_id == schedule_id, s.state == ACTIVE, s.next_fire_at == slot)
                .values(
                    next_fire_at=following,
                    last_fired_at=slot,
                    fired_count=s.fired_count + 1,
                    updated_at=now,
                )
            )
        return result.rowcount == 1

    def record_fire(self, schedule_id: str, *, run_id: str = "", error: str = "") -> None:
        """What the last fired slot gave: its run, or why there is none."""
        with self.runs._write() as conn:
            conn.execute(
                db.schedules.update()
                .where(db.schedules.c.schedule_id == schedule_id)
                .values(last_run_id=run_id, last_error=storable(error), updated_at=now_utc())
            )

    def set_state(self, schedule_id: str, state: str, next_fire_at: dt.datetime | None) -> bool:
        with self.runs._write() as conn:
            result = conn.execute(
                db.schedules.update()
                .where(db.schedules.c.schedule_id == schedule_id)
                .values(state=state, next_fire_at=next_fire_at, updated_at=now_utc())
            )
        return result.rowcount == 1

    def delete(self, schedule_id: str) -> bool:
        """Remove the schedule (the runs it created stay)."""
        with self.runs._write() as conn:
            result = conn.execute(db.schedules.delete().where(db.schedules.c.schedule_id == schedule_id))
        return result.rowcount == 1
