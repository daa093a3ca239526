"""A fake Kubeflow Pipelines API (v2beta1 REST): a real HTTP server on 127.0.0.1 that records every request.

Why a real server rather than mocking ``kfp.Client``: the runner keeps using kfp 2.17's client end to end
(auth header, query encoding of the experiment filter, the JSON body of a run with its inline pipeline spec,
deserialisation of runs and task details, ``ApiException`` on 401/404), so a test fails if our calls would
fail against the wire format of a real KFP API server, not only if we called a mock differently.

Routes (exactly those kfp 2.17's ``Client`` and our runner call, answered in the server's snake_case JSON):

- ``GET  /apis/v2beta1/healthz`` → ``{"multi_user": false, ...}``
- ``GET  /apis/v2beta1/experiments?filter=<json>&namespace=`` → ``{"experiments": [...], "total_size": n}``
  (the filter's ``display_name`` EQUALS predicate is honoured, as is a non-empty namespace)
- ``POST /apis/v2beta1/experiments`` and ``GET /apis/v2beta1/experiments/{id}``
- ``POST /apis/v2beta1/runs`` (body: the run, ``pipeline_spec`` inline, ``runtime_config.parameters``),
  ``GET /apis/v2beta1/runs[?experiment_id=]``, ``GET /apis/v2beta1/runs/{id}``
- ``POST /apis/v2beta1/runs/{id}:terminate`` (kfp's ``terminate_run``; v2beta1 has no ``:cancel`` route)
- ``POST /apis/v2beta1/pipelines`` (JSON: ``display_name``, ``description``, ``namespace``; 409 when the name
  is taken in that namespace), ``GET /apis/v2beta1/pipelines?filter=<json>&namespace=``,
  ``GET /apis/v2beta1/pipelines/{id}``
- ``POST /apis/v2beta1/pipelines/upload_version?name=&pipelineid=&description=`` (multipart/form-data, the
  YAML in the ``uploadfile`` part; the YAML is checked as an inline spec is; 409 when the pipeline has a
  version of that name), ``GET /apis/v2beta1/pipelines/{id}/versions?filter=&sort_by=&page_size=`` and
  ``GET /apis/v2beta1/pipelines/{id}/versions/{version id}`` (versions carry their ``pipeline_spec``)
- a run may name ``pipeline_version_reference`` (``pipeline_id`` and ``pipeline_version_id``, both must exist)
  instead of an inline spec; ``GET /runs/{id}`` then shows the reference and no spec, as the API server does
- ``POST /apis/v2beta1/recurringruns`` (a cron trigger must have six fields, seconds first, as the
  cluster's robfig/cron parser wants; the spec is checked as a run's),
  ``GET /apis/v2beta1/recurringruns[?experiment_id=]``,
  ``GET|DELETE /apis/v2beta1/recurringruns/{id}``, ``POST /apis/v2beta1/recurringruns/{id}:enable|:disable``;
  ``server.recurring_runs`` holds them (mode ``ENABLE``/``DISABLE``)

Payloads are checked as the API server checks them: an inline ``pipeline_spec`` is either a PipelineSpec
(``pipelineInfo``, ``root``, ``deploymentSpec``) or, with Kubernetes platform config, ``{"pipeline_spec":
<PipelineSpec>, "platform_spec": {"platforms": {"kubernetes": ...}}}``; anything else is a 400. Task details
carry what a KFP 2.x server reports (``pod_name``, ``executor_detail``, state, error), never parameter
outputs: the v2beta1 API has none (cluster steps publish theirs to the artifact store, see
``skit_pipelines/runner/kfp_outputs.py``).

Errors are grpc-gateway shaped: ``{"error": msg, "code": <grpc code>, "message": msg, "details": []}``.
With ``token`` set, a request without ``Authorization: Bearer <token>`` gets 401 on every route.

Scripting a run: ``server.script_run(*steps, ...)`` queues the script of the next submitted run. A step is a
run state, or ``(run_state, {task display name: task state})``; task states accumulate over the steps.
Every ``GET /runs/{id}`` answers the next step and the last step repeats forever::

    server.script_run(
        ("RUNNING", {"fetch-calls": "RUNNING"}),
        ("FAILED", {"fetch-calls": "FAILED"}),
        error="task fetch-calls failed", task_errors={"fetch-calls": "ValueError: no calls"},
    )

Without a script a run goes RUNNING → SUCCEEDED. ``:terminate`` on an unfinished run replaces what is left of
its script with ``on_terminate`` (default CANCELING → CANCELED). ``server.add_run(...)`` stores a run
directly (for status/cancel tests without a submission); ``server.fail(status, ...)`` makes matching
requests fail. ``server.requests`` holds every request; ``server.submitted_runs`` the bodies of created runs;
``server.uploads`` every version upload as the server parsed it (query, multipart part name, file name,
text, YAML documents). ``server.add_pipeline_version(...)`` stores a version as if uploaded by other means
(the UI: no sha256 in its description).

Use ``with FakeKfpServer() as server: ...`` (token ``FakeKfpServer.TOKEN``; ``token=None`` accepts any
request) or the ``kfp_server`` fixture: ``pytest_plugins = ["tests.fakes.kfp_server"]`` in the test module,
which also points ``SKIT_KFP_HOST``, ``SKIT_KFP_TOKEN`` and ``SKIT_KFP_POLL_SECONDS`` (0.05) at it. Import the
class for annotations under ``TYPE_CHECKING`` only: importing this module before pytest registers the plugin
makes pytest warn that it cannot rewrite its asserts.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from tests.conftest import SettingsEnv
from tests.fakes.http import LoopbackHTTPServer, read_body, reply_json

API = "/apis/v2beta1"
FINAL_STATES = frozenset({"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"})
EPOCH = "1970-01-01T00:00:00Z"

# grpc status codes the API server maps HTTP errors from.
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 500: 13, 503: 14}

Step = str | tuple[str, dict[str, str]]


@dataclass
class RecordedRequest:
    """One request as the server saw it; ``json`` is the parsed body (None when empty)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")


