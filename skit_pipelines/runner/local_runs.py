"""Run control over the local runner's run folders (``.skit/runs/<run-id>/``): list, show, logs, cancel.

A local run has no server that owns it: its process (``skit-pipelines run``, a script, an API worker) writes
``run.json`` when it starts and when it ends, and ``run.log`` line by line. Everything here reads those files;
only :func:`cancel_local_run` acts on a process, and it is careful about which one:

* the run's record names its process (pid, process group, start time in clock ticks since boot, user, host:
  :func:`process_identity`, written by the runner when the run starts);
* a signal goes only to that process when it is still the same one (same start time, so a recycled pid is
  never hit), owned by this user, on this host;
* when the run's process leads its own process group (a command started from a shell, an API worker), the
  group is signalled (the steps included); otherwise only that process and its own descendants are, so that
  a run started inside a bigger program (a test, a notebook) never takes its parent down.

The record then says ``CANCELED`` (written after the process is gone, so the runner cannot overwrite it).
Process facts come from ``/proc`` (Linux); elsewhere cancel refuses rather than guess.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.localfiles import atomic_open
from skit_pipelines.runner.base import RunState
from skit_pipelines.runner.kfp_log_tap import step_log_lines

CANCELED_MESSAGE = "Run canceled."
_RUN_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


class UnknownRunError(SkitPipelinesError, LookupError):
    """No run with that id (or an id that cannot be one)."""


class RunControlError(SkitPipelinesError, RuntimeError):
    """The run exists but the action cannot be done (final already, another user's run, ...)."""


@dataclass(frozen=True)
class LocalRun:
    """One run folder and its record (``run.json``)."""

    run_id: str
    run_dir: Path
    record: dict[str, Any]

    @property
    def pipeline(self) -> str:
        return str(self.record.get("pipeline", ""))

    @property
    def state(self) -> RunState:
        try:
            return RunState(str(self.record.get("state", "")))
        except ValueError:
            return RunState.PENDING

    @property
    def started_at(self) -> dt.datetime | None:
        return _parse_time(self.record.get("started_at"))

    @property
    def finished_at(self) -> dt.datetime | None:
        return _parse_time(self.record.get("finished_at"))

    @property
    def seconds(self) -> float | None:
        """The run's duration: recorded when final, so far while it runs (None without a start)."""
        if isinstance(self.record.get("seconds"), int | float):
            return float(self.record["seconds"])
        start, end = self.started_at, self.finished_at
        if start is None:
            return None
        end = end or dt.datetime.now(dt.timezone.utc)
        return max((end - start).total_seconds(), 0.0)

    @property
    def process_alive(self) -> bool | None:
        """For a run not yet final: is its process still there? (None: unknown, e.g. another host.)"""
        identity = self.record.get("process")
        if self.state.is_final or not isinstance(identity, dict):
            return None
        if identity.get("host") != socket.gethostname():
            return None
        return same_process(identity)

    @property
    def log_path(self) -> Path:
        return self.run_dir / "run.log"

    def summary(self) -> dict[str, Any]:
        """What ``runs list --json`` prints per run."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "state": self.state.value,
            "started_at": self.record.get("started_at"),
            "finished_at": self.record.get("finished_at"),
            "seconds": self.seconds,
            "process_alive": self.process_alive,
            "run_dir": str(self.run_dir),
        }


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _read_record(run_dir: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def list_runs(runs_dir: Path, limit: int | None = None) -> list[LocalRun]:
    """Runs newest first (by start time; run ids start with the second a run started); folders without a
    readable record are left out (a run folder being created, or not a run)."""
    try:
        folders = [p for p in Path(runs_dir).iterdir() if p.is_dir()]
    except OSError:
        return []
    runs = [LocalRun(f.name, f, record) for f in folders if (record := _read_record(f)) is not None]
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    runs.sort(key=lambda run: (run.started_at or epoch, run.run_id), reverse=True)
    return runs[:limit] if limit is not None else runs


def load_run(runs_dir: Path, run_id: str) -> LocalRun:
    """The run ``run_id``; :class:`UnknownRunError` (naming only the id, never file contents) otherwise."""
    if not _RUN_ID.match(run_id or "") or run_id in (".", ".."):
        raise UnknownRunError(f"{run_id!r} is not a run id (expected e.g. 20261122-134501-3fa9c2d41b07)")
    run_dir = Path(runs_dir) / run_id
    record = _read_record(run_dir)
    if record is None:
        raise UnknownRunError(f"there is no local run {run_id!r} in {runs_dir}")
    return LocalRun(run_id, run_dir, record)


# -- processes --
def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot: field 22 of /proc/<pid>/stat); None if it has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name (field 2) may hold spaces and ')'
    if fields[:1] == ["Z"]:  # a zombie has ended: only its parent has yet to collect its exit status
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[-1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def process_identity() -> dict[str, Any]:
    """What a run records about the process that runs it (see the module docstring)."""
    pid = os.getpid()
    return {
        "pid": pid,
        "pgid": os.getpgrp(),
        "start_ticks": _start_ticks(pid),
        "uid": os.getuid(),
        "host": socket.gethostname(),
    }


def same_process(identity: dict[str, Any]) -> bool:
    """Is the recorded process still running, the same process (not a recycled pid) and this user's?"""
    pid, ticks = identity.get("pid"), identity.get("start_ticks")
    if not isinstance(pid, int) or not isinstance(ticks, int) or pid <= 1:
        return False
    return _start_ticks(pid) == ticks and _owner(pid) == os.getuid()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first found by their parent pid in /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                parents.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_run(identity: dict[str, Any], sig: int) -> None:
    pid = int(identity["pid"])
    if not same_process(identity):
        return
    leads_group = identity.get("pgid") == pid
    try:
        leads_group = leads_group and os.getpgid(pid) == pid
    except OSError:
        return
    if leads_group:
        os.killpg(pid, sig)
        return
    for target in [pid, *_descendants(pid)]:  # the run's own process first: it must not record a failure
        if _owner(target) == os.getuid():
            try:
                os.kill(target, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _wait_gone(identity: dict[str, Any], seconds: float, sleep: Callable[[float], None]) -> bool:
    deadline = time.monotonic() + seconds
    while same_process(identity):
        if time.monotonic() > deadline:
            return False
        sleep(0.05)
    return True


def check_can_cancel(run: LocalRun) -> dict[str, Any]:
    """The run's process identity, or :class:`RunControlError` saying why this run cannot be canceled here."""
    if run.state.is_final:
        raise RunControlError(
            f"run {run.run_id!r} already finished ({run.state.value}); there is nothing to cancel"
        )
    identity = run.record.get("process")
    if not isinstance(identity, dict) or not isinstance(identity.get("pid"), int):
        raise RunControlError(
            f"run {run.run_id!r} did not record its process (started by an older version); "
            "stop it where it runs"
        )
    if not Path("/proc/self/stat").exists():
        raise RunControlError("canceling a local run needs /proc (Linux) to check which process runs it")
    if identity.get("host") != socket.gethostname():
        raise RunControlError(
            f"run {run.run_id!r} runs on host {identity.get('host')!r}, not here; cancel it there"
        )
    if identity.get("uid") != os.getuid():
        raise RunControlError(f"run {run.run_id!r} was started by another user; only they can cancel it")
    return identity


def cancel_local_run(
    runs_dir: Path,
    run_id: str,
    *,
    grace_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> LocalRun:
    """Stop a running local run (SIGTERM, then SIGKILL after ``grace_seconds``) and record it CANCELED.

    A run whose process is already gone (killed, machine restarted) is recorded CANCELED without any signal.
    A run that finished successfully while being canceled keeps its state.
    """
    run = load_run(runs_dir, run_id)
    identity = check_can_cancel(run)
    _signal_run(identity, signal.SIGTERM)
    if not _wait_gone(identity, grace_seconds, sleep):
        _signal_run(identity, signal.SIGKILL)
        if not _wait_gone(identity, 5.0, sleep):
            raise RunControlError(f"run {run_id!r}: its process {identity['pid']} did not stop")
    record = _read_record(run.run_dir) or dict(run.record)
    if record.get("state") in (
        RunState.SUCCEEDED.value,
        RunState.SKIPPED.value,
    ):  # it finished before the signal arrived
        return LocalRun(run_id, run.run_dir, record)
    steps = record.get("step_states") if isinstance(record.get("step_states"), dict) else {}
    steps = {step: s if s in _FINAL_NAMES else RunState.CANCELED.value for step, s in steps.items()}
    for step in record.get("steps") or []:
        steps.setdefault(step, RunState.CANCELED.value)
    now = dt.datetime.now(dt.timezone.utc)
    started = _parse_time(record.get("started_at"))
    record |= {
        "state": RunState.CANCELED.value,
        "error": CANCELED_MESSAGE,
        "step_states": steps,
        "finished_at": now.isoformat(),
        "seconds": round((now - started).total_seconds(), 3) if started else None,
        "canceled_by": {"uid": os.getuid(), "pid": os.getpid()},
    }
    write_record(run.run_dir, record)
    return LocalRun(run_id, run.run_dir, record)


_FINAL_NAMES = frozenset(state.value for state in RunState if state.is_final)


def write_record(run_dir: Path, record: dict[str, Any]) -> None:
    """``run.json``, atomically (readers never see half a record)."""
    with atomic_open(run_dir / "run.json", "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, default=str)


# -- logs --
def log_lines(run: LocalRun, step: str = "") -> list[str]:
    """The run's log (``run.log``), or only what ``step`` printed; unknown steps are an error naming the
    steps the run has."""
    try:
        lines = run.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    if not step:
        return lines
    steps = list(run.record.get("steps") or [])
    if step not in steps:
        raise RunControlError(
            f"run {run.run_id!r} has no step {step!r}; its steps: {', '.join(steps) or '-'}"
        )
    return step_log_lines(lines, step)


def follow_log(
    runs_dir: Path,
    run_id: str,
    *,
    poll_seconds: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """The log's lines as they are written, until the run is final (or its process is gone)."""
    run = load_run(runs_dir, run_id)
    position = 0
    pending = b""
    while True:
        current = load_run(runs_dir, run_id)
        done = current.state.is_final or current.process_alive is False
        try:
            with open(run.log_path, "rb") as handle:
                handle.seek(position)
                chunk = handle.read()
                position = handle.tell()
        except OSError:
            chunk = b""
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
        if done:
            if pending:
                yield pending.decode("utf-8", errors="replace")
            return
        sleep(poll_seconds)
