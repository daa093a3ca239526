"""Recurring runs without a cluster: schedules kept in the runs database, fired by the API's scheduler.

A schedule is a pipeline, its parameters (the request body of ``POST /{namespace}/pipelines/run/...``), a
five-field cron expression and a timezone. Creating one checks all of it as a run request is checked
(:meth:`RunService.validate`: the signature, :mod:`skit_pipelines.pipeline_checks`, the read policy), so a
schedule that would fail every time is refused at once, naming the field.

Firing (:meth:`Scheduler.tick`, one part of the API's watcher loop, every ``SKIT_API_WATCH_SECONDS``):
1. read the active schedules whose ``next_fire_at`` has come;
2. claim the slot: ``UPDATE ... SET next_fire_at = <next slot after now> WHERE next_fire_at = <the slot
   read>`` — one winner per slot however many API processes share the database;
3. the winner creates the run through :meth:`RunService.create_run` (the path of ``POST`` run requests),
   with ``source="schedule"`` and the Idempotency-Key ``schedule:<id>:<slot>``: the runs table's unique key
   is a second guard against a slot ever giving two runs.

Why these rules:
- *Missed slots fire once.* After the API was down (or the host asleep) over several slots, the schedule
  fires one run for the latest missed slot and continues from the next slot after now: a nightly sample
  that missed a week needs one fresh run, not seven at once (Kubeflow's ``no_catchup``, which the cluster
  path sets too).
- *At most once.* A process that dies between claiming a slot and creating its run loses that slot (the
  error, if any, is kept in ``last_error``); firing it again could not tell whether the run was made.
- *Survives restarts:* everything is in the database; a restarted API continues from ``next_fire_at``.
- *Pause/resume:* a paused schedule has no next slot; resuming continues from the next slot after now
  (slots missed while paused are not fired).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

from skit_pipelines.api.schedule_store import ACTIVE, PAUSED, ScheduleRecord, ScheduleStore
from skit_pipelines.api.service import InvalidRequest, RunService, ServiceError
from skit_pipelines.api.store import now_utc, storable
from skit_pipelines.cron import CronError, check_cron, check_timezone, next_slot

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
NAME_MAX = 200


class ScheduleNotFound(ServiceError):
    status_code = 404


def slot_key(schedule_id: str, slot: dt.datetime) -> str:
    """The Idempotency-Key of the run of one slot."""
    return f"schedule:{schedule_id}:{slot.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%MZ}"


class ScheduleService:
    """Create, list, pause, resume and delete schedules (the API's endpoints, the CLI and the Slack bot)."""

    def __init__(self, service: RunService, *, clock: Clock = now_utc) -> None:
        self.service = service
        self.store = ScheduleStore(service.store)
        self.clock = clock

    def create(
        self,
        namespace: str,
        pipeline: str,
        payload: dict[str, Any],
        *,
        cron: str,
        timezone: str = "UTC",
        name: str = "",
        created_by: str,
        source: str = "http",
    ) -> ScheduleRecord:
        errors: dict[str, str] = {}
        try:
            cron = check_cron(cron)
        except CronError as exc:
            errors["cron"] = str(exc).removeprefix("cron: ")
        try:
            timezone = check_timezone(timezone)
        except CronError as exc:
            errors["timezone"] = str(exc).removeprefix("timezone: ")
        if not isinstance(name, str) or len(name) > NAME_MAX:
            errors["name"] = f"expected at most {NAME_MAX} characters"
        if errors:
            raise InvalidRequest("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
        key = self._validate(pipeline, payload)
        record = ScheduleRecord(
            schedule_id=f"sch-{uuid.uuid4().hex[:16]}",
            pipeline=key,
            namespace=namespace,
            cron=cron,
            timezone=timezone,
            name=name or key,
            payload=dict(payload),
            state=ACTIVE,
            next_fire_at=next_slot(cron, timezone, self.clock()),
            created_by=created_by,
            source=source,
        )
        self.store.insert(record)
        return record

    def _validate(self, pipeline: str, payload: dict[str, Any]) -> str:
        """The checks of a run request, now (the pipeline key is returned)."""
        body = dict(payload)
        notify_pending = body.pop("notify_pending", None)
        if notify_pending is not None and not isinstance(notify_pending, bool):
            problem = f"expected true or false, got {type(notify_pending).__name__}"
            raise InvalidRequest(f"notify_pending: {problem}", {"notify_pending": problem})
        key, _, _, webhook_uri = self.service.validate(pipeline, body)
        if notify_pending and not webhook_uri:
            problem = "needs a webhook_uri to send the pending webhook to"
            raise InvalidRequest(f"notify_pending: {problem}", {"notify_pending": problem})
        return key

    def list(self, namespace: str) -> list[ScheduleRecord]:
        return self.store.list(namespace)

    def get(self, namespace: str, schedule_id: str) -> ScheduleRecord:
        record = self.store.get(schedule_id)
        if record is None or record.namespace != namespace:
            raise ScheduleNotFound(f"there is no schedule {schedule_id!r} in namespace {namespace!r}")
        return record

    def pause(self, namespace: str, schedule_id: str) -> ScheduleRecord:
        self.get(namespace, schedule_id)
        self.store.set_state(schedule_id, PAUSED, None)
        return self.get(namespace, schedule_id)

    def resume(self, namespace: str, schedule_id: str) -> ScheduleRecord:
        record = self.get(namespace, schedule_id)
        if record.state != ACTIVE:  # an active one keeps its slot: resuming twice changes nothing
            following = next_slot(record.cron, record.timezone, self.clock())
            self.store.set_state(schedule_id, ACTIVE, following)
        return self.get(namespace, schedule_id)

    def delete(self, namespace: str, schedule_id: str) -> ScheduleRecord:
        record = self.get(namespace, schedule_id)
        self.store.delete(schedule_id)
        return record


class Scheduler:
    """Fires due schedules (see the module docstring); ``tick`` is called by the API's watcher."""

    def __init__(self, schedules: ScheduleService, *, clock: Clock | None = None) -> None:
        self.schedules = schedules
        self.store = schedules.store
        self.clock = clock or schedules.clock

    def tick(self) -> list[str]:
        """Fire every due slot this process wins; returns the ids of the runs it created."""
        now = self.clock()
        created: list[str] = []
        for record in self.store.due(now):
            try:
                run_id = self._fire(record, now)
            except Exception:  # one broken schedule must not keep the others from firing
                logger.exception("schedule %s: cannot fire", record.schedule_id)
                continue
            if run_id:
                created.append(run_id)
        return created

    def _fire(self, record: ScheduleRecord, now: dt.datetime) -> str:
        slot = record.next_fire_at
        assert slot is not None
        following = next_slot(record.cron, record.timezone, max(now, slot))
        if not self.store.claim_slot(record.schedule_id, slot, following, now):
            return ""  # another scheduler fired it, or it was paused or deleted meanwhile
        try:
            created = self.schedules.service.create_run(
                record.namespace,
                record.pipeline,
                record.payload,
                created_by=record.created_by,
                source="schedule",
                idempotency_key=slot_key(record.schedule_id, slot),
            )
        except ServiceError as exc:
            logger.warning("schedule %s: slot %s gave no run: %s", record.schedule_id, slot, exc.message)
            self.store.record_fire(record.schedule_id, error=storable(exc.message))
            return ""
        except Exception as exc:
            self.store.record_fire(record.schedule_id, error=f"{type(exc).__name__}: {exc}")
            raise
        self.store.record_fire(record.schedule_id, run_id=created.run.run_id)
        logger.info("schedule %s: slot %s → run %s", record.schedule_id, slot, created.run.run_id)
        return "" if created.replayed else created.run.run_id
