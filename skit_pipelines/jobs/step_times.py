"""Wall time of each step of a long job, for its log and its result.

Why: a retraining run spends minutes in one step (training) and seconds in many (git, DVC, evaluation,
reports). Reporting where the time went lets a user see what to expect of the next run, and lets the
benchmark measure what the machinery around training costs (``make bench``: retrain overhead) from the
run itself instead of from a second, differently warmed-up run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["StepTimes"]


@dataclass
class StepTimes:
    """Seconds per named step, in the order the steps first ran; a step timed twice adds up."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the body as step ``name`` (also when it raises: the time was spent)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def line(self) -> str:
        """``step times: checkout 1.2 s, train 30.5 s, ... (total 40.1 s)``."""
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        return f"step times: {parts} (total {self.total:.1f} s)"
