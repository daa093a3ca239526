"""The local backend: kfp's own local runner, ``SubprocessRunner(use_venv=False)``, offline.

Each step runs as a subprocess of the current Python environment (where this package is installed), so a
run needs no cluster, no image and no network. Everything a run leaves behind lives in
``.skit/runs/<run-id>/``: kfp's outputs, the component temp folders (kfp leaves one per task unless
``TMPDIR`` points somewhere we own), the full log, and ``run.json`` (the run record).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from skit_pipelines.config import Settings
from skit_pipelines.localfiles import atomic_open
from skit_pipelines.pipelines import get_pipeline, normalise_name
from skit_pipelines.pipelines.parameters import coerce_arguments
from skit_pipelines.runner import kfp_subprocess
from skit_pipelines.runner.base import EventCallback, PipelineRunError, RunResult, RunState, new_run_id
from skit_pipelines.runner.kfp_log_tap import KfpLogTap
from skit_pipelines.runner.kfp_values import protect, reveal
from skit_pipelines.runner.local_runs import process_identity


def pipeline_steps(pipeline: Any) -> list[str]:
    """Names of the steps (leaf tasks) a run may execute, in a dependency-respecting order.

    Steps inside conditions or nested pipelines are listed where their DAG sits, so a progress view can
    show them up front (and mark them skipped when a condition is false).
    """
    spec = pipeline.pipeline_spec
    return _dag_steps(spec.root.dag, spec.components)


def _dag_steps(dag: Any, components: Any) -> list[str]:
    tasks = dag.tasks
    order: list[str] = []
    remaining = dict(tasks.items())
    while remaining:
        ready = [
            name
            for name, task in remaining.items()
            if all(dep in order or dep not in tasks for dep in task.dependent_tasks)
        ]
        ready = ready or list(remaining)  # a cycle cannot happen in a valid spec; be safe anyway
        for name in sorted(ready):
            order.append(name)
            remaining.pop(name)
    steps: list[str] = []
    for name in order:
        component = components[tasks[name].component_ref.name]
        if component.WhichOneof("implementation") == "dag":
            steps.extend(_dag_steps(component.dag, components))
        else:
            steps.append(name)
    return steps


@contextlib.contextmanager
def _run_environment(run_dir: Path, extra: Mapping[str, str]) -> Iterator[None]:
    """Point temp files of this process and of every step at the run folder, set ``extra``, then restore."""
    tmp = run_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "SKIT_RUN_DIR", *extra)}
    saved_tempdir = tempfile.tempdir
    os.environ["TMPDIR"] = str(tmp)
    os.environ["SKIT_RUN_DIR"] = str(run_dir)
    os.environ.update(extra)
    tempfile.tempdir = None  # recomputed from TMPDIR
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        tempfile.tempdir = saved_tempdir


def _plain(value: Any) -> Any:
    """Outputs as JSON-friendly values (kfp hands back artifacts as objects)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    uri = getattr(value, "uri", None)
    return uri if uri is not None else str(value)


