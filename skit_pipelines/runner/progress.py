"""A live per-step progress view of a run in the terminal (rich), fed by the runner's step events.

Why a separate class: the runner only emits :class:`StepEvent` objects, so the same run can feed a terminal
view, a webhook or a log. The view writes to the stream it was given *when it was created*, because the
local runner temporarily redirects ``sys.stdout`` to capture kfp's output while steps run.
"""

from __future__ import annotations

import time
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from skit_pipelines.runner.base import RunState, StepEvent

_STYLE = {
    RunState.PENDING: ("·", "dim"),
    RunState.RUNNING: ("▶", "yellow"),
    RunState.SUCCEEDED: ("✔", "green"),
    RunState.SKIPPED: ("↷", "dim"),
    RunState.FAILED: ("✘", "red"),
    RunState.CANCELING: ("…", "magenta"),
    RunState.CANCELED: ("■", "magenta"),
}


class RunProgressView:
    """``with RunProgressView(steps, file) as view: runner.run(..., on_event=view.update)``."""

    def __init__(self, pipeline: str, steps: list[str], file: IO[str], *, live: bool | None = None) -> None:
        self.pipeline = pipeline
        self.console = Console(file=file, highlight=False)
        self.states: dict[str, RunState] = {step: RunState.PENDING for step in steps}
        self.details: dict[str, str] = {}
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self._t0 = time.monotonic()
        use_live = self.console.is_terminal if live is None else live
        self._live: Live | None = (
            Live(
                self._render(),
                console=self.console,
                redirect_stdout=False,
                redirect_stderr=False,
                refresh_per_second=4,
                transient=False,
                get_renderable=self._render,
            )
            if use_live
            else None
        )

    def __enter__(self) -> RunProgressView:
        if self._live is not None:
            self._live.__enter__()
        else:
            self.console.print(Text(f"Running {self.pipeline} ({len(self.states)} steps)"))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(self, event: StepEvent) -> None:
        now = time.monotonic()
        self.states[event.step] = event.state
        if event.state == RunState.RUNNING:
            self.started.setdefault(event.step, now)
        elif event.state.is_final:
            self.finished[event.step] = now
        if event.detail:  # "cached", or why a step skipped or failed its job ("no SKIT_SLACK_TOKEN")
            self.details[event.step] = event.detail.splitlines()[0]
        else:
            self.details.pop(event.step, None)
        if self._live is None:  # plain lines for logs and pipes
            symbol, _ = _STYLE.get(event.state, ("?", ""))
            timing = self._elapsed(event.step)
            self.console.print(
                Text(f"  {symbol} {event.step}: {self._label(event.step, event.state)}{timing}")
            )

    def _label(self, step: str, state: RunState) -> str:
        detail = self.details.get(step)
        return state.value.lower() + (f": {detail}" if detail else "")

    def _elapsed(self, step: str) -> str:
        if step not in self.started:
            return ""
        end = self.finished.get(step, time.monotonic())
        return f" ({end - self.started[step]:.1f}s)"

    def _render(self) -> Table:
        table = Table(
            title=Text(f"{self.pipeline} — {time.monotonic() - self._t0:.0f}s"),
            title_justify="left",
            show_header=True,
            header_style="bold",
        )
        table.add_column("step")
        table.add_column("state")
        table.add_column("time", justify="right")
        for step, state in self.states.items():
            symbol, style = _STYLE.get(state, ("?", ""))
            label = Text(f"{symbol} {self._label(step, state)}", style=style)
            table.add_row(Text(step), label, self._elapsed(step).strip(" ()"))
        return table
