"""Turns kfp's local-runner console output into step events and per-step logs.

kfp.local prints everything (its own progress lines and each task's streamed output) to ``sys.stdout``
and offers no callback. Rather than patching kfp, the local runner redirects stdout into this tap, which
keeps the full log in the run folder (without kfp's terminal colour codes), splits it by task, and
recognises kfp's progress lines ("Executing task 'x'", "Task 'x' finished with status SUCCESS", ...). kfp is
pinned (2.17.0), and the tests run real pipelines through this tap, so a change of kfp's wording fails
loudly there.

Step outputs: kfp's executor logs "Wrote executor output file to <path>" in each step; when the step
succeeds the tap reads that file, so the outputs of every step that succeeded are known even when a later
step fails (kfp then returns no pipeline outputs at all). A step's ``message`` output becomes the detail of
its event, and a message starting with ``skipped:`` or ``failed:`` makes the event SKIPPED or FAILED: a
step that did not do its job (a Slack notification without a token) is not shown as done. Such a step does
not fail the run; only kfp's own FAILURE does.

Progress: a line a step prints in the format of :mod:`skit_pipelines.progress_lines` (the training loop's
epoch, batch, loss, validation scores and ETA) becomes a RUNNING event carrying that progress, and the latest
one of each step is kept (``task_progress``). Every line is on disk before its event is sent, so whoever
reacts to an event finds the line in ``run.log``.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import IO, Any

from skit_pipelines.progress_lines import ProgressLineError, TrainingProgress, parse_progress_line
from skit_pipelines.runner.base import EventCallback, RunState, StepEvent

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PREFIX = r"^\d\d:\d\d:\d\d\.\d+ - (?:INFO|ERROR|WARNING) - "
_EXECUTING = re.compile(_PREFIX + r"Executing task '(?P<task>[^']+)'")
_FINISHED = re.compile(_PREFIX + r"Task '(?P<task>[^']+)' finished with status (?P<status>SUCCESS|FAILURE)")
_SKIPPING = re.compile(_PREFIX + r"Skipping (?:conditional )?task '?(?P<task>[^\s:']+)")
_PIPELINE_DONE = re.compile(
    _PREFIX + r"Pipeline '(?P<pipeline>[^']+)' finished with status (?P<status>SUCCESS|FAILURE)"
)
_CACHE_HIT = re.compile(_PREFIX + r"Task '?(?P<task>[^\s:']+)'? cache hit")
_WROTE_OUTPUT = re.compile(r"^\[KFP Executor [^\]]*\]: Wrote executor output file to (?P<path>.+)\.$")
_SOFT_STATES = {"skipped:": RunState.SKIPPED, "failed:": RunState.FAILED}


class KfpLogTap(io.TextIOBase):
    """A write-only text stream: log file + task events + the last lines of every task."""

    def __init__(self, log_file: IO[str], on_event: EventCallback | None = None) -> None:
        super().__init__()
        self._log_file = log_file
        self._on_event = on_event
        self._pending = ""
        self.current_task: str | None = None
        self.task_logs: dict[str, list[str]] = defaultdict(list)
        self.task_states: dict[str, RunState] = {}
        self.pipeline_status: str | None = None
        self.failed_tasks: list[str] = []
        self.task_outputs: dict[str, dict[str, Any]] = {}
        self.task_progress: dict[str, TrainingProgress] = {}
        self._output_files: dict[str, str] = {}

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            clean = _ANSI.sub("", line)
            self._log_file.write(clean + "\n")
            # on disk line by line, before its event: if the process is killed, the API shows what the step
            # said, and a progress event's line is already in the log
            self._log_file.flush()
            self._handle_line(clean)
        return len(text)

    def flush(self) -> None:
        self._log_file.flush()

    def close_tap(self) -> None:
        """Process a final line without newline; the log file stays open (the caller owns it)."""
        if self._pending:
            clean = _ANSI.sub("", self._pending)
            self._log_file.write(clean)
            self._handle_line(clean)
            self._pending = ""
        self._log_file.flush()

    def mark(self, task: str, state: RunState, detail: str = "") -> None:
        """Record a state kfp did not print (e.g. a step skipped by a false condition)."""
        self._emit(task, state, detail)

    def _emit(self, task: str, state: RunState, detail: str = "") -> None:
        self.task_states[task] = state
        if self._on_event is not None:
            self._on_event(StepEvent(step=task, state=state, detail=detail))

    def _handle_line(self, line: str) -> None:
        if match := _EXECUTING.match(line):
            self.current_task = match["task"]
            self._emit(self.current_task, RunState.RUNNING)
            return
        if match := _FINISHED.match(line):
            task = match["task"]
            if match["status"] == "SUCCESS":
                message = str(self._read_outputs(task).get("message") or "").strip()
                for prefix, soft_state in _SOFT_STATES.items():
                    if message.startswith(prefix):
                        self._emit(task, soft_state, message.removeprefix(prefix).strip())
                        break
                else:
                    self._emit(task, RunState.SUCCEEDED)
            else:  # the traceback is in error_summary(task) and in the run's error, not in the event
                self.failed_tasks.append(task)
                self._emit(task, RunState.FAILED)
            self.current_task = None
            return
        if match := _SKIPPING.match(line):
            self._emit(match["task"], RunState.SKIPPED)
            return
        if match := _CACHE_HIT.match(line):
            self._emit(match["task"], RunState.SUCCEEDED, "cached")
            return
        if match := _PIPELINE_DONE.match(line):
            self.pipeline_status = match["status"]
            return
        if self.current_task is not None:
            task_lines = self.task_logs[self.current_task]
            task_line = line[4:] if line.startswith("    ") else line
            task_lines.append(task_line)
            if match := _WROTE_OUTPUT.match(task_line):
                self._output_files[self.current_task] = match["path"]
            self._progress(self.current_task, task_line)
            if len(task_lines) > 2000:  # keep memory bounded on chatty steps; the full log is on disk
                del task_lines[:1000]

    def _progress(self, task: str, line: str) -> None:
        """A progress line of ``task`` → the task's latest progress and a RUNNING event carrying it."""
        try:
            progress = parse_progress_line(line)
        except ProgressLineError:  # a malformed report is an ordinary line of the log, never a failure
            return
        if progress is None:
            return
        self.task_progress[task] = progress
        if self._on_event is not None:
            self._on_event(StepEvent(step=task, state=RunState.RUNNING, progress=progress))

    def _read_outputs(self, task: str) -> dict[str, Any]:
        """The parameter outputs the step wrote ({} when it wrote none or the file is unreadable)."""
        path = self._output_files.get(task)
        if not path:
            return {}
        try:
            written = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        outputs = written.get("parameterValues") if isinstance(written, dict) else None
        if isinstance(outputs, dict):
            self.task_outputs[task] = outputs
            return outputs
        return {}

    def error_summary(self, task: str) -> str:
        """The traceback (or the last lines) a failed task printed, without kfp's executor chatter."""
        lines = [line for line in self.task_logs.get(task, []) if line.strip()]
        for index in range(len(lines) - 1, -1, -1):
            if lines[index].startswith("Traceback (most recent call last)"):
                return "\n".join(lines[index:])
        return "\n".join(lines[-20:])


def step_log_lines(lines: list[str], step: str) -> list[str]:
    """What ``step`` printed, from a run's full log: the lines between kfp's "Executing task" and "Task ...
    finished" lines of that step (kfp's own lines included, the indentation of the step's lines removed)."""
    selected: list[str] = []
    inside = False
    for line in lines:
        if match := _EXECUTING.match(line):
            inside = match["task"] == step
        if inside:
            selected.append(line[4:] if line.startswith("    ") else line)
        if (match := _FINISHED.match(line)) and match["task"] == step:
            inside = False
    return selected
