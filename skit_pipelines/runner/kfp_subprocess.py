"""How each step of a local run is started: kfp 2.17.0's SubprocessRunner with two of its habits removed.

kfp's ``SubprocessTaskHandler`` runs a step as ``sh -ec '<script>' <component source> --executor_input
<json> ...`` after replacing the text ``python3`` in every element by the interpreter's path. That has two
consequences we cannot accept and kfp offers no hook for:

* the executor input, i.e. every parameter value of the step, is on the command line, where ``ps`` shows
  it to every user of the machine (and where one value over 128 KiB makes the start fail);
* ``python3`` inside a value is rewritten (``use_case=python3`` arrived as ``.../bin/python``).

:class:`PrivateArgsTaskHandler` starts the same step differently: it writes the component source and the
executor input into a private folder (mode 0700, inside the run's temp folder) and runs
``<this interpreter> -m skit_pipelines.runner.kfp_step_main <folder> <function>``, which calls kfp's own
executor on them. It also swaps the tokens of :mod:`skit_pipelines.runner.kfp_values` back into the
values, and sets ``PYTHONUNBUFFERED`` so that the step's output is streamed line by line instead of in 8 KiB
blocks. Nothing else changes: kfp still builds the executor input, streams the output, reads the outputs.

kfp picks its handler from ``kfp.local.subprocess_task_handler.SubprocessTaskHandler`` when each task
starts, so :func:`install` replaces that one attribute. The adaptation depends on kfp's internals, hence the
version check: with another kfp it refuses to run rather than misbehave (kfp is pinned to 2.17.0).
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kfp
from kfp.local import status, subprocess_task_handler

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.runner.kfp_values import reveal

SUPPORTED_KFP = "2.17."
# The element of kfp's command after which the component's source follows (as kfp itself finds it).
_SOURCE_MARKERS = ('"$program_path/ephemeral_component.py"', '"$@"')

_lock = threading.Lock()
_tokens: dict[str, str] = {}


class UnsupportedStepError(SkitPipelinesError, RuntimeError):
    """A step the local runner cannot start without putting its values on the command line."""


def split_kfp_command(full_command: list[str]) -> tuple[str, str, dict[str, Any]]:
    """``(component source, function name, executor input)`` from kfp's command for a lightweight step."""
    index = next(
        (i for i, element in enumerate(full_command) if all(m in element for m in _SOURCE_MARKERS)), -1
    )
    if index < 0:
        raise UnsupportedStepError("only lightweight Python components run on the local runner")
    if any("pip install" in element for element in full_command[:index]):
        raise UnsupportedStepError(
            "components with packages_to_install or install_kfp_package do not run on the local runner: "
            "install the packages into this environment and use skit_pipelines.components.component"
        )
    source, flags = full_command[index + 1], full_command[index + 2 :]
    options = dict(zip(flags[::2], flags[1::2], strict=False))
    return source, options["--function_to_execute"], json.loads(options["--executor_input"])


class PrivateArgsTaskHandler(subprocess_task_handler.SubprocessTaskHandler):
    """kfp's subprocess handler, starting the step with its values in a private file instead of argv."""

    def run(self) -> status.Status:
        if self.runner.use_venv:  # not how our LocalRunner runs: leave kfp's own venv handling alone
            return super().run()
        source, function, executor_input = split_kfp_command(self.full_command)
        with _lock:
            tokens = dict(_tokens)
        executor_input["inputs"] = reveal(executor_input.get("inputs", {}), tokens)
        # mkdtemp makes the folder 0700: only this user can read the values.
        with tempfile.TemporaryDirectory(prefix="skit-step-") as folder:
            Path(folder, "ephemeral_component.py").write_text(source, encoding="utf-8")
            Path(folder, "executor_input.json").write_text(json.dumps(executor_input), encoding="utf-8")
            command = [sys.executable, "-m", "skit_pipelines.runner.kfp_step_main", folder, function]
            return_code = subprocess_task_handler.run_local_subprocess(
                full_command=command,
                # unbuffered output: the step's lines reach the run's log as they are written
                env_vars={**self.env_vars, "_KFP_RUNTIME": "true", "PYTHONUNBUFFERED": "1"},
            )
        return status.Status.SUCCESS if return_code == 0 else status.Status.FAILURE


def install() -> None:
    """Make kfp's SubprocessRunner start steps with :class:`PrivateArgsTaskHandler` (idempotent)."""
    if not kfp.__version__.startswith(SUPPORTED_KFP):
        raise RuntimeError(
            f"the local runner is adapted to kfp {SUPPORTED_KFP}x (see skit_pipelines/runner/"
            f"kfp_subprocess.py); this environment has kfp {kfp.__version__}"
        )
    subprocess_task_handler.SubprocessTaskHandler = PrivateArgsTaskHandler  # type: ignore[misc]


@contextlib.contextmanager
def revealing(tokens: dict[str, str]) -> Iterator[None]:
    """Steps started inside the block get the values behind ``tokens`` (one run per process at a time)."""
    with _lock:
        _tokens.clear()
        _tokens.update(tokens)
    try:
        yield
    finally:
        with _lock:
            _tokens.clear()
