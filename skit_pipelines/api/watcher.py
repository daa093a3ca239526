"""The watcher: one background thread of the API that moves every unfinished run forward.

Each tick (every ``SKIT_API_WATCH_SECONDS``, or at once when a run is queued):
- local runs: reap finished workers, fail runs whose worker died, start workers for queued runs;
- Kubeflow runs: ask the cluster where each unfinished run stands (one ``get_run`` each, at most every
  ``SKIT_KFP_POLL_SECONDS``) and record changes; a final state queues the run's notifications;
- notifications: claim and send those that are due.
Everything it needs is in the database, so an API that starts picks up exactly where the last one stopped
(queued runs, runs still executing, webhooks still owed). A failing part is logged and retried on the next
tick; it never stops the thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from skit_pipelines.api.notifier import Notifier
from skit_pipelines.api.service import RunService
from skit_pipelines.api.store import RunRecord, now_utc
from skit_pipelines.api.workers import WorkerPool
from skit_pipelines.runner.base import PipelineRunError, RunState

logger = logging.getLogger(__name__)

# A Kubeflow run recorded but never submitted (the API stopped in between) is failed after this long.
UNSUBMITTED_GRACE = dt.timedelta(seconds=120)


class Watcher:
    def __init__(self, service: RunService, pool: WorkerPool, notifier: Notifier) -> None:
        self.service = service
        self.store = service.store
        self.pool = pool
        self.notifier = notifier
        self.interval = service.api_settings.api_watch_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_kfp_poll = 0.0
        self.ticks = 0

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
        for part in (self.pool.tick, self._follow_kubeflow, self.notifier.tick):
            if self._stop.is_set():
                return
            try:
                part()
            except Exception:
                logger.exception(
                    "watcher: %s failed; retrying on the next tick", getattr(part, "__name__", part)
                )
        self.ticks += 1

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
            self.store.finish_run(
                run.run_id,
                result.state,
                outputs=result.outputs,
                failed_step=result.failed_step,
                error=result.error,
                error_logs=result.error if not result.succeeded else "",
            )
        elif result.state != run.state:
            self.store.update_progress(run.run_id, state=result.state)
