"""The local backend's worker pool: queued runs → worker processes, at most ``SKIT_API_WORKERS`` at a time.

The queue is the database (runs in state ``PENDING``, oldest first), so it survives a restart and is shared
by every API process on the database: the bound counts every local run in ``RUNNING``, whoever started it.
Each run gets its own process (``python -m skit_pipelines.api.worker``) in a new session: a crash of one
pipeline cannot take the API or another run down, and stopping the API leaves running pipelines alone.

A worker that dies without writing a result (killed, out of memory) is noticed two ways: on this host its
process is gone; on any host its heartbeat goes stale. Its run is then marked FAILED, the step that was
running shown failed, with the tails of the step's ``run.log`` and of the worker's log; the caller is
notified like for any other failure.

The limit is the database's, not this process's: :meth:`RunStore.claim_slots` counts running runs and claims
queued ones in one locked transaction, so N API processes on one database still run at most
``SKIT_API_WORKERS`` local runs together.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.api.store import HOST, RunRecord, RunStore, now_utc
from skit_pipelines.runner.base import RunState

logger = logging.getLogger(__name__)

LOG_TAIL_BYTES = 8000


def pid_alive(pid: int) -> bool:
    """Is a process with this pid running on this host (zombies count as dead)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_worker_of(pid: int, run_id: str) -> bool:
    """Is ``pid`` (on this host) still the worker of ``run_id``? A pid can be reused after the worker died:
    before signalling its process group, check its command line (``... skit_pipelines.api.worker <run-id>``)
    and that it leads its own group."""
    if not pid_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        argv = []
    if argv and (b"skit_pipelines.api.worker" not in argv or run_id.encode() not in argv):
        return False
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


def tail(path: Path, size: int = LOG_TAIL_BYTES) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - size, 0))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


class WorkerPool:
    def __init__(self, store: RunStore, api_settings: ApiSettings) -> None:
        self.store = store
        self.api_settings = api_settings
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.log_dir = api_settings.state_dir / "workers"

    def log_path(self, run_id: str) -> Path:
        return self.log_dir / f"{run_id}.log"

    def reap(self) -> None:
        for run_id, process in list(self.processes.items()):
            if process.poll() is not None:
                del self.processes[run_id]

    def dispatch(self) -> int:
        """Start workers for the oldest queued runs on the free slots of the database; returns how many."""
        claimed = self.store.claim_slots(self.api_settings.api_workers)
        for run_id in claimed:
            try:
                self._spawn(run_id)
            except Exception:  # its heartbeat goes stale and fail_dead_workers records it; go on
                logger.exception("run %s: cannot start or record its worker", run_id)
        return len(claimed)

    def _spawn(self, run_id: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.log_path(run_id), "ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "skit_pipelines.api.worker", run_id],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=os.environ.copy(),
                )
        except OSError as exc:
            logger.error("cannot start a worker for run %s: %s", run_id, exc)
            self.store.finish_run(run_id, RunState.FAILED, error=f"cannot start a worker process: {exc}")
            return
        self.processes[run_id] = process
        self.store.set_worker(run_id, process.pid)
        logger.info("run %s started in worker process %s", run_id, process.pid)

    def fail_dead_workers(self) -> int:
        """Fail the runs whose worker is gone; one run that cannot be recorded never blocks the others."""
        stale_after = dt.timedelta(seconds=self.api_settings.api_worker_stale_seconds)
        failed = 0
        for run in self.store.unfinished_runs("local"):
            if run.state != RunState.RUNNING or run.run_id in self.processes:
                continue
            reason = self._death_reason(run, now_utc(), stale_after)
            if not reason:
                continue
            try:
                recorded = self._fail_run(run, reason)
            except Exception as exc:  # record what we can: the run must not stay RUNNING, holding a slot
                logger.exception("run %s: cannot record its worker's logs", run.run_id)
                try:
                    recorded = self.store.finish_run(
                        run.run_id,
                        RunState.FAILED,
                        error=f"{reason} (its logs could not be recorded: {type(exc).__name__})",
                    )
                except Exception:
                    logger.exception("run %s: cannot be marked failed; the next tick retries", run.run_id)
                    continue
            if recorded:
                logger.warning("run %s failed: %s", run.run_id, reason)
                failed += 1
        return failed

    def _death_reason(self, run: RunRecord, now: dt.datetime, stale_after: dt.timedelta) -> str:
        if run.worker_host == HOST and run.worker_pid and not pid_alive(run.worker_pid):
            return f"the worker process (pid {run.worker_pid}) ended without reporting a result"
        if run.heartbeat_at is not None and now - run.heartbeat_at > stale_after:
            return (
                f"the worker on {run.worker_host or 'an unknown host'} sent no heartbeat for "
                f"{int((now - run.heartbeat_at).total_seconds())}s"
            )
        return ""

    def _fail_run(self, run: RunRecord, reason: str) -> bool:
        """The step that was running is the failed one; the logs are what the step and the worker wrote."""
        steps = {step: state for step, state in run.step_states.items()}
        running = [step for step, state in steps.items() if not RunState(state).is_final]
        for step in running:
            steps[step] = RunState.FAILED.value
        parts = []
        if run.run_dir:
            step_log = tail(Path(run.run_dir) / "run.log")
            if step_log:
                parts.append(f"--- run log ({run.run_dir}/run.log) ---\n{step_log}")
        worker_log = tail(self.log_path(run.run_id))
        if worker_log:
            parts.append(f"--- worker log ---\n{worker_log}")
        return self.store.finish_run(
            run.run_id,
            RunState.FAILED,
            failed_step=running[0] if running else "",
            error=reason,
            error_logs="\n".join(parts) or reason,
            step_states=steps,
        )
