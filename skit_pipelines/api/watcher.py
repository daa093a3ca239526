"""The watcher: one background thread of the API that moves every unfinished run forward.

Each tick (every ``SKIT_API_WATCH_SECONDS``, or at once when a run is queued):
- schedules: fire the recurring runs whose slot has come (:mod:`skit_pipelines.api.schedules`);
- local runs: reap finished workers, fail runs whose worker died, start workers for queued runs;
- Kubeflow runs: ask the cluster where each unfinished run stands (one ``get_run`` each, at most every
  ``SKIT_KFP_POLL_SECONDS``) and record changes; a final state queues the run's notifications;
- notifications: claim and send those that are due.
Everything it needs is in the database, so an API that starts picks up exactly where the last one stopped
(queued runs, runs still executing, webhooks still owed). Each part, and inside a part each run, fails on its
own: it is logged and retried on the next tick, and never keeps the other parts or runs from moving (a single
unwritable log once stalled every queued run). What each part last did is kept for the health check, which
reports the queue ``stalled`` when the watcher stops completing its cycles or runs wait beside free slots.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from skit_pipelines.api.notifier import Notifier
from skit_pipelines.api.schedules import Scheduler
from skit_pipelines.api.service import RunService
from skit_pipelines.api.store import RunRecord, now_utc
from skit_pipelines.api.views import CANCELED_MESSAGE
from skit_pipelines.api.workers import WorkerPool
from skit_pipelines.runner.base import PipelineRunError, RunState

logger = logging.getLogger(__name__)

# A Kubeflow run recorded but never submitted (the API stopped in between) is failed after this long.
UNSUBMITTED_GRACE = dt.timedelta(seconds=120)
# The queue is reported stalled after this many watcher intervals without progress (and never sooner than
# STALL_FLOOR_SECONDS: a cycle that spawns workers on a busy host may take a few seconds).
STALL_CYCLES = 20
STALL_FLOOR_SECONDS = 5.0


@dataclass(frozen=True)
class QueueReport:
    """What the health check says about the watcher and the local queue."""

    stalled: bool
    reason: str
    last_cycle_seconds_ago: float | None
    failing_parts: dict[str, str]


class Watcher:
    def __init__(
        self, service: RunService, pool: WorkerPool, notifier: Notifier, scheduler: Scheduler | None = None
    ) -> None:
        self.service = service
        self.scheduler = scheduler
        self.store = service.store
        self.pool = pool
        self.notifier = notifier
        self.interval = service.api_settings.api_watch_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_kfp_poll = 0.0
        self.ticks = 0
        self.started_at = time.monotonic()
        self.stall_after = max(STALL_CYCLES * self.interval, STALL_FLOOR_SECONDS)
        self._last_cycle_at: float | None = None
        self._last_ok: dict[str, float] = {}
        self._last_error: dict[str, str] = {}
        self._waiting_beside_free_slots_since: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="run-watcher", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Look now (a run was queued)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.notifier.shutdown()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(self.interval)
            self._wake.clear()

    def tick(self) -> None:
        parts = (
            ("reap", self.pool.reap),
            ("dead_workers", self.pool.fail_dead_workers),
            ("schedules", self._fire_schedules),  # before dispatch: a fired run starts in the same tick
            ("dispatch", self._dispatch),
            ("kubeflow", self._follow_kubeflow),
            ("notifications", self.notifier.tick),
        )
        for name, part in parts:
            if self._stop.is_set():
                return
            try:
                part()
            except Exception as exc:
                logger.exception("watcher: %s failed; retrying on the next tick", name)
                self._last_error[name] = type(exc).__name__  # health is public: no message, no data
            else:
                self._last_ok[name] = time.monotonic()
                self._last_error.pop(name, None)
        self.ticks += 1
        self._last_cycle_at = time.monotonic()

    def _dispatch(self) -> None:
        self.pool.dispatch()
        if self.service.backend != "local":
            return
        queued = self.store.count_local(RunState.PENDING)
        free = self.service.api_settings.api_workers - self.store.count_local(RunState.RUNNING)
        if queued and free > 0:  # right after a dispatch: only a fault leaves runs beside free slots
            if self._waiting_beside_free_slots_since is None:
                self._waiting_beside_free_slots_since = time.monotonic()
        else:
            self._waiting_beside_free_slots_since = None

    def _fire_schedules(self) -> None:
        if self.scheduler is not None:
            self.scheduler.tick()

    def queue_report(self) -> QueueReport:
        """Is the queue moving? Stalled when no cycle completed, or runs waited beside free worker slots, or
        the dispatcher kept failing, for longer than ``stall_after`` seconds."""
        now = time.monotonic()
        last_cycle = None if self._last_cycle_at is None else round(now - self._last_cycle_at, 1)
        since_cycle = now - (self._last_cycle_at or self.started_at)
        waiting = self._waiting_beside_free_slots_since
        failing_since = now - self._last_ok.get("dispatch", self.started_at)
        reason = ""
        if since_cycle > self.stall_after:
            reason = f"the run watcher has not completed a cycle for {since_cycle:.0f}s"
        elif waiting is not None and now - waiting > self.stall_after:
            reason = f"queued runs have waited beside free worker slots for {now - waiting:.0f}s"
        elif "dispatch" in self._last_error and failing_since > self.stall_after:
            reason = f"starting queued runs has failed for {failing_since:.0f}s"
        return QueueReport(bool(reason), reason, last_cycle, dict(self._last_error))

    def _follow_kubeflow(self) -> None:
        settings = self.service.settings
        if not settings.kfp_host:
            return
        now = time.monotonic()
        if now - self._last_kfp_poll < settings.kfp_poll_seconds:
            return
        self._last_kfp_poll = now
        for run in self.store.unfinished_runs("kubeflow"):
            try:
                self._follow_one(run)
            except Exception:  # one odd run must not keep the others from being followed
                logger.exception("cannot follow Kubeflow run %s", run.run_id)

    def _follow_one(self, run: RunRecord) -> None:
        if not run.backend_run_id:
            if run.created_at is not None and now_utc() - run.created_at > UNSUBMITTED_GRACE:
                reason = "the API stopped before the run was submitted to Kubeflow"
                self.store.finish_run(run.run_id, RunState.FAILED, error=reason, error_logs=reason)
            return
        runner: Any = self.service.kubeflow_runner(run.namespace)
        try:
            result = runner.get_status(run.backend_run_id)
        except PipelineRunError as exc:
            logger.warning("cannot read Kubeflow run %s (%s): %s", run.backend_run_id, run.run_id, exc)
            return
        if result.state.is_final:
            canceled = result.state == RunState.CANCELED
            self.store.finish_run(
                run.run_id,
                result.state,
                outputs=result.outputs,
                failed_step=result.failed_step,
                error=CANCELED_MESSAGE if canceled and not result.error else result.error,
                error_logs=result.error if not result.succeeded else "",
            )
        elif result.state != run.state and run.state != RunState.CANCELING:  # canceling: until final
            self.store.update_progress(run.run_id, state=result.state)
