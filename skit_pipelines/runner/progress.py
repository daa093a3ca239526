"""A live per-step progress view of a run in the terminal (rich), fed by the runner's step events.

Why a separate class: the runner only emits :class:`StepEvent` objects, so the same run can feed a terminal
view, a webhook or a log. The view writes to the stream it was given *when it was created*, because the
local runner temporarily redirects ``sys.stdout`` to capture kfp's output while steps run.

A step that reports progress (model training: :mod:`skit_pipelines.progress_lines`) gets a progress bar per
epoch under its row: batches done of the epoch, loss, validation scores once the epoch is over, and the ETA
of the whole training (the last :data:`EPOCH_ROWS` epochs are shown). Without a terminal the view prints
plain lines instead: every finished epoch, and the running epoch at most every ``plain_interval`` seconds.
"""

from __future__ import annotations

import time
from typing import IO, Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from skit_pipelines.progress_lines import TrainingProgress, format_duration, format_loss
from skit_pipelines.runner.base import RunState, StepEvent

EPOCH_ROWS = 5
"""Epochs shown under a training step (the latest ones): enough to compare, few enough for a terminal."""
BAR_WIDTH = 24

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

    def __init__(
        self,
        pipeline: str,
        steps: list[str],
        file: IO[str],
        *,
        live: bool | None = None,
        plain_interval: float = 10.0,
    ) -> None:
        self.pipeline = pipeline
        self.plain_interval = plain_interval
        self.progress: dict[str, dict[int, TrainingProgress]] = {}
        self._plain_printed: dict[str, float] = {}
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
        if event.progress is not None:
            self._update_progress(event.step, event.progress)
            return
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

    def _update_progress(self, step: str, progress: TrainingProgress) -> None:
        """Keep the step's latest report of each epoch; print it when there is no live view (throttled)."""
        epochs = self.progress.setdefault(step, {})
        epochs[progress.epoch] = progress
        for old in sorted(epochs)[:-EPOCH_ROWS]:
            del epochs[old]
        if self._live is not None:
            return
        now = time.monotonic()
        last = self._plain_printed.get(step)
        if (
            progress.event == "epoch"
            or progress.batch == 1
            or last is None
            or now - last >= self.plain_interval
        ):
            self._plain_printed[step] = now
            # one line each, never wrapped: a log reader greps for them
            self.console.print(Text(f"  ▶ {step}: {progress.describe()}"), soft_wrap=True)

    def _label(self, step: str, state: RunState) -> str:
        detail = self.details.get(step)
        return state.value.lower() + (f": {detail}" if detail else "")

    def _elapsed(self, step: str) -> str:
        if step not in self.started:
            return ""
        end = self.finished.get(step, time.monotonic())
        return f" ({end - self.started[step]:.1f}s)"

    def render(self) -> Table:
        """The table the live view shows: one row per step, and under a training step a bar per epoch."""
        return self._render()

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
            for progress in self.progress.get(step, {}).values():
                table.add_row(*epoch_row(progress))
        return table


def epoch_row(progress: TrainingProgress) -> tuple[RenderableType, RenderableType, RenderableType]:
    """``  epoch 2/8 | ━━━━━━━━━━━━╸━━━━━━ 120/470 loss 0.4321 | ETA 5m12s``: one row under the step."""
    done = progress.event == "epoch"
    bar = ProgressBar(
        total=max(progress.batches, 1),
        completed=progress.batches if done else progress.batch,
        width=BAR_WIDTH,
        complete_style="green" if done else "yellow",
        finished_style="green",
    )
    numbers = [f"{progress.batch}/{progress.batches}", f"loss {format_loss(progress.loss)}"]
    if progress.validation_loss is not None:
        numbers.append(f"val loss {format_loss(progress.validation_loss)}")
    if progress.validation_accuracy is not None:
        numbers.append(f"val acc {progress.validation_accuracy:.3f}")
    if progress.validation_macro_f1 is not None:
        numbers.append(f"val F1 {progress.validation_macro_f1:.3f}")
    cell = Table.grid(padding=(0, 1))
    cell.add_row(bar, Text(" ".join(numbers), style="" if done else "yellow"))
    eta = "" if progress.eta_s is None else f"ETA {format_duration(progress.eta_s)}"
    return Text(f"  epoch {progress.epoch}/{progress.epochs}", style="dim"), cell, Text(eta, style="dim")
