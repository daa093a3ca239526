"""Progress lines: the one format a step uses to say how far a long computation (model training) has got.

Why a line format and not a callback: a step is a separate process (a kfp subprocess locally, a container on
a cluster) whose only channel to the runner is its output. So the training loop reports
:class:`TrainingProgress` values to a callback, the step prints them with :class:`ProgressPrinter` as
single lines, and whoever reads the step's output (the local runner's log tap, hence the CLI view and the
API's run status) recognises them with :func:`parse_progress_line`.

The format, documented in docs/api.md and the README: the prefix ``skit-progress `` followed by one JSON
object on the same line::

    skit-progress {"event":"batch","epoch":2,"epochs":8,"batch":120,"batches":470,"loss":0.4321,
                   "elapsed_s":301.2,"eta_s":912.0,"validation_loss":null,...}

``event`` is ``batch`` (after a batch; ``loss`` is the epoch's mean training loss so far) or ``epoch`` (the
epoch is over; the validation fields are set when there is validation data). ``batch``/``batches`` count
the batches of the current epoch; ``eta_s`` is the time left for the whole training. Readers ignore keys
they do not know, so a field can be added without breaking an older reader. Pure: no settings, no storage.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO, Any

from skit_pipelines.errors import SkitPipelinesError

PREFIX = "skit-progress "
EVENTS = ("batch", "epoch")
_INTS = ("epoch", "epochs", "batch", "batches")
_FLOATS = ("loss", "elapsed_s")
_OPTIONAL_FLOATS = ("eta_s", "validation_loss", "validation_accuracy", "validation_macro_f1")


class ProgressLineError(SkitPipelinesError, ValueError):
    """A line with the progress prefix whose JSON is not a progress report; the message names the field."""


@dataclass(frozen=True)
class TrainingProgress:
    """Where a training loop stands: epoch and batch (1-based), running loss, timing, validation scores."""

    event: str
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    elapsed_s: float
    eta_s: float | None = None
    validation_loss: float | None = None
    validation_accuracy: float | None = None
    validation_macro_f1: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: floats rounded for reading, NaN/inf (a diverging loss) as null."""
        return {key: _finite(value) for key, value in asdict(self).items()}

    def describe(self) -> str:
        """One human line: ``epoch 2/8, batch 120/470, loss 0.4321, ETA 15m12s`` (validation scores after
        an epoch)."""
        parts = [f"epoch {self.epoch}/{self.epochs}"]
        if self.event == "epoch":
            parts.append(f"done, train loss {format_loss(self.loss)}")
        else:
            parts.append(f"batch {self.batch}/{self.batches}, loss {format_loss(self.loss)}")
        if self.validation_loss is not None:
            parts.append(f"validation loss {format_loss(self.validation_loss)}")
        if self.validation_accuracy is not None:
            parts.append(f"accuracy {self.validation_accuracy:.3f}")
        if self.validation_macro_f1 is not None:
            parts.append(f"macro F1 {self.validation_macro_f1:.3f}")
        if self.eta_s is not None:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        return ", ".join(parts)


ProgressCallback = Callable[[TrainingProgress], None]


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def format_loss(value: float | None) -> str:
    """A loss to 4 decimals; ``n/a`` for none or a diverging (NaN, infinite) one."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"


def format_duration(seconds: float) -> str:
    """``4m05s``, ``1h02m03s``: durations and ETAs in progress lines and logs."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_progress_line(progress: TrainingProgress) -> str:
    """The line a step prints (no newline): the prefix and compact JSON."""
    return PREFIX + json.dumps(progress.as_dict(), separators=(",", ":"), allow_nan=False)


def parse_progress_line(line: str) -> TrainingProgress | None:
    """The progress a line reports, or None when it is not a progress line (any other output of a step).

    Leading and trailing white space is ignored (kfp indents a step's output). A line that starts with the
    prefix but carries no valid report raises :class:`ProgressLineError` naming what is wrong.
    """
    text = line.strip()
    if not text.startswith(PREFIX):
        return None
    payload = text[len(PREFIX) :]
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise ProgressLineError(f"progress line: not JSON after {PREFIX.strip()!r}: {exc}") from None
    if not isinstance(data, dict):
        raise ProgressLineError(f"progress line: expected a JSON object, got {type(data).__name__}")
    if data.get("event") not in EVENTS:
        raise ProgressLineError(
            f"progress line: event must be one of {', '.join(EVENTS)}, got {data.get('event')!r}"
        )
    values: dict[str, Any] = {"event": data["event"]}
    for name in _INTS:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ProgressLineError(f"progress line: {name} must be a whole number >= 0, got {value!r}")
        values[name] = value
    for name in _FLOATS + _OPTIONAL_FLOATS:
        value = data.get(name)
        if value is None and name in _OPTIONAL_FLOATS:
            values[name] = None
            continue
        if value is None and name in _FLOATS and name in data:  # a NaN loss was written as null
            values[name] = math.nan
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProgressLineError(f"progress line: {name} must be a number, got {value!r}")
        values[name] = float(value)
    return TrainingProgress(**values)


class ProgressPrinter:
    """A :data:`ProgressCallback` that prints progress lines to ``stream``, flushed, at most one batch line
    every ``min_interval`` seconds.

    Why throttle here: the loop reports every batch (thousands in a long training); a reader needs a line
    every second or two, and every line is also a write to the run's log (and to the API's database). The
    first and the last batch of an epoch and every ``epoch`` report are always printed.
    """

    def __init__(
        self, stream: IO[str], *, min_interval: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.min_interval = min_interval
        self.clock = clock
        self._last: float | None = None

    def __call__(self, progress: TrainingProgress) -> None:
        now = self.clock()
        boundary = progress.event == "epoch" or progress.batch in (1, progress.batches)
        if not boundary and self._last is not None and now - self._last < self.min_interval:
            return
        self._last = now
        self.stream.write(format_progress_line(progress) + "\n")
        self.stream.flush()
