"""The Kubeflow backend: submit a registered pipeline to a Kubeflow Pipelines cluster and follow the run.

Why ``kfp.Client``: it already knows every way a KFP API server is reached and authenticated (a bearer
token, a kube config, in-cluster service-account credentials) and carries the generated v2beta1 REST API
with its models, so we neither re-implement auth nor the wire format. We use its generated APIs
(``client.experiments``, ``client.runs``, ``client.healthzs``) rather than ``create_run_from_pipeline_func``
because the latter prints links to stdout (a CLI's ``--json`` output or a progress view would get them),
looks the experiment up behind our back, and accepts no request timeout. What it would send is sent all
the same: the compiled pipeline spec inline in the run, the arguments as ``runtime_config.parameters``,
caching switched off for every task.

Why we poll ``get_run`` ourselves: ``Client.wait_for_run_completion`` only knows succeeded, failed, skipped
and error as final and so never returns for a CANCELED run; it also reports no step progress. We poll
every ``poll_seconds``, turn each change of a task's state into a :class:`StepEvent`, treat SUCCEEDED,
FAILED, SKIPPED and CANCELED as final, and report a run stuck in CANCELING for longer than
``cancel_grace_seconds`` as CANCELED (a cluster whose pods ignore SIGTERM can stay there for ages).

Outputs: when a run is final, the outputs each succeeded step published to the artifact store are read
back and the pipeline's outputs resolved from its spec (``runner/kfp_outputs.py`` says why the KFP API
cannot give them), so the API, webhooks and Slack report a cluster run as they report a local one. A
failed run's error names the failing step and carries its own message.

Why errors are rewritten: kfp raises ``ApiException``/urllib3 errors whose text is the whole HTTP
response, headers included. A user needs one line: which server, what we were doing, what it answered
(e.g. ``Kubeflow Pipelines at http://host refused the token (401) while checking the API``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import kfp_server_api
import urllib3
import yaml
from kfp import Client

from skit_pipelines.compiler import compile_to_file
from skit_pipelines.components import DEFAULT_IMAGE
from skit_pipelines.config import Settings
from skit_pipelines.pipelines import PIPELINES, get_pipeline, normalise_name
from skit_pipelines.pipelines.parameters import coerce_arguments
from skit_pipelines.podconfig import PodConfig
from skit_pipelines.runner.base import EventCallback, PipelineRunError, RunResult, RunState, StepEvent
from skit_pipelines.runner.kfp_outputs import pipeline_outputs, read_step_outputs

logger = logging.getLogger(__name__)

T = TypeVar("T")

_TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# urllib3 names the connection object in its messages: "<...HTTPConnection object at 0x7f..>: " (1.x) or
# "HTTPConnection(host='h', port=1): " (2.x); we name the host ourselves.
_OBJECT_REPR = re.compile(r"<[^<>]*object at 0x[0-9a-f]+>:?\s*|\b\w*Connection(?:Pool)?\(host=[^)]*\):?\s*")


class RunTimeoutError(PipelineRunError):
    """The run did not reach a final state within ``timeout_seconds``; ``result`` is where it stood."""

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


class _Client(Client):
    """``kfp.Client`` whose start-up health check is a single request with a timeout.

    kfp's ``get_kfp_healthz`` retries five times five seconds apart on any ``ApiException``, a 401 included,
    so a wrong token would cost 25 s before the user hears about it.
    """

    def __init__(self, *, request_timeout: tuple[float, float], **kwargs: Any) -> None:
        self._skit_request_timeout = request_timeout
        with warnings.catch_warnings():
            # kfp warns on every construction that it needs a v2 server; that is what we talk to.
            warnings.filterwarnings("ignore", message="This client only works with", category=FutureWarning)
            super().__init__(**kwargs)

    def get_kfp_healthz(self, sleep_duration: int = 5) -> kfp_server_api.V2beta1GetHealthzResponse:
        return self._healthz_api.healthz_service_get_healthz(_request_timeout=self._skit_request_timeout)


def compile_pipeline_spec(
    pipeline: Any, image: str = DEFAULT_IMAGE, pod_config: PodConfig | None = None
) -> dict[str, Any]:
    """The pipeline compiled as kfp submits it inline in a run (every step running ``image``, the
    ``SKIT_IMAGE`` setting, its pod shaped by ``pod_config`` as ``compile`` shapes it): the spec, caching
    off for every task.

    A pipeline with Kubernetes platform config compiles to two YAML documents; the API then takes
    ``{"pipeline_spec": ..., "platform_spec": ...}`` (as kfp's client sends it).
    """
    with tempfile.TemporaryDirectory(prefix="skit-kfp-") as tmp:
        path = Path(tmp) / "pipeline.yaml"
        compile_to_file(pipeline, path, image, pod_config)
        docs = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    spec = docs[0]
    for dag in _dags(spec):
        for task in dag.get("tasks", {}).values():
            task.setdefault("cachingOptions", {})["enableCache"] = False
    if len(docs) == 1:
        return spec
    platform: dict[str, Any] = {}
    for doc in docs[1:]:
        platform.update(doc)
    return {"pipeline_spec": spec, "platform_spec": platform}


def _dags(spec: dict[str, Any]) -> list[dict[str, Any]]:
    dags = [spec.get("root", {}).get("dag", {})]
    dags += [component["dag"] for component in spec.get("components", {}).values() if "dag" in component]
    return dags


def _inner_spec(pipeline_spec: Any) -> dict[str, Any]:
    if not isinstance(pipeline_spec, dict):
        return {}
    if "pipelineInfo" not in pipeline_spec and isinstance(pipeline_spec.get("pipeline_spec"), dict):
        return pipeline_spec["pipeline_spec"]
    return pipeline_spec


def spec_step_names(pipeline_spec: Any) -> tuple[set[str], set[str]]:
    """(leaf task names, container task names: root and DAGs such as conditions) of a pipeline spec."""
    spec = _inner_spec(pipeline_spec)
    components = spec.get("components", {})
    leaves: set[str] = set()
    containers: set[str] = {"root"}

    def walk(dag: dict[str, Any], depth: int = 0) -> None:
        for name, task in (dag or {}).get("tasks", {}).items():
            component = components.get(task.get("componentRef", {}).get("name", ""), {})
            if "dag" in component and depth < 50:
                containers.add(name)
                walk(component["dag"], depth + 1)
            else:
                leaves.add(name)

    walk(spec.get("root", {}).get("dag", {}))
    return leaves, containers


def _state(value: Any) -> RunState:
    """A v2beta1 runtime state as ours; unset or unknown (RUNTIME_STATE_UNSPECIFIED) counts as PENDING."""
    try:
        return RunState(str(value).upper())
    except ValueError:
        return RunState.PENDING


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(_OBJECT_REPR.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body_message(exc: kfp_server_api.ApiException) -> str:
    """The server's own message from a grpc-gateway error body, if it sent one."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return ""
    try:
        payload = json.loads(body)
    except (TypeError, ValueError):
        return "" if body.lstrip().startswith("<") else _one_line(body)
    if isinstance(payload, dict):
        return _one_line(str(payload.get("message") or payload.get("error") or ""))
    return ""


def _connection_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and reason is not None:
        exc = reason
    return _one_line(str(exc)) or type(exc).__name__


class KubeflowRunner:
    """Runs registered pipelines on a Kubeflow Pipelines cluster (API v2beta1, KFP ≥ 2.0)."""

    backend = "kubeflow"

    def __init__(
        self,
        host: str,
        token: str = "",
        namespace: str = "kubeflow",
        experiment: str = "Default",
        ui_url: str = "",
        poll_seconds: float = 5.0,
        *,
        image: str = DEFAULT_IMAGE,
        pod_config: PodConfig | None = None,
        outputs_root: str | None = None,
        cancel_grace_seconds: float = 60.0,
        timeout_seconds: float | None = None,
        request_timeout_seconds: float = 30.0,
        max_poll_errors: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        host = host.strip()
        if not host:
            raise ValueError("KubeflowRunner needs a host (SKIT_KFP_HOST)")
        if not host.startswith(("http://", "https://")):
            host = "https://" + host  # as kfp.Client does
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds}")
        self.host = host.rstrip("/")
        self.token = token
        self.namespace = namespace
        self.experiment = experiment or "Default"
        self.ui_url = (ui_url.strip() or self.host).rstrip("/")
        self.poll_seconds = poll_seconds
        self.image = image
        self.pod_config = pod_config
        self.outputs_root = outputs_root  # where steps publish their outputs (None: the runtime's root)
        self.cancel_grace_seconds = cancel_grace_seconds
        self.timeout_seconds = timeout_seconds
        self.request_timeout = (min(10.0, request_timeout_seconds), request_timeout_seconds)
        self.max_poll_errors = max_poll_errors
        self._sleep = sleep
        self._client: _Client | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, namespace: str | None = None) -> KubeflowRunner:
        """The runner the settings describe (the API passes each request's ``namespace``)."""
        return cls(
            host=settings.kfp_host,
            token=settings.kfp_token.get_secret_value(),
            namespace=settings.kfp_namespace if namespace is None else namespace,
            experiment=settings.kfp_experiment,
            ui_url=settings.kfp_ui_url,
            poll_seconds=settings.kfp_poll_seconds,
            image=settings.image,
            pod_config=PodConfig.from_settings(settings),
            outputs_root=settings.effective_artifact_root,
        )

    def __repr__(self) -> str:  # never shows the token
        return (
            f"KubeflowRunner(host={self.host!r}, namespace={self.namespace!r}, "
            f"experiment={self.experiment!r})"
        )

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url}/#/runs/details/{run_id}"

    # -- the Runner interface --------------------------------------------------------------------------------
    def run(
        self,
        pipeline_name: str,
        arguments: dict[str, Any],
        *,
        on_event: EventCallback | None = None,
        run_name: str | None = None,
    ) -> RunResult:
        """Submit the pipeline and follow the run to a final state (see the module docstring).

        Events: one per change of a task's state (``step`` = the task's display name, DAG containers such
        as conditions left out) and one per change of the run's state (``step`` = the pipeline name; the
        first carries the run's UI link as ``detail``, a final one the error).
        """
        name = normalise_name(pipeline_name)
        pipeline = get_pipeline(name)
        typed = coerce_arguments(name, pipeline, arguments)  # bad input fails before any request
        spec = compile_pipeline_spec(pipeline, self.image, self.pod_config)
        run_id = self.submit(name, spec, typed, run_name=run_name)
        return self.follow(run_id, on_event=on_event, pipeline=name, pipeline_spec=spec)

    def submit(
        self,
        name: str,
        spec: dict[str, Any] | None,
        arguments: dict[str, Any],
        *,
        run_name: str | None = None,
        version: tuple[str, str] | None = None,
    ) -> str:
        """Create the run (in the configured experiment); returns its id.

        ``spec`` travels inline; or, with ``version`` (pipeline id, version id) and no spec, the run is made
        from that uploaded pipeline version (``skit-pipelines upload``).
        """
        client = self._get_client()
        experiment_id = self._experiment_id(client)
        display_name = run_name or f"{name} {dt.datetime.now():%Y-%m-%d %H-%M-%S}"
        reference = None
        if version is not None:
            pipeline_id, version_id = version
            reference = kfp_server_api.V2beta1PipelineVersionReference(
                pipeline_id=pipeline_id, pipeline_version_id=version_id
            )
        body = kfp_server_api.V2beta1Run(
            experiment_id=experiment_id,
            display_name=display_name,
            pipeline_spec=spec,
            pipeline_version_reference=reference,
            runtime_config=kfp_server_api.V2beta1RuntimeConfig(parameters=arguments),
        )
        created = self._call(
            f"submitting a run of {name}",
            lambda: client.runs.run_service_create_run(run=body, _request_timeout=self.request_timeout),
        )
        run_id = getattr(created, "run_id", None)
        if not run_id:
            raise PipelineRunError(
                f"Kubeflow Pipelines at {self.host} accepted the run of {name} but answered no run id "
                "(is SKIT_KFP_HOST the Kubeflow Pipelines API, not a login page?)"
            )
        logger.info("submitted %s as run %s: %s", name, run_id, self.run_url(run_id))
        return run_id

    def follow(
        self,
        run_id: str,
        *,
        on_event: EventCallback | None = None,
        pipeline: str = "",
        pipeline_spec: Any = None,
    ) -> RunResult:
        """Poll the run until it is final; emit task and run events on every change."""
        client = self._get_client()
        task_states: dict[str, RunState] = {}
        last_state: RunState | None = None
        canceling_since: float | None = None
        started = time.monotonic()
        errors = 0
        steps: tuple[set[str], set[str]] | None = None
        while True:
            try:
                run = self._get_run(client, run_id)
                errors = 0
            except _TransientError as exc:
                errors += 1
                if errors >= self.max_poll_errors:
                    raise PipelineRunError(f"{exc} ({errors} attempts in a row)") from None
                logger.warning("%s; retrying in %ss", exc, self.poll_seconds)
                self._sleep(self.poll_seconds)
                continue
            if steps is None:
                if pipeline_spec is None:
                    pipeline_spec = self.spec_of(run, client)
                steps = spec_step_names(pipeline_spec)
                pipeline = pipeline or self._pipeline_name(pipeline_spec)
            result = self._result(run, pipeline, steps, pipeline_spec)
            if on_event is not None:
                self._emit_task_events(run, steps, task_states, on_event)
            if result.state == RunState.CANCELING:
                now = time.monotonic()
                canceling_since = canceling_since if canceling_since is not None else now
                if now - canceling_since >= self.cancel_grace_seconds:
                    result.state = RunState.CANCELED
                    grace = f"{self.cancel_grace_seconds:g}s"
                    stuck = f"run stayed CANCELING for more than {grace}; reported as CANCELED"
                    result.error = result.error or stuck
            else:
                canceling_since = None
            if result.state != last_state and on_event is not None:
                if last_state is None:
                    detail = result.run_url
                else:
                    detail = result.error if result.state.is_final else ""
                on_event(StepEvent(step=result.pipeline or run_id, state=result.state, detail=detail))
            last_state = result.state
            if result.state.is_final:
                return result
            if self.timeout_seconds is not None and time.monotonic() - started >= self.timeout_seconds:
                waited = f"{self.timeout_seconds:g}s"
                raise RunTimeoutError(
                    f"run {run_id} is still {result.state.value} after {waited}: {result.run_url}", result
                )
            self._sleep(self.poll_seconds)

    def get_status(self, run_id: str) -> RunResult:
        """Where the run stands now (no waiting; a run of an uploaded version costs one more request)."""
        client = self._get_client()
        run = self._get_run(client, run_id, transient_ok=False)
        spec = self.spec_of(run, client)
        return self._result(run, self._pipeline_name(spec), spec_step_names(spec), spec)

    def spec_of(self, run: Any, client: _Client | None = None) -> Any:
        """The pipeline spec ``run`` was made from: inline, or its uploaded version's (a run made from a
        version reference carries no spec, and without one its steps and outputs could not be named)."""
        if run.pipeline_spec:
            return run.pipeline_spec
        reference = getattr(run, "pipeline_version_reference", None)
        pipeline_id = getattr(reference, "pipeline_id", None)
        version_id = getattr(reference, "pipeline_version_id", None)
        if not (pipeline_id and version_id):
            return None
        return self.version_spec(pipeline_id, version_id, f"the pipeline version of run {run.run_id}", client)

    def version_spec(
        self, pipeline_id: str, version_id: str, what: str, client: _Client | None = None
    ) -> Any:
        """The pipeline spec of an uploaded version (one request; ``what`` names it in errors)."""
        client = client or self._get_client()
        version = self._call(
            f"reading {what}",
            lambda: client.pipelines.pipeline_service_get_pipeline_version(
                pipeline_id=pipeline_id, pipeline_version_id=version_id, _request_timeout=self.request_timeout
            ),
        )
        return getattr(version, "pipeline_spec", None)

    def cancel(self, run_id: str) -> RunResult:
        """Ask the cluster to terminate the run; returns where it stands afterwards (usually CANCELING)."""
        client = self._get_client()
        self._call(
            f"canceling run {run_id}",
            lambda: client.runs.run_service_terminate_run(
                run_id=run_id, _request_timeout=self.request_timeout
            ),
            not_found=f"there is no run {run_id}",
        )
        return self.get_status(run_id)

    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest runs of the namespace, whatever experiment they are in (one request, nothing created):
        id, name, pipeline, state, times."""
        client = self._get_client()
        namespace = client.get_user_namespace() or None  # kfp's rule: '' for the single-user 'kubeflow'
        page = self._call(
            "listing runs",
            lambda: client.runs.run_service_list_runs(
                namespace=namespace,
                page_size=limit,
                sort_by="created_at desc",
                _request_timeout=self.request_timeout,
            ),
        )
        runs = sorted(getattr(page, "runs", None) or [], key=lambda r: str(r.created_at or ""), reverse=True)
        return [
            {
                "run_id": run.run_id,
                "run_name": run.display_name or "",
                "pipeline": self._pipeline_name(run.pipeline_spec) if run.pipeline_spec else "",
                "state": _state(run.state).value,
                "started_at": _iso(run.created_at),
                "finished_at": _iso(run.finished_at) if _state(run.state).is_final else None,
                "run_url": self.run_url(run.run_id),
            }
            for run in runs[:limit]
        ]

    def run_arguments(self, run_id: str) -> dict[str, Any]:
        """The parameters a run was submitted with (its runtime config), as the cluster stores them."""
        run = self._get_run(self._get_client(), run_id, transient_ok=False)
        config = getattr(run, "runtime_config", None)
        return dict(getattr(config, "parameters", None) or {})

    def retry(self, run_id: str, *, run_name: str | None = None) -> tuple[str, str]:
        """Submit a new run of the very pipeline spec and parameters ``run_id`` ran with (byte for byte:
        both are copied from the cluster's record, nothing is recompiled); returns ``(pipeline, new id)``."""
        run = self._get_run(self._get_client(), run_id, transient_ok=False)
        config = getattr(run, "runtime_config", None)
        parameters = dict(getattr(config, "parameters", None) or {})
        reference = getattr(run, "pipeline_version_reference", None)
        if not run.pipeline_spec and reference is not None:  # a run of an uploaded version: run it again
            name = self._pipeline_name(self.spec_of(run))
            new_id = self.submit(
                name,
                None,
                parameters,
                run_name=run_name or f"{name} retry of {run_id}",
                version=(reference.pipeline_id, reference.pipeline_version_id),
            )
            return name, new_id
        if not run.pipeline_spec:
            raise PipelineRunError(f"run {run_id} carries no pipeline spec nor version reference to rerun")
        name = self._pipeline_name(run.pipeline_spec)
        new_id = self.submit(
            name, run.pipeline_spec, parameters, run_name=run_name or f"{name} retry of {run_id}"
        )
        return name, new_id

    # -- kfp plumbing ----------------------------------------------------------------------------------------
    def _get_client(self) -> _Client:
        with self._client_lock:
            if self._client is None:
                self._client = self._call(
                    "checking the API (GET /apis/v2beta1/healthz)",
                    lambda: _Client(
                        host=self.host,
                        existing_token=self.token or None,
                        namespace=self.namespace,
                        request_timeout=self.request_timeout,
                    ),
                    not_found="no Kubeflow Pipelines v2 API there (is SKIT_KFP_HOST the KFP API endpoint?)",
                )
            return self._client

    def _experiment_id(self, client: _Client) -> str:
        """Id of the configured experiment, created when missing (as kfp's create_experiment does)."""
        namespace = client.get_user_namespace() or None  # kfp's rule: '' for the single-user 'kubeflow'
        name = self.experiment
        query = json.dumps({"predicates": [{"operation": 1, "key": "display_name", "stringValue": name}]})

        def find() -> str | None:
            found = self._call(
                f"looking up experiment {name!r}",
                lambda: client.experiments.experiment_service_list_experiments(
                    filter=query, namespace=namespace, _request_timeout=self.request_timeout
                ),
            )
            experiments = getattr(found, "experiments", None) or []
            return experiments[0].experiment_id if experiments else None

        experiment_id = find()
        if experiment_id:
            return experiment_id
        body = kfp_server_api.V2beta1Experiment(display_name=name, namespace=namespace)
        try:
            created = self._call(
                f"creating experiment {name!r}",
                lambda: client.experiments.experiment_service_create_experiment(
                    experiment=body, _request_timeout=self.request_timeout
                ),
            )
        except _Conflict:  # created by someone else meanwhile
            created = None
        experiment_id = getattr(created, "experiment_id", None) or find()
        if not experiment_id:
            raise PipelineRunError(
                f"Kubeflow Pipelines at {self.host} answered no id for experiment {name!r} "
                "(is SKIT_KFP_HOST the Kubeflow Pipelines API, not a login page?)"
            )
        return experiment_id

    def _get_run(self, client: _Client, run_id: str, *, transient_ok: bool = True) -> Any:
        run = self._call(
            f"reading run {run_id}",
            lambda: client.runs.run_service_get_run(run_id=run_id, _request_timeout=self.request_timeout),
            not_found=f"there is no run {run_id}",
            transient_ok=transient_ok,
        )
        if not getattr(run, "run_id", None):
            raise PipelineRunError(
                f"Kubeflow Pipelines at {self.host} answered no run for {run_id} "
                "(is SKIT_KFP_HOST the Kubeflow Pipelines API, not a login page?)"
            )
        return run

    def _call(
        self, action: str, request: Callable[[], T], *, not_found: str = "", transient_ok: bool = False
    ) -> T:
        """Run one API request; turn kfp/urllib3 failures into one-line PipelineRunErrors."""
        where = f"Kubeflow Pipelines at {self.host}"
        try:
            return request()
        except kfp_server_api.ApiException as exc:
            logger.debug("%s failed", action, exc_info=True)
            status = exc.status or 0
            detail = _body_message(exc)
            suffix = f": {detail}" if detail else ""
            if status == 401:
                if self.token:
                    message = f"{where} refused the token (401) while {action}; check SKIT_KFP_TOKEN{suffix}"
                else:
                    message = f"{where} requires a token (401) while {action}; set SKIT_KFP_TOKEN{suffix}"
            elif status == 403:
                message = (
                    f"{where} denied access (403) while {action}; the token is not allowed to use namespace "
                    f"{self.namespace!r}{suffix}"
                )
            elif status == 404:
                message = f"{where} answered 404 while {action}: {not_found or 'not found'}{suffix}"
            elif status == 409:
                raise _Conflict(f"{where} answered 409 while {action}{suffix}") from None
            elif status == 0:
                message = f"cannot talk to {where} while {action}: {_one_line(str(exc.reason or ''))}"
            else:
                message = f"{where} failed while {action}: HTTP {status} {exc.reason or ''}".rstrip() + suffix
                if transient_ok and status in _TRANSIENT_STATUSES:
                    raise _TransientError(message) from None
            raise PipelineRunError(message) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            logger.debug("%s failed", action, exc_info=True)
            message = f"cannot reach {where} while {action}: {_connection_reason(exc)}"
            if transient_ok:
                raise _TransientError(message) from None
            raise PipelineRunError(message) from None

    # -- results and events ----------------------------------------------------------------------------------
    @staticmethod
    def _pipeline_name(pipeline_spec: Any) -> str:
        """Our registry name of the pipeline a run was made from (kfp's name when it is not registered)."""
        kfp_name = str(_inner_spec(pipeline_spec).get("pipelineInfo", {}).get("name", ""))
        name = normalise_name(kfp_name) if kfp_name else ""
        for registered, pipeline in PIPELINES.items():
            if getattr(pipeline, "name", None) == kfp_name:
                return registered
        return name

    @staticmethod
    def _tasks(run: Any) -> list[Any]:
        details = getattr(run, "run_details", None)
        return [task for task in (getattr(details, "task_details", None) or []) if task.display_name]

    def _result(
        self, run: Any, pipeline: str, steps: tuple[set[str], set[str]], pipeline_spec: Any = None
    ) -> RunResult:
        """``pipeline_spec``: the spec the run was made from, when the run does not carry it (a run of an
        uploaded version has only a version reference)."""
        spec = pipeline_spec if pipeline_spec is not None else run.pipeline_spec
        state = _state(run.state)
        tasks = self._tasks(run)
        failed = [task for task in tasks if _state(task.state) == RunState.FAILED]
        leaves, containers = steps
        failed_task = None
        if failed:
            preferred = (
                [t for t in failed if t.display_name in leaves]
                or [t for t in failed if not t.child_tasks and t.display_name not in containers]
                or failed
            )
            failed_task = preferred[0]
        failed_step = failed_task.display_name if failed_task is not None else ""
        error = self._error(run, state, failed_task, failed)
        outputs: dict[str, Any] = {}
        step_outputs: dict[str, dict[str, Any]] = {}
        if state.is_final:
            succeeded = [
                t.display_name
                for t in tasks
                if _state(t.state) == RunState.SUCCEEDED and t.display_name not in containers
            ]
            step_outputs = read_step_outputs(run.run_id, dict.fromkeys(succeeded), self.outputs_root)
            if state == RunState.SUCCEEDED:  # as kfp: a failed run has no pipeline outputs
                outputs = pipeline_outputs(_inner_spec(spec), step_outputs)
        return RunResult(
            run_id=run.run_id,
            pipeline=pipeline,
            backend=self.backend,
            state=state,
            run_url=self.run_url(run.run_id),
            outputs=outputs,
            failed_step=failed_step,
            error=error,
            step_outputs=step_outputs,
        )

    @staticmethod
    def _error(run: Any, state: RunState, failed_task: Any, failed: list[Any]) -> str:
        """One line: the failing step's name and its own message for a failed run, else the run's error.

        The task's message comes first: a cluster's run error is often only "exit status 1".
        """
        run_error = ""
        if run.error is not None and run.error.message:
            run_error = _one_line(run.error.message, limit=2000)
        if state != RunState.FAILED:
            return run_error
        candidates = ([failed_task] if failed_task is not None else []) + failed
        task_message = next(
            (t.error.message for t in candidates if t.error is not None and t.error.message), ""
        )
        message = _one_line(task_message, limit=2000) if task_message else run_error
        if failed_task is None:
            return message or "run failed"
        name = failed_task.display_name
        if not message:
            return f"step {name} failed"
        return message if name in message else f"step {name} failed: {message}"

    def _emit_task_events(
        self, run: Any, steps: tuple[set[str], set[str]], seen: dict[str, RunState], on_event: EventCallback
    ) -> None:
        _, containers = steps
        for task in self._tasks(run):
            if task.display_name in containers:
                continue
            state = _state(task.state)
            key = task.task_id or task.display_name
            if seen.get(key) == state:
                continue
            seen[key] = state
            detail = task.error.message if state == RunState.FAILED and task.error is not None else ""
            on_event(StepEvent(step=task.display_name, state=state, detail=_one_line(detail or "", 2000)))


def _iso(value: Any) -> str | None:
    """kfp's timestamps (datetimes, or strings from some servers) as ISO text; the epoch means unset."""
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return None if text.startswith("1970-01-01") else text


class _TransientError(PipelineRunError):
    """A failure worth another poll (5xx, connection reset); raised only where the caller retries."""


class _Conflict(PipelineRunError):
    """409 from the API: the thing to create exists already."""
