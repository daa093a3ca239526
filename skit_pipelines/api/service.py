"""The run service: create a run of a registered pipeline, look runs up. Used by the HTTP API and the bot.

Creating a run (any source):
1. the pipeline is resolved (kebab or snake case), the arguments are checked against its signature (unknown
   keys, types, missing required ones), by the pipeline's declared checks
   (:mod:`skit_pipelines.pipeline_checks`, the same ones the CLI and the steps run), and every input location
   against the read policy of API runs (:mod:`skit_pipelines.readpolicy`); every problem is reported by name;
2. the run is written to the database (state ``PENDING``) — before the caller hears anything;
3. local backend: the run waits in the database queue until the watcher hands it to a worker process
   (never executed in the caller's thread); Kubeflow backend: it is submitted now, with the namespace the
   caller named, and the watcher follows it.

An ``Idempotency-Key`` makes creation safe to retry: the row carries the key under a unique constraint (per
user and namespace), so of two identical requests racing one inserts and the other gets that run back.
Canceling (:meth:`RunService.cancel_run`) makes the run final at once with state ``CANCELED``, which queues
its webhook and Slack message like any final state and makes a late result from the worker a no-op; the
running worker (or the Kubeflow run) is then stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.api.store import HOST, Page, RunRecord, RunStore
from skit_pipelines.api.views import CANCELED_MESSAGE
from skit_pipelines.api.webhooks import check_webhook_uri
from skit_pipelines.api.workers import is_worker_of
from skit_pipelines.config import Settings
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.parameters import problem_lines
from skit_pipelines.pipeline_checks import location_errors
from skit_pipelines.pipelines import normalise_name
from skit_pipelines.pipelines.parameters import InvalidArgumentsError, validate_arguments
from skit_pipelines.readpolicy import ReadPolicy, api_policy
from skit_pipelines.runner.base import PipelineRunError, RunState, new_run_id, pipeline_ref

logger = logging.getLogger(__name__)


class ServiceError(SkitPipelinesError):
    """A request the service refuses; ``status_code`` is the HTTP answer, ``errors`` per-field problems."""

    status_code = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class UnknownPipeline(ServiceError):
    status_code = 400


class InvalidRequest(ServiceError):
    status_code = 400


class RunNotFound(ServiceError):
    status_code = 404


class RunConflict(ServiceError):
    status_code = 409


class QueueFull(ServiceError):
    status_code = 503


class BackendFailure(ServiceError):
    status_code = 502


IDEMPOTENCY_KEY_MAX = 200


def check_idempotency_key(key: str) -> str:
    """A key is 1-200 printable ASCII characters (it is stored and compared, never interpreted)."""
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not all(" " <= c <= "~" for c in key):
        raise InvalidRequest(
            f"Idempotency-Key: expected 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters",
            {"Idempotency-Key": f"expected 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters"},
        )
    return key


def request_hash(pipeline: str, payload: dict[str, Any]) -> str:
    """What a retried request must repeat: the pipeline and the body exactly (key order aside)."""
    canonical = json.dumps({"pipeline": pipeline, "body": payload}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedRun:
    run: RunRecord
    replayed: bool = False

    def response(self) -> dict[str, Any]:
        return {
            "message": "Pipeline run created successfully.",
            "name": self.run.pipeline,
            "run_id": self.run.run_id,
            "run_url": self.run.run_url,
            "error_logs": "",
        }


class RunService:
    def __init__(
        self,
        store: RunStore,
        settings: Settings,
        api_settings: ApiSettings,
        pipelines: dict[str, Any],
        *,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.api_settings = api_settings
        self.pipelines = pipelines
        self.on_queued = on_queued or (lambda: None)
        self._runners: dict[str, Any] = {}
        self._runners_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return self.settings.runner_backend

    # -- pipelines --------------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[str, Any]:
        key = normalise_name(name)
        if key not in self.pipelines:
            known = ", ".join(sorted(self.pipelines)) or "(none)"
            raise UnknownPipeline(f"unknown pipeline {name!r}; known pipelines: {known}")
        return key, self.pipelines[key]

    def validate(self, name: str, payload: dict[str, Any]) -> tuple[str, Any, dict[str, Any], str]:
        """(pipeline key, pipeline, typed arguments, webhook_uri), or InvalidRequest naming every problem."""
        key, pipeline = self.resolve(name)
        payload = dict(payload)
        webhook_uri = payload.pop("webhook_uri", None)
        errors: dict[str, str] = {}
        if webhook_uri is None:
            webhook_uri = ""
        elif not isinstance(webhook_uri, str):
            errors["webhook_uri"] = f"expected a URL string, got {type(webhook_uri).__name__}"
            webhook_uri = ""
        elif webhook_uri.strip():
            try:
                webhook_uri = check_webhook_uri(
                    webhook_uri.strip(), allow_private=self.api_settings.webhook_allow_private
                )
            except ValueError as exc:
                errors["webhook_uri"] = str(exc)
        arguments: dict[str, Any] = {}
        try:
            arguments = validate_arguments(key, pipeline, payload)
        except InvalidArgumentsError as exc:
            errors.update(exc.errors)
        if not errors:
            errors.update(location_errors(key, arguments, self.read_policy()))
        if errors:
            details = "; ".join(problem_lines(errors))
            raise InvalidRequest(f"invalid arguments for {key}: {details}", errors)
        return key, pipeline, arguments, webhook_uri

    def read_policy(self) -> ReadPolicy:
        """What runs created here may read: the artifact root and ``SKIT_API_READABLE_PATHS`` (confined)."""
        return api_policy(
            self.settings.effective_artifact_root,
            self.api_settings.api_readable_paths,
            self.settings.secret_paths,
        )

    # -- runs -------------------------------------------------------------------------------------
    def create_run(
        self,
        namespace: str,
        name: str,
        payload: dict[str, Any],
        *,
        created_by: str,
        source: str = "http",
        idempotency_key: str | None = None,
    ) -> CreatedRun:
        payload = dict(payload)
        notify_pending = payload.pop("notify_pending", None)
        if notify_pending is not None and not isinstance(notify_pending, bool):
            problem = f"expected true or false, got {type(notify_pending).__name__}"
            raise InvalidRequest(f"notify_pending: {problem}", {"notify_pending": problem})
        fingerprint = ""
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
            fingerprint = request_hash(
                normalise_name(name), payload | {"notify_pending": bool(notify_pending)}
            )
            earlier = self._replay(namespace, created_by, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        key, pipeline, arguments, webhook_uri = self.validate(name, payload)
        if notify_pending and not webhook_uri:
            problem = "needs a webhook_uri to send the pending webhook to"
            raise InvalidRequest(f"notify_pending: {problem}", {"notify_pending": problem})
        run_id = new_run_id()
        record = RunRecord(
            run_id=run_id,
            pipeline=key,
            namespace=namespace,
            backend=self.backend,
            state=RunState.PENDING,
            arguments=arguments,
            pipeline_ref=pipeline_ref(pipeline),
            webhook_uri=webhook_uri,
            channel=str(arguments.get("channel", "") or ""),
            slack_thread=str(arguments.get("slack_thread", "") or ""),
            created_by=created_by,
            source=source,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            notify_pending=bool(notify_pending),
        )
        if self.backend == "local":
            queued = self.store.count_local(RunState.PENDING)
            if queued >= self.api_settings.api_max_queued:
                raise QueueFull(f"{queued} runs are already waiting for a worker; try again later")
            record.run_url = self.local_run_url(namespace, run_id)
            if not self._insert(record):
                return self._replay_after_race(record)
            self.on_queued()
            return CreatedRun(record)
        if not self._insert(record):
            return self._replay_after_race(record)
        return CreatedRun(self._submit_to_kubeflow(record, key, pipeline))

    def _insert(self, record: RunRecord) -> bool:
        """Insert the run; False when a concurrent request with the same idempotency key won."""
        try:
            self.store.insert_run(record)
        except sa.exc.IntegrityError:
            if record.idempotency_key is None:
                raise
            return False
        return True

    def _replay_after_race(self, record: RunRecord) -> CreatedRun:
        assert record.idempotency_key is not None
        earlier = self._replay(
            record.namespace, record.created_by, record.idempotency_key, record.request_hash
        )
        if earlier is None:  # the winner's row is committed before our insert fails: cannot happen
            raise RunConflict("Idempotency-Key: a concurrent request with this key did not complete")
        return earlier

    def _replay(self, namespace: str, created_by: str, key: str, fingerprint: str) -> CreatedRun | None:
        earlier = self.store.run_by_idempotency_key(created_by, namespace, key)
        if earlier is None:
            return None
        if earlier.request_hash != fingerprint:
            raise RunConflict(
                f"Idempotency-Key: {key!r} was already used for a different request (run "
                f"{earlier.run_id}); use a new key for a new run",
                {"Idempotency-Key": "already used for a different request"},
            )
        return CreatedRun(earlier, replayed=True)

    def local_run_url(self, namespace: str, run_id: str) -> str:
        base = self.api_settings.api_public_url.rstrip("/")
        return f"{base}/{namespace}/pipelines/runs/{run_id}"

    def kubeflow_runner(self, namespace: str) -> Any:
        """One KubeflowRunner per namespace (the namespace of the request goes to Kubeflow)."""
        from skit_pipelines.runner.kubeflow import KubeflowRunner

        with self._runners_lock:
            runner = self._runners.get(namespace)
            if runner is None:
                runner = KubeflowRunner.from_settings(self.settings, namespace=namespace)
                self._runners[namespace] = runner
            return runner

    def _submit_to_kubeflow(self, record: RunRecord, key: str, pipeline: Any) -> RunRecord:
        # The run is recorded (by the caller) before anything leaves this process.
        try:
            runner = self.kubeflow_runner(record.namespace)
            spec = _compiled_spec(pipeline, self.settings.image, runner.pod_config)
            backend_id = runner.submit(key, spec, record.arguments, run_name=f"{key} {record.run_id}")
        except (PipelineRunError, ValueError) as exc:
            self.store.finish_run(
                record.run_id, RunState.FAILED, error=str(exc), error_logs=str(exc), notify=False
            )
            raise BackendFailure(f"could not submit the run to Kubeflow: {exc}") from None
        record.backend_run_id = backend_id
        record.run_url = runner.run_url(backend_id)
        self.store.update_progress(record.run_id, backend_run_id=backend_id, run_url=record.run_url)
        if record.notify_pending and record.webhook_uri:  # on the cluster: the run has started
            self.store.queue_pending_webhook(record.run_id)
        return record

    def cancel_run(self, namespace: str, run_id: str) -> RunRecord:
        """Cancel a queued or running run; 409 if it is already final."""
        run = self.get_run(namespace, run_id)
        if run.state.is_final:
            raise RunConflict(
                f"run {run_id!r} already finished ({run.state.value}); there is nothing to cancel",
                {"run_id": f"already {run.state.value}"},
            )
        if run.backend == "kubeflow" and run.backend_run_id:
            return self._cancel_on_kubeflow(run)
        steps = {
            step: RunState.CANCELED.value if not RunState(state).is_final else state
            for step, state in run.step_states.items()
        }
        if not self.store.finish_run(
            run.run_id,
            RunState.CANCELED,
            error=CANCELED_MESSAGE,
            failed_step=next((s for s, state in run.step_states.items() if not RunState(state).is_final), ""),
            step_states=steps,
        ):
            return self.cancel_run(namespace, run_id)  # it became final meanwhile: 409 with its state
        if run.backend == "local":
            self._stop_worker(run_id)
        return self.get_run(namespace, run_id)

    def _stop_worker(self, run_id: str) -> None:
        """Stop the worker and its steps now if it runs on this host; elsewhere the worker stops itself at
        its next heartbeat (which finds the run final)."""
        run = self.store.get_run(run_id)
        if run is None or not run.worker_pid or run.worker_host != HOST:
            return
        if not is_worker_of(run.worker_pid, run_id):
            return
        try:
            os.killpg(run.worker_pid, signal.SIGTERM)  # workers lead their own process group
        except (ProcessLookupError, PermissionError) as exc:
            logger.warning("run %s: cannot stop worker %s: %s", run_id, run.worker_pid, exc)

    def _cancel_on_kubeflow(self, run: RunRecord) -> RunRecord:
        """Ask the cluster to terminate the run; the watcher records CANCELED (and notifies) when it is."""
        runner = self.kubeflow_runner(run.namespace)
        try:
            result = runner.cancel(run.backend_run_id)
        except PipelineRunError as exc:
            try:  # refused because it just finished on the cluster? Then that is the answer.
                result = runner.get_status(run.backend_run_id)
            except PipelineRunError:
                result = None
            if result is None or not result.state.is_final:
                raise BackendFailure(f"could not cancel the run on Kubeflow: {exc}") from None
        if result.state.is_final:
            self.store.finish_run(
                run.run_id,
                result.state,
                error=CANCELED_MESSAGE if result.state == RunState.CANCELED else result.error,
                failed_step=result.failed_step,
                outputs=result.outputs,
            )
            if result.state != RunState.CANCELED:  # it finished on the cluster before the request
                return self.cancel_run(run.namespace, run.run_id)  # 409 with its state
        else:
            self.store.update_progress(run.run_id, state=RunState.CANCELING)
        return self.get_run(run.namespace, run.run_id)

    def retry_run(self, namespace: str, run_id: str, *, created_by: str) -> CreatedRun:
        """A new run of the same pipeline with the same arguments (and webhook) as ``run_id``.

        The arguments go through the same checks as any new run (a read policy tightened since then
        applies); a run still in progress may be retried too (the caller asked for a second one)."""
        run = self.get_run(namespace, run_id)
        payload: dict[str, Any] = dict(run.arguments)
        if run.webhook_uri:
            payload["webhook_uri"] = run.webhook_uri
        return self.create_run(namespace, run.pipeline, payload, created_by=created_by, source=run.source)

    def get_run(self, namespace: str, run_id: str) -> RunRecord:
        run = self.store.get_run(run_id)
        if run is None or run.namespace != namespace:
            raise RunNotFound(f"there is no run {run_id!r} in namespace {namespace!r}")
        return run

    def list_runs(
        self,
        namespace: str,
        *,
        pipeline: str = "",
        states: tuple[str, ...] = (),
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        key = normalise_name(pipeline) if pipeline else ""
        return self.store.list_runs(namespace, pipeline=key, states=states, limit=limit, offset=offset)


_SPECS: dict[tuple[int, str, str], tuple[Any, Any]] = {}
_SPECS_LOCK = threading.Lock()


def _compiled_spec(pipeline: Any, image: str, pod_config: Any = None) -> Any:
    """Compiling takes ~0.1 s and a pipeline does not change while the API runs: compile it once (per
    image and pod configuration: the ``SKIT_IMAGE`` and ``SKIT_KFP_*`` settings the service was given)."""
    import copy

    from skit_pipelines.runner.kubeflow import compile_pipeline_spec

    key = (id(pipeline), image, repr(pod_config))
    with _SPECS_LOCK:
        cached = _SPECS.get(key)
        if cached is None or cached[0] is not pipeline:
            cached = _SPECS[key] = (pipeline, compile_pipeline_spec(pipeline, image, pod_config))
    return copy.deepcopy(cached[1])
