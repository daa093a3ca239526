"""(c) Local runner overhead per step: a chain of no-op steps on the local runner vs calling them directly.

The direct calls take microseconds, so the ratio is huge by nature; the useful figure is the overhead per
step in seconds. For scale, the run also times a bare interpreter start (``python -c pass``): the floor of
any runner that starts one process per step. (No ``from __future__ import annotations`` here: kfp reads
the real annotation objects of component signatures.)
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from kfp import dsl

from bench.common import Measurement, timed
from skit_pipelines.components import component
from skit_pipelines.runner.local import LocalRunner

STEPS = 5


@component
def noop_step(value: int) -> int:
    """Does nothing but pass a number on: all that is measured is the runner."""
    return value + 1


@dsl.pipeline(name="bench-noop-chain")
def noop_chain(start: int = 0) -> int:
    """A chain of no-op steps."""
    task = noop_step(value=start).set_caching_options(enable_caching=False)
    for _ in range(STEPS - 1):
        task = noop_step(value=task.output).set_caching_options(enable_caching=False)
    return task.output


def bench_runner_overhead(repeat: int = 2) -> Measurement:
    with tempfile.TemporaryDirectory() as work:
        runner = LocalRunner(Path(work) / "runs")
        run_seconds, result = timed(lambda: runner.run_pipeline(noop_chain, "bench_noop_chain", {}), repeat)
    if not result.succeeded or result.outputs.get("Output") not in (STEPS, float(STEPS)):
        raise AssertionError(
            f"no-op chain did not run as expected: {result.state} {result.outputs} {result.error}"
        )

    def direct() -> int:
        value = 0
        for _ in range(STEPS):
            value = noop_step.python_func(value=value)
        return value

    direct_seconds, _ = timed(direct, repeat=100)
    startup_seconds, _ = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), repeat=5)
    return Measurement(
        name=f"local runner: {STEPS} no-op steps",
        seconds=run_seconds,
        baseline=f"the same {STEPS} functions called directly",
        baseline_seconds=direct_seconds,
        extra={
            "overhead_per_step_s": round((run_seconds - direct_seconds) / STEPS, 3),
            "python_startup_s": round(startup_seconds, 3),
        },
    )