class LocalRunner:
    """Runs registered pipelines on ``kfp.local.SubprocessRunner(use_venv=False)``."""

    backend = "local"

    def __init__(self, runs_dir: Path, environment: Mapping[str, str] | None = None) -> None:
        """``environment``: settings (``SKIT_*`` variables) that every step of a run sees, e.g. the demo
        warehouse's URL for ``skit-pipelines demo`` whatever SKIT_WAREHOUSE_URL says."""
        self.runs_dir = Path(runs_dir).resolve()
        self.environment = dict(environment or {})

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalRunner:
        return cls(settings.runs_dir)

    def run(
        self,
        pipeline_name: str,
        arguments: dict[str, Any],
        *,
        on_event: EventCallback | None = None,
        run_name: str | None = None,
    ) -> RunResult:
        name = normalise_name(pipeline_name)
        pipeline = get_pipeline(name)
        return self.run_pipeline(pipeline, name, arguments, on_event=on_event, run_name=run_name)

    def run_pipeline(
        self,
        pipeline: Any,
        name: str,
        arguments: dict[str, Any],
        *,
        on_event: EventCallback | None = None,
        run_name: str | None = None,
        pipeline_ref: str = "",
    ) -> RunResult:
        """Run a kfp pipeline object that is not (necessarily) registered: benchmarks, tests, plugins.

        ``pipeline_ref`` (``module:attribute``) is recorded so that ``skit-pipelines runs retry`` finds a
        pipeline that is not in the registry; the record also names this process (``runs cancel``)."""
        from kfp import local

        typed = coerce_arguments(name, pipeline, arguments)
        tokens: dict[str, str] = {}
        protected = protect(typed, tokens)  # values reach the steps byte for byte (see kfp_values)
        kfp_subprocess.install()
        run_id = new_run_id()
        run_dir = self.runs_dir / run_id
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        run_dir.mkdir(mode=0o700, exist_ok=False)  # logs and records hold parameter values
        started = dt.datetime.now(dt.timezone.utc)
        record: dict[str, Any] = {
            "run_id": run_id,
            "run_name": run_name or f"{name} {started:%Y-%m-%d %H:%M:%S}",
            "pipeline": name,
            "backend": self.backend,
            "arguments": typed,
            "steps": pipeline_steps(pipeline),
            "started_at": started.isoformat(),
            "process": process_identity(),
        }
        if pipeline_ref:
            record["pipeline_ref"] = pipeline_ref
        self._write_record(run_dir, record | {"state": RunState.RUNNING.value})

        outputs: dict[str, Any] = {}
        crash: BaseException | None = None
        t0 = time.monotonic()
        with (
            open(run_dir / "run.log", "w", encoding="utf-8") as log_file,
            _run_environment(run_dir, self.environment),
        ):
            tap = KfpLogTap(log_file, on_event)
            local.init(
                runner=local.SubprocessRunner(use_venv=False),
                pipeline_root=str(run_dir / "outputs"),
                workspace_root=str(run_dir / "workspace"),
                raise_on_error=False,
            )
            try:
                with (
                    contextlib.redirect_stdout(tap),
                    warnings.catch_warnings(),
                    kfp_subprocess.revealing(tokens),
                ):
                    # kfp warns that our image name does not contain "python": locally the image is unused.
                    warnings.filterwarnings("ignore", message=".*non-Python base image.*")
                    task = pipeline(**protected)
                outputs = reveal(_plain(dict(getattr(task, "outputs", {}) or {})), tokens)
            except Exception as exc:  # kfp itself failed (not a step): report, never hide it
                crash = exc
            finally:
                tap.close_tap()

        if crash is None and tap.pipeline_status == "SUCCESS":
            # kfp.local does not log steps whose condition was false: they are the steps it never ran.
            for step in record["steps"]:
                if step not in tap.task_states:
                    tap.mark(step, RunState.SKIPPED)

        if crash is not None:
            state, failed_step = RunState.FAILED, ""
            error = f"{type(crash).__name__}: {crash}"
        elif tap.failed_tasks or tap.pipeline_status == "FAILURE":
            state = RunState.FAILED
            failed_step = tap.failed_tasks[0] if tap.failed_tasks else ""
            error = tap.error_summary(failed_step) if failed_step else "pipeline failed"
        elif tap.pipeline_status == "SUCCESS":
            state, failed_step, error = RunState.SUCCEEDED, "", ""
        else:
            raise PipelineRunError(f"kfp gave no final status for run {run_id}; see {run_dir / 'run.log'}")

        step_outputs = {
            step: reveal(tap.task_outputs[step], tokens)
            for step in record["steps"]
            if step in tap.task_outputs
        }
        record |= {
            "state": state.value,
            "outputs": outputs,
            "step_outputs": step_outputs,
            "failed_step": failed_step,
            "error": error,
            "step_states": {step: s.value for step, s in tap.task_states.items()},
            "progress": {step: p.as_dict() for step, p in tap.task_progress.items()},
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "seconds": round(time.monotonic() - t0, 3),
        }
        self._write_record(run_dir, record)
        return RunResult(
            run_id=run_id,
            pipeline=name,
            backend=self.backend,
            state=state,
            run_url=run_dir.as_uri(),
            outputs=outputs,
            failed_step=failed_step,
            error=error,
            run_dir=str(run_dir),
            step_outputs=step_outputs,
        )

    @staticmethod
    def _write_record(run_dir: Path, record: dict[str, Any]) -> None:
        with atomic_open(run_dir / "run.json", "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, default=str)