@dataclass
class RunScript:
    """The states (and task states) a run reports, one per ``GET /runs/{id}``."""

    steps: list[tuple[str, dict[str, str]]]
    error: str = ""
    task_errors: dict[str, str] = field(default_factory=dict)
    on_terminate: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    run_id: str | None = None


@dataclass
class FakeRun:
    run_id: str
    body: dict[str, Any]
    script: RunScript
    created_at: str
    cursor: int = 0  # index of the step the next GET answers
    shown: int = 0  # index of the step last answered
    terminated: bool = False
    history: list[tuple[str, str]] = field(default_factory=list)  # (state, time)

    @property
    def state(self) -> str:
        return self.script.steps[self.shown][0]


@dataclass
class VersionUpload:
    """One ``POST /pipelines/upload_version`` as the server parsed it."""

    query: dict[str, str]
    content_type: str
    part_name: str
    filename: str
    text: str
    documents: list[Any]


@dataclass
class _Failure:
    status: int
    method: str | None
    path_contains: str
    message: str
    times: int | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _steps(steps: Sequence[Step]) -> list[tuple[str, dict[str, str]]]:
    parsed = []
    for step in steps:
        if isinstance(step, str):
            parsed.append((step, {}))
        else:
            state, tasks = step
            parsed.append((state, dict(tasks)))
    return parsed


