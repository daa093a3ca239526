"""The process of one step on a Kubeflow cluster: kfp's own command, then its outputs published.

``python3 -m skit_pipelines.runner.kfp_cluster_step <kfp's command and arguments...>``: the compiled YAML of
a cluster-configured pipeline starts every step this way (:func:`skit_pipelines.podconfig.configure_task`).
kfp's command runs unchanged as a child process (its output streams through, signals are passed on, its
exit status is ours). When it succeeded, the parameter outputs kfp's executor wrote (to the ``outputFile``
named in ``--executor_input``) are stored in the artifact store for the runner to read back (see
:mod:`skit_pipelines.runner.kfp_outputs` for why). Publishing is best effort: a step that did its work is
never failed because its outputs could not be reported; the reason is printed to the step's log.

An entry point: it reads the settings (the pod's environment, from the configured secret) to reach the
artifact store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from skit_pipelines.podconfig import RUN_ID_VARIABLE, TASK_VARIABLE


def executor_output_file(argv: list[str]) -> str:
    """The ``outputs.outputFile`` of the ``--executor_input`` among kfp's arguments ('' when none)."""
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "--executor_input":
            try:
                executor_input = json.loads(value)
            except ValueError:
                return ""
            return str((executor_input.get("outputs") or {}).get("outputFile") or "")
    return ""


def written_outputs(path: str) -> dict[str, Any]:
    """The parameter values kfp's executor wrote ({} when the file is missing or unreadable)."""
    try:
        written = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    values = written.get("parameterValues") if isinstance(written, dict) else None
    return values if isinstance(values, dict) else {}


def publish(argv: list[str], environ: dict[str, str]) -> str:
    """Publish the step's outputs; returns what happened, for the step's log."""
    run_id, task = environ.get(RUN_ID_VARIABLE, ""), environ.get(TASK_VARIABLE, "")
    if not run_id or not task:
        return f"outputs not published: {RUN_ID_VARIABLE} or {TASK_VARIABLE} is not set"
    output_file = executor_output_file(argv)
    if not output_file:
        return "outputs not published: kfp passed no executor output file"
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings
    from skit_pipelines.runner.kfp_outputs import publish_step_outputs

    runtime.configure(get_settings().runtime())
    uri = publish_step_outputs(run_id, task, written_outputs(output_file))
    return f"outputs published to {uri}"


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m skit_pipelines.runner.kfp_cluster_step COMMAND [ARGS...]", file=sys.stderr)
        return 2
    child = subprocess.Popen(argv)  # kfp's own command, from the compiled YAML

    def forward(signum: int, _frame: Any) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    code = child.wait()
    if code != 0:
        return code
    try:
        print(f"[skit-pipelines] {publish(argv, dict(os.environ))}", flush=True)
    except Exception as exc:  # best effort: the step did its work (see the module docstring)
        print(f"[skit-pipelines] outputs not published: {type(exc).__name__}: {exc}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
