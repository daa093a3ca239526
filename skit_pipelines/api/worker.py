"""A worker process: runs one claimed local run on the local runner and writes its result to the database.

``python -m skit_pipelines.api.worker <run-id>`` is started by the API's worker pool (its own session, so
stopping or restarting the API does not stop the run). While the pipeline runs, a thread keeps the run's
heartbeat fresh and every step event (and the latest progress line of a training step) is written to the
run; at the end the final state, outputs, error and error logs are written in one transaction together with
the notifications the run owes. The API that is alive then (the same one or a restarted one) sends them.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from skit_pipelines import runtime
from skit_pipelines.api.settings import get_api_settings
from skit_pipelines.api.store import RunStore
from skit_pipelines.config import get_settings
from skit_pipelines.readpolicy import api_policy
from skit_pipelines.runner.base import RunState, StepEvent, load_pipeline

logger = logging.getLogger("skit_pipelines.api.worker")

ERROR_LOGS_LIMIT = 100_000  # characters kept of a failed run's logs


def find_run_dir(runs_dir: Path, run_name: str, newest: int = 50) -> str:
    """The local runner's folder of this run (its ``run.json`` names it), among the newest folders.

    Recorded as soon as the first step starts so that, if this worker is killed, the API can still show
    what the step logged (``run.log``)."""
    try:
        folders = sorted((p for p in runs_dir.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
    except OSError:
        return ""
    for folder in folders[:newest]:
        try:
            if json.loads((folder / "run.json").read_text(encoding="utf-8")).get("run_name") == run_name:
                return str(folder)
        except (OSError, ValueError, AttributeError):
            continue
    return ""


def stop_own_steps() -> None:
    """The run became final elsewhere (canceled): end this worker and the steps it started."""
    if os.getpgrp() == os.getpid():  # started by the pool: its own session, steps included
        os.killpg(os.getpgrp(), signal.SIGTERM)
    else:
        os.kill(os.getpid(), signal.SIGTERM)


def _one_line(error: str) -> str:
    lines = [line.strip() for line in (error or "").strip().splitlines() if line.strip()]
    return lines[-1][:1000] if lines else ""


def run_worker(run_id: str) -> int:
    settings = get_settings()
    api_settings = get_api_settings()
    runtime.configure(settings.runtime())
    # Runs of the API read only what its read policy allows; the steps (subprocesses) inherit it.
    os.environ.update(
        api_policy(
            settings.effective_artifact_root, api_settings.api_readable_paths, settings.secret_paths
        ).environment()
    )
    store = RunStore.from_url(settings.effective_database_url)
    try:
        run = store.get_run(run_id)
        if run is None or run.state != RunState.RUNNING:
            logger.error(
                "run %s is not waiting for a worker (%s)", run_id, run.state.value if run else "missing"
            )
            return 1
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(api_settings.api_heartbeat_seconds):
                try:
                    unfinished = store.heartbeat(run_id)
                except Exception:  # a missed beat is not fatal; the next one may get through
                    logger.warning("heartbeat of run %s not written", run_id, exc_info=True)
                    continue
                if not unfinished and not stop.is_set():
                    logger.warning("run %s was finished elsewhere (canceled); stopping its steps", run_id)
                    stop_own_steps()

        heart = threading.Thread(target=beat, name="heartbeat", daemon=True)
        heart.start()
        steps: dict[str, str] = dict(run.step_states)
        run_name = f"{run.pipeline} {run_id}"
        run_dir = ""

        def on_event(event: StepEvent) -> None:
            nonlocal run_dir
            if event.progress is not None:  # a progress line (throttled by the step): only that changed
                try:
                    store.update_progress(run_id, progress={"step": event.step, **event.progress.as_dict()})
                except Exception:
                    logger.warning("progress of run %s not written", run_id, exc_info=True)
                return
            steps[event.step] = event.state.value
            progress: dict[str, Any] = {"step_states": steps}
            if not run_dir:
                run_dir = find_run_dir(Path(settings.runs_dir).resolve(), run_name)
                if run_dir:
                    progress["run_dir"] = run_dir
            try:
                store.update_progress(run_id, **progress)
            except Exception:
                logger.warning("step state of run %s not written", run_id, exc_info=True)

        try:
            from skit_pipelines.runner.local import LocalRunner

            pipeline = load_pipeline(run.pipeline_ref, run.pipeline)
            result = LocalRunner.from_settings(settings).run_pipeline(
                pipeline,
                run.pipeline,
                run.arguments,
                on_event=on_event,
                run_name=run_name,
                pipeline_ref=run.pipeline_ref,
            )
        except Exception as exc:
            logs = traceback.format_exc()
            store.finish_run(
                run_id,
                RunState.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:1000],
                error_logs=logs[-ERROR_LOGS_LIMIT:],
                step_states=steps,
            )
            return 1
        finally:
            stop.set()
        store.finish_run(
            run_id,
            result.state,
            outputs=result.outputs,
            failed_step=result.failed_step,
            error=_one_line(result.error),
            error_logs=(result.error or "")[-ERROR_LOGS_LIMIT:] if not result.succeeded else "",
            step_states=steps,
            backend_run_id=result.run_id,
            run_dir=result.run_dir,
        )
        return 0
    finally:
        store.dispose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m skit_pipelines.api.worker <run-id>", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_worker(args[0])


if __name__ == "__main__":
    sys.exit(main())