class FakeKfpServer(LoopbackHTTPServer):
    """Start with ``start()`` (or as a context manager); ``url`` is what ``SKIT_KFP_HOST`` should be."""

    TOKEN = "kfp-test-token"
    keep_alive = True  # as urllib3's pool (under kfp's client) expects
    poll_interval = 0.05
    thread_name = "fake-kfp"

    def __init__(self, token: str | None = TOKEN, *, multi_user: bool = False) -> None:
        super().__init__()
        self.token = token
        self.multi_user = multi_user
        self.requests: list[RecordedRequest] = []
        self.experiments: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, FakeRun] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}  # pipeline id -> versions, oldest first
        self.uploads: list[VersionUpload] = []
        self.recurring_runs: dict[str, dict[str, Any]] = {}
        self._scripts: list[RunScript] = []
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()

    @property
    def url(self) -> str:
        return self.base_url

    # -- test helpers ----------------------------------------------------------------------------------------
    def script_run(
        self,
        *steps: Step,
        error: str = "",
        task_errors: dict[str, str] | None = None,
        on_terminate: Sequence[Step] = ("CANCELING", "CANCELED"),
        run_id: str | None = None,
    ) -> RunScript:
        """Queue the script of the next submitted run (scripts are used in the order they were queued).

        ``error`` is the run's error message, shown once the run is FAILED or CANCELED; ``task_errors`` the
        error of a task, shown while it is FAILED. ``run_id`` fixes the id the run gets.
        """
        script = self._make_script(steps, error, task_errors, on_terminate, run_id)
        with self._lock:
            self._scripts.append(script)
        return script

    def add_run(
        self,
        *steps: Step,
        error: str = "",
        task_errors: dict[str, str] | None = None,
        on_terminate: Sequence[Step] = ("CANCELING", "CANCELED"),
        run_id: str | None = None,
        pipeline_name: str = "fetch-calls-pipeline",
        parameters: dict[str, Any] | None = None,
    ) -> str:
        """Store a run as if it had been submitted (with a minimal pipeline spec); returns its id."""
        script = self._make_script(steps, error, task_errors, on_terminate, run_id)
        body = {
            "display_name": f"{pipeline_name} run",
            "pipeline_spec": {"pipelineInfo": {"name": pipeline_name}, "root": {"dag": {"tasks": {}}}},
            "runtime_config": {"parameters": dict(parameters or {})},
        }
        with self._lock:
            return self._store_run(body, script).run_id

    def add_pipeline_version(
        self, pipeline_name: str, version_name: str, pipeline_spec: Any, *, description: str = ""
    ) -> tuple[str, str]:
        """Store a pipeline (when missing) and a version of it; returns (pipeline id, version id)."""
        with self._lock:
            found = [p for p in self.pipelines.values() if p["display_name"] == pipeline_name]
            if found:
                pipeline = found[0]
            else:
                _, pipeline = self._create_pipeline({"display_name": pipeline_name})
            version = self._store_version(pipeline["pipeline_id"], version_name, description, pipeline_spec)
            return pipeline["pipeline_id"], version["pipeline_version_id"]

    def fail(
        self,
        status: int,
        *,
        method: str | None = None,
        path_contains: str = "",
        message: str = "injected failure",
        times: int | None = 1,
    ) -> None:
        """Answer matching requests with ``status`` (``times`` of them; None: until cleared)."""
        with self._lock:
            self._failures.append(_Failure(status, method, path_contains, message, times))

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def calls(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        """Recorded requests whose method matches and whose path matches the regex ``path_pattern``."""
        with self._lock:
            return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    @property
    def submitted_runs(self) -> list[dict[str, Any]]:
        """Bodies of ``POST /runs`` (what kfp submitted), in order."""
        return [r.json for r in self.calls("POST", f"{API}/runs")]

    def run(self, run_id: str) -> FakeRun:
        with self._lock:
            return self.runs[run_id]

    # -- request handling ------------------------------------------------------------------------------------
    @staticmethod
    def _make_script(
        steps: Sequence[Step],
        error: str,
        task_errors: dict[str, str] | None,
        on_terminate: Sequence[Step],
        run_id: str | None,
    ) -> RunScript:
        return RunScript(
            steps=_steps(steps or ("RUNNING", "SUCCEEDED")),
            error=error,
            task_errors=dict(task_errors or {}),
            on_terminate=_steps(on_terminate),
            run_id=run_id,
        )

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = read_body(handler)
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            parsed = json.loads(body) if body else None
        except json.JSONDecodeError:
            parsed = None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        request = RecordedRequest(handler.command, parts.path, query, headers, body, parsed)
        with self._lock:
            self.requests.append(request)
            status, payload = self._answer(request)
        reply_json(handler, status, payload)

    @staticmethod
    def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
        code = _GRPC_CODES.get(status, 2)
        return status, {"error": message, "code": code, "message": message, "details": []}

    def _answer(self, request: RecordedRequest) -> tuple[int, Any]:
        if self.token is not None and request.authorization != f"Bearer {self.token}":
            reason = "missing" if not request.authorization else "invalid"
            return self._error(401, f"Unauthenticated: {reason} bearer token")
        for failure in self._failures:
            if (failure.method in (None, request.method)) and failure.path_contains in request.path:
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                return self._error(failure.status, failure.message)

        method, path, query = request.method, request.path, request.query
        if method == "GET" and path == f"{API}/healthz":
            return 200, {"multi_user": self.multi_user, "commit_sha": "fake", "tag_name": "2.5.0"}
        if path == f"{API}/experiments":
            if method == "GET":
                return 200, self._list_experiments(query)
            if method == "POST":
                return self._create_experiment(request.json or {})
        if match := re.fullmatch(f"{API}/experiments/([^/:]+)", path):
            experiment = self.experiments.get(match[1])
            if method == "GET":
                if experiment is None:
                    return self._error(404, f"Experiment {match[1]} not found")
                return 200, experiment
        if path.startswith(f"{API}/pipelines"):
            return self._answer_pipelines(request)
        if path == f"{API}/runs":
            if method == "POST":
                return self._create_run(request.json or {})
            if method == "GET":
                wanted = query.get("experiment_id")
                runs = [r for r in self.runs.values() if not wanted or r.body.get("experiment_id") == wanted]
                return 200, {"runs": [self._view(r) for r in runs], "total_size": len(runs)} if runs else {}
        if path.startswith(f"{API}/recurringruns"):
            return self._recurring(method, path, query, request.json or {})
        if match := re.fullmatch(f"{API}/runs/([^/:]+)(:terminate)?", path):
            run = self.runs.get(match[1])
            if run is None:
                return self._error(404, f"Run {match[1]} not found")
            if method == "GET" and not match[2]:
                return 200, self._advance(run)
            if method == "POST" and match[2]:
                return 200, self._terminate(run)
        return self._error(404, f"Not Found: {method} {path}")

    def _recurring(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, Any]:
        if path == f"{API}/recurringruns":
            if method == "POST":
                return self._create_recurring(body)
            if method == "GET":
                wanted = query.get("experiment_id")
                found = [
                    r for r in self.recurring_runs.values() if not wanted or r["experiment_id"] == wanted
                ]
                # The one camelCase field of the v2beta1 API (kfp_server_api reads "recurringRuns").
                return 200, {"recurringRuns": found, "total_size": len(found)} if found else {}
        match = re.fullmatch(f"{API}/recurringruns/([^/:]+)(:enable|:disable)?", path)
        if match is None:
            return self._error(404, f"Not Found: {method} {path}")
        recurring = self.recurring_runs.get(match[1])
        if recurring is None:
            return self._error(404, f"RecurringRun {match[1]} not found")
        if method == "GET" and not match[2]:
            return 200, recurring
        if method == "DELETE" and not match[2]:
            del self.recurring_runs[match[1]]
            return 200, {}
        if method == "POST" and match[2]:
            recurring["mode"] = "ENABLE" if match[2] == ":enable" else "DISABLE"
            recurring["updated_at"] = _now()
            return 200, {}
        return self._error(404, f"Not Found: {method} {path}")

    def _create_recurring(self, body: dict[str, Any]) -> tuple[int, Any]:
        if not body.get("display_name"):
            return self._error(400, "Invalid input error: recurring run display_name is empty")
        cron = ((body.get("trigger") or {}).get("cron_schedule") or {}).get("cron", "")
        if len(cron.split()) != 6:
            return self._error(400, f"Invalid input error: cron {cron!r} needs six fields (seconds first)")
        problem = self._spec_problem(body.get("pipeline_spec"))
        if problem or not body.get("pipeline_spec"):
            return self._error(400, f"Invalid input error: {problem or 'no pipeline_spec'}")
        if body.get("experiment_id") not in self.experiments:
            return self._error(404, f"Experiment {body.get('experiment_id')} not found")
        recurring = dict(body) | {
            "recurring_run_id": str(uuid.uuid4()),
            "mode": body.get("mode") or "ENABLE",
            "created_at": _now(),
            "updated_at": _now(),
            "status": "ENABLED",
        }
        self.recurring_runs[recurring["recurring_run_id"]] = recurring
        return 200, recurring

    @staticmethod
    def _filtered(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        """``items`` that pass the ``filter`` query (its ``display_name`` EQUALS predicates)."""
        if query.get("filter"):
            for predicate in json.loads(query["filter"]).get("predicates", []):
                if predicate.get("key") == "display_name" and predicate.get("operation") in (1, "EQUALS"):
                    wanted = predicate.get("stringValue", predicate.get("string_value"))
                    items = [item for item in items if item["display_name"] == wanted]
        return items

    def _answer_pipelines(self, request: RecordedRequest) -> tuple[int, Any]:
        method, path, query = request.method, request.path, request.query
        if path == f"{API}/pipelines":
            if method == "POST":
                return self._create_pipeline(request.json or {})
            if method == "GET":
                pipelines = self._filtered(list(self.pipelines.values()), query)
                if query.get("namespace"):
                    pipelines = [p for p in pipelines if p.get("namespace") == query["namespace"]]
                return 200, {"pipelines": pipelines, "total_size": len(pipelines)} if pipelines else {}
        if path == f"{API}/pipelines/upload_version" and method == "POST":
            return self._upload_version(request)
        match = re.fullmatch(f"{API}/pipelines/([^/:]+)(/versions)?(?:/([^/:]+))?", path)
        if match and method == "GET":
            pipeline = self.pipelines.get(match[1])
            if pipeline is None:
                return self._error(404, f"Pipeline {match[1]} not found")
            if not match[2]:
                return 200, pipeline
            versions = self.versions.get(match[1], [])
            if match[3]:
                found = [v for v in versions if v["pipeline_version_id"] == match[3]]
                if not found:
                    return self._error(404, f"Pipeline version {match[3]} not found")
                return 200, found[0]
            versions = self._filtered(list(versions), query)
            if query.get("sort_by") == "created_at desc":
                versions.reverse()  # stored oldest first
            elif query.get("sort_by"):
                return self._error(400, f"Invalid input error: cannot sort by {query['sort_by']!r}")
            size = int(query.get("page_size") or 0)
            page = versions[:size] if size else versions
            return 200, {"pipeline_versions": page, "total_size": len(versions)} if page else {}
        return self._error(404, f"Not Found: {method} {path}")

    def _create_pipeline(self, body: dict[str, Any]) -> tuple[int, Any]:
        name = body.get("display_name") or body.get("name") or ""
        if not name:
            return self._error(400, "Invalid input error: pipeline display_name is empty")
        namespace = body.get("namespace") or ""
        if any(p["display_name"] == name and p["namespace"] == namespace for p in self.pipelines.values()):
            return self._error(409, f"Already exist error: pipeline {name!r} already exists")
        pipeline = {
            "pipeline_id": str(uuid.uuid4()),
            "display_name": name,
            "name": name,
            "description": body.get("description") or "",
            "namespace": namespace,
            "created_at": _now(),
        }
        self.pipelines[pipeline["pipeline_id"]] = pipeline
        self.versions[pipeline["pipeline_id"]] = []
        return 200, pipeline

    def _upload_version(self, request: RecordedRequest) -> tuple[int, Any]:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return self._error(
                400, f"Invalid input error: expected multipart/form-data, got {content_type!r}"
            )
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
        parts = [
            part for part in message.iter_parts() if part.get_param("name", header="content-disposition")
        ]
        files = [p for p in parts if p.get_param("name", header="content-disposition") == "uploadfile"]
        if len(files) != 1:
            return self._error(400, "Invalid input error: no uploadfile part in the form")
        part = files[0]
        text = part.get_payload(decode=True).decode("utf-8")
        try:
            documents = [doc for doc in yaml.safe_load_all(text) if doc]
        except yaml.YAMLError as exc:
            return self._error(400, f"Invalid input error: the uploaded file is not YAML: {exc}")
        filename = part.get_filename() or ""
        self.uploads.append(
            VersionUpload(dict(request.query), content_type, "uploadfile", filename, text, documents)
        )
        if not filename.endswith((".yaml", ".yml")):
            return self._error(400, f"Invalid input error: unexpected file name {filename!r}")
        spec: Any = documents[0] if len(documents) == 1 else None
        if len(documents) == 2:
            spec = {"pipeline_spec": documents[0], "platform_spec": documents[1]}
        problem = self._spec_problem(spec) if spec is not None else "expected one or two YAML documents"
        if problem:
            return self._error(400, f"Invalid input error: {problem}")
        pipeline_id = request.query.get("pipelineid", "")
        name = request.query.get("display_name") or request.query.get("name") or ""
        if pipeline_id not in self.pipelines:
            return self._error(404, f"Pipeline {pipeline_id} not found")
        if not name:
            return self._error(400, "Invalid input error: pipeline version name is empty")
        if any(v["display_name"] == name for v in self.versions[pipeline_id]):
            return self._error(409, f"Already exist error: version {name!r} of pipeline {pipeline_id}")
        return 200, self._store_version(pipeline_id, name, request.query.get("description", ""), spec)

    def _store_version(self, pipeline_id: str, name: str, description: str, spec: Any) -> dict[str, Any]:
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": str(uuid.uuid4()),
            "display_name": name,
            "name": name,
            "description": description,
            "created_at": _now(),
            "pipeline_spec": spec,
        }
        self.versions.setdefault(pipeline_id, []).append(version)
        return version

    def _version(self, reference: Any) -> dict[str, Any] | None:
        if not isinstance(reference, dict):
            return None
        versions = self.versions.get(reference.get("pipeline_id") or "", [])
        wanted = reference.get("pipeline_version_id")
        return next((v for v in versions if v["pipeline_version_id"] == wanted), None)

    def _list_experiments(self, query: dict[str, str]) -> dict[str, Any]:
        experiments = self._filtered(list(self.experiments.values()), query)
        if query.get("namespace"):
            experiments = [e for e in experiments if e.get("namespace") == query["namespace"]]
        return {"experiments": experiments, "total_size": len(experiments)} if experiments else {}

    def _create_experiment(self, body: dict[str, Any]) -> tuple[int, Any]:
        name = body.get("display_name") or ""
        if not name:
            return self._error(400, "Invalid input error: experiment display_name is empty")
        if any(
            e["display_name"] == name and e.get("namespace", "") == body.get("namespace", "")
            for e in self.experiments.values()
        ):
            return self._error(409, f"Already exist error: experiment {name!r} already exists")
        experiment = {
            "experiment_id": str(uuid.uuid4()),
            "display_name": name,
            "description": body.get("description") or "",
            "namespace": body.get("namespace") or "",
            "created_at": _now(),
            "storage_state": "AVAILABLE",
            "last_run_created_at": EPOCH,
        }
        self.experiments[experiment["experiment_id"]] = experiment
        return 200, experiment

    def _create_run(self, body: dict[str, Any]) -> tuple[int, Any]:
        if not body.get("display_name"):
            return self._error(400, "Invalid input error: run display_name is empty")
        if not body.get("pipeline_spec") and not body.get("pipeline_version_reference"):
            return self._error(400, "Invalid input error: run has no pipeline_spec and no pipeline version")
        problem = self._spec_problem(body.get("pipeline_spec"))
        if problem:
            return self._error(400, f"Invalid input error: {problem}")
        reference = body.get("pipeline_version_reference")
        if reference is not None and self._version(reference) is None:
            return self._error(404, f"Pipeline version {reference} not found")
        experiment_id = body.get("experiment_id")
        if experiment_id and experiment_id not in self.experiments:
            return self._error(404, f"Experiment {experiment_id} not found")
        if self._scripts:
            script = self._scripts.pop(0)
        else:
            script = self._make_script((), "", None, ("CANCELING", "CANCELED"), None)
        run = self._store_run(body, script)
        return 200, self._view(run)

    @staticmethod
    def _spec_problem(spec: Any) -> str:
        """Why an inline pipeline spec would be refused ('' when it is acceptable or absent)."""
        if spec is None:
            return ""
        if not isinstance(spec, dict):
            return "pipeline_spec is not an object"
        if "platform_spec" in spec:
            platforms = (
                spec["platform_spec"].get("platforms") if isinstance(spec["platform_spec"], dict) else None
            )
            if not isinstance(platforms, dict) or "kubernetes" not in platforms:
                return "platform_spec has no platforms.kubernetes"
            spec = spec.get("pipeline_spec")
            if not isinstance(spec, dict):
                return "pipeline_spec with a platform_spec needs the PipelineSpec under pipeline_spec"
        missing = [key for key in ("pipelineInfo", "root") if key not in spec]
        return f"pipeline_spec lacks {', '.join(missing)}" if missing else ""

    def _store_run(self, body: dict[str, Any], script: RunScript) -> FakeRun:
        run_id = script.run_id or str(uuid.uuid4())
        run = FakeRun(run_id=run_id, body=body, script=script, created_at=_now())
        self.runs[run_id] = run
        return run

    def _advance(self, run: FakeRun) -> dict[str, Any]:
        run.shown = min(run.cursor, len(run.script.steps) - 1)
        run.cursor = run.shown + 1
        return self._view(run)

    def _terminate(self, run: FakeRun) -> dict[str, Any]:
        if run.state not in FINAL_STATES and not run.terminated:
            run.terminated = True
            run.script.steps = run.script.steps[: run.shown + 1] + run.script.on_terminate
            run.cursor = run.shown + 1
        return {}

    def _view(self, run: FakeRun) -> dict[str, Any]:
        """The run as ``GET /runs/{id}`` shows it at its current step."""
        state = run.state
        if not run.history or run.history[-1][0] != state:
            run.history.append((state, _now()))
        tasks: dict[str, str] = {}
        for _, step_tasks in run.script.steps[: run.shown + 1]:
            tasks.update(step_tasks)
        task_details = []
        for index, (name, task_state) in enumerate(tasks.items()):
            detail: dict[str, Any] = {
                "run_id": run.run_id,
                "task_id": f"{run.run_id}-task-{index}",
                "display_name": name,
                "create_time": run.created_at,
                "start_time": run.created_at,
                "end_time": _now() if task_state in FINAL_STATES else EPOCH,
                "state": task_state,
                "execution_id": str(index + 1),
                "pod_name": f"run-{run.run_id[:8]}-system-container-impl-{index + 1000}",
                "executor_detail": {"main_job": f"run-{run.run_id[:8]}-{index + 1000}"},
            }
            if task_state == "FAILED" and name in run.script.task_errors:
                detail["error"] = {"code": 2, "message": run.script.task_errors[name], "details": []}
            task_details.append(detail)
        final = state in FINAL_STATES
        view: dict[str, Any] = {
            "experiment_id": run.body.get("experiment_id", ""),
            "run_id": run.run_id,
            "display_name": run.body.get("display_name", ""),
            "storage_state": "AVAILABLE",
            "description": run.body.get("description", ""),
            "pipeline_spec": run.body.get("pipeline_spec"),
            "pipeline_version_reference": run.body.get("pipeline_version_reference"),
            "runtime_config": run.body.get("runtime_config") or {},
            "service_account": run.body.get("service_account") or "default-editor",
            "created_at": run.created_at,
            "scheduled_at": run.created_at,
            "finished_at": run.history[-1][1] if final else EPOCH,
            "state": state,
            "run_details": {"task_details": task_details},
            "state_history": [{"update_time": when, "state": s} for s, when in run.history],
        }
        if run.script.error and state in {"FAILED", "CANCELED"}:
            view["error"] = {"code": 2, "message": run.script.error, "details": []}
        return view


@pytest.fixture
def kfp_server(settings_env: SettingsEnv) -> Iterator[FakeKfpServer]:
    """A running fake KFP API with a token; the settings point at it (host, token, fast polling)."""
    with FakeKfpServer() as server:
        settings_env(
            SKIT_KFP_HOST=server.url, SKIT_KFP_TOKEN=FakeKfpServer.TOKEN, SKIT_KFP_POLL_SECONDS="0.05"
        )
        yield server
