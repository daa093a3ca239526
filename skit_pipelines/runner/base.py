"""One runner interface, two backends: the local kfp runner and a Kubeflow Pipelines cluster.

The CLI (and later the HTTP API) only talk to :class:`Runner`; which backend answers is configuration
(``SKIT_KFP_HOST``). Both report the same :class:`RunResult` and the same per-step :class:`StepEvent`
stream, so a progress view or a webhook does not care where the run happened.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.progress_lines import TrainingProgress

if TYPE_CHECKING:
    from skit_pipelines.config import Settings


def new_run_id(now: dt.datetime | None = None) -> str:
    """The one run-id format (local runs, API runs): sortable, unique across processes and hosts:
    ``20261122-134501-3fa9c2d41b07``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(6)}"


def pipeline_ref(pipeline: Any) -> str:
    """``module:attribute`` a process imports the pipeline from (registry or not): API workers and
    ``skit-pipelines runs retry`` of a pipeline that is not in the registry."""
    func = getattr(pipeline, "pipeline_func", None)
    module = getattr(func, "__module__", "")
    name = getattr(func, "__name__", "")
    return f"{module}:{name}" if module and name else ""


def load_pipeline(pipeline_ref: str, name: str) -> Any:
    """The pipeline object a run was created from: ``module:attribute``, else the registry entry."""
    if pipeline_ref and ":" in pipeline_ref:
        import importlib

        module_name, attribute = pipeline_ref.split(":", 1)
        return getattr(importlib.import_module(module_name), attribute)
    from skit_pipelines.pipelines import get_pipeline

    return get_pipeline(name)


class RunState(str, enum.Enum):
    """Run and step states, named as Kubeflow Pipelines v2beta1 names them."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    PAUSED = "PAUSED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.SKIPPED, RunState.FAILED, RunState.CANCELED})


@dataclass(frozen=True)
class StepEvent:
    """A step (task) of a run changed state, or (``progress`` set, state RUNNING) reported its progress.

    ``progress`` comes from a progress line the step printed (:mod:`skit_pipelines.progress_lines`); only
    the local runner sees step output, so Kubeflow runs send none.
    """

    step: str
    state: RunState
    detail: str = ""
    progress: TrainingProgress | None = None


@dataclass
class RunResult:
    """Where a run stands (final or not) and what it produced.

    ``outputs`` are the pipeline's outputs (kfp gives none when a step failed); ``step_outputs`` are the
    outputs of each step that succeeded, also in a failed run (the local runner knows them; on Kubeflow
    they stay empty): a CSV an earlier step wrote is not hidden by a later failure, and each step's
    ``message`` (what it found, what it did) can be shown.
    """

    run_id: str
    pipeline: str
    backend: str
    state: RunState
    run_url: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    failed_step: str = ""
    error: str = ""
    run_dir: str = ""
    step_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def step_messages(self) -> dict[str, str]:
        """Each step's non-empty ``message`` output, in step order."""
        return {
            step: str(outputs["message"]).strip()
            for step, outputs in self.step_outputs.items()
            if str(outputs.get("message") or "").strip()
        }

    @property
    def succeeded(self) -> bool:
        return self.state == RunState.SUCCEEDED


EventCallback = Callable[[StepEvent], None]


class Runner(Protocol):
    """Runs a registered pipeline with arguments and follows it to a final state."""

    backend: str

    def run(
        self,
        pipeline_name: str,
        arguments: dict[str, Any],
        *,
        on_event: EventCallback | None = None,
        run_name: str | None = None,
    ) -> RunResult: ...


class PipelineRunError(SkitPipelinesError, RuntimeError):
    """The runner could not start or follow a run (as opposed to a run that failed)."""


def get_runner(settings: Settings | None = None) -> Runner:
    """The runner the settings ask for: Kubeflow when ``SKIT_KFP_HOST`` is set, else local.

    An entry point: callers that have read the settings pass them; without, the process's settings are read
    here (the runner is where a script or a test starts a run).
    """
    if settings is None:
        from skit_pipelines.config import get_settings

        settings = get_settings()
    if settings.kfp_host:
        from skit_pipelines.runner.kubeflow import KubeflowRunner

        return KubeflowRunner.from_settings(settings)
    from skit_pipelines.runner.local import LocalRunner

    return LocalRunner.from_settings(settings)
