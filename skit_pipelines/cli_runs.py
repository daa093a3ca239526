"""``skit-pipelines runs list|show|logs|cancel|retry``: run control over the three places runs live.

* the local run folders (``.skit/runs/<run-id>/``, :mod:`skit_pipelines.runner.local_runs`) — the default;
* the HTTP API's runs database, with ``--api URL --token T [--namespace NS]`` (what the API's users see, its
  namespaces and auth rules included);
* a Kubeflow Pipelines cluster when ``SKIT_KFP_HOST`` is set (``--local`` still reads the local folders).

Each backend answers with the same plain dicts (run summaries; a run's detail), printed by one renderer as a
table or, with ``--json``, as JSON. Errors name the run id and what to do, never a file's contents.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.text import Text

from skit_pipelines import cli_output as output
from skit_pipelines.errors import SkitPipelinesError

if TYPE_CHECKING:
    from pathlib import Path

runs_app = typer.Typer(
    help="Runs: list, show, logs, cancel, retry (local run folders; the API with --api; Kubeflow when "
    "SKIT_KFP_HOST is set).",
    no_args_is_help=True,
)

ApiOption = Annotated[
    str, typer.Option("--api", help="URL of a skit-pipelines API: its runs database instead of local runs")
]
TokenOption = Annotated[str, typer.Option("--token", help="Bearer token for --api (POST /token)")]
NamespaceOption = Annotated[str, typer.Option("--namespace", "-n", help="Namespace of --api runs")]
LocalOption = Annotated[
    bool, typer.Option("--local", help="Local run folders even when SKIT_KFP_HOST is set")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout")]
RunIdArgument = Annotated[str, typer.Argument(help="Run id (as `runs list` shows it)")]


class RunsError(SkitPipelinesError):
    """A failure to report as one ``error:`` line (exit code 1)."""


class Backend(Protocol):
    kind: str

    def list(self, limit: int) -> list[dict[str, Any]]: ...
    def show(self, run_id: str) -> dict[str, Any]: ...
    def logs(self, run_id: str, step: str, follow: bool) -> Iterator[str]: ...
    def cancel(self, run_id: str) -> dict[str, Any]: ...
    def retry(self, run_id: str, json_output: bool) -> dict[str, Any]: ...


# -- local run folders --
class LocalBackend:
    kind = "local"

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def list(self, limit: int) -> list[dict[str, Any]]:
        from skit_pipelines.runner.local_runs import list_runs

        return [run.summary() for run in list_runs(self.runs_dir, limit)]

    def _load(self, run_id: str) -> Any:
        from skit_pipelines.runner.local_runs import UnknownRunError, load_run

        try:
            return load_run(self.runs_dir, run_id)
        except UnknownRunError as exc:
            raise RunsError(str(exc)) from None

    def show(self, run_id: str) -> dict[str, Any]:
        run = self._load(run_id)
        record = run.record
        steps = {step: record.get("step_states", {}).get(step, "") for step in record.get("steps") or []}
        steps |= dict(record.get("step_states") or {})
        return run.summary() | {
            "run_name": record.get("run_name", ""),
            "backend": "local",
            "arguments": record.get("arguments", {}),
            "outputs": record.get("outputs", {}),
            "step_outputs": record.get("step_outputs", {}),
            "steps": steps,
            "failed_step": record.get("failed_step", ""),
            "error": record.get("error", ""),
            "pipeline_ref": record.get("pipeline_ref", ""),
        }

    def logs(self, run_id: str, step: str, follow: bool) -> Iterator[str]:
        from skit_pipelines.runner.kfp_log_tap import step_log_lines
        from skit_pipelines.runner.local_runs import RunControlError, follow_log, log_lines

        run = self._load(run_id)
        try:
            if not follow:
                yield from log_lines(run, step)
                return
            log_lines(run, step)  # an unknown step fails before waiting
        except RunControlError as exc:
            raise RunsError(str(exc)) from None
        if not step:
            yield from follow_log(self.runs_dir, run_id)
            return
        seen = 0  # one step's lines: re-select them from the growing log (steps run one after another)
        lines: list[str] = []
        for line in follow_log(self.runs_dir, run_id):
            lines.append(line)
            selected = step_log_lines(lines, step)
            yield from selected[seen:]
            seen = len(selected)

    def cancel(self, run_id: str) -> dict[str, Any]:
        from skit_pipelines.runner.local_runs import RunControlError, cancel_local_run

        self._load(run_id)
        try:
            run = cancel_local_run(self.runs_dir, run_id)
        except RunControlError as exc:
            raise RunsError(str(exc)) from None
        return {"run_id": run_id, "state": run.state.value, "backend": "local"}

    def retry(self, run_id: str, json_output: bool) -> dict[str, Any]:
        from skit_pipelines.pipelines import UnknownPipelineError
        from skit_pipelines.runner.base import PipelineRunError, load_pipeline
        from skit_pipelines.runner.local import LocalRunner, pipeline_steps
        from skit_pipelines.runner.progress import RunProgressView

        run = self._load(run_id)
        name, ref = run.pipeline, str(run.record.get("pipeline_ref") or "")
        arguments = run.record.get("arguments")
        if not name or not isinstance(arguments, dict):
            raise RunsError(
                f"run {run_id!r}: its record names no pipeline or arguments; it cannot be retried"
            )
        try:
            pipeline = load_pipeline(ref, name)
        except (UnknownPipelineError, ImportError, AttributeError) as exc:
            raise RunsError(f"run {run_id!r}: cannot load its pipeline {name!r}: {exc}") from None
        runner = LocalRunner(self.runs_dir)
        stream = sys.stderr if json_output else sys.stdout
        with RunProgressView(name, pipeline_steps(pipeline), stream) as view:
            try:
                result = runner.run_pipeline(
                    pipeline, name, arguments, on_event=view.update, pipeline_ref=ref
                )
            except (PipelineRunError, ValueError) as exc:
                raise RunsError(str(exc)) from None
        return {"result": result}


# -- the HTTP API --
class ApiBackend:
    kind = "api"

    def __init__(self, url: str, token: str, namespace: str) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.namespace = namespace
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30.0)

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        try:
            answer = self.http.request(method, f"/{self.namespace}/pipelines/runs{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise RunsError(f"cannot reach the API at {self.http.base_url}: {exc}") from None
        try:
            body = answer.json()
        except ValueError:
            body = {}
        response = body.get("response") if isinstance(body, dict) else None
        if answer.status_code >= 400 or not isinstance(response, dict):
            message = (response or {}).get("message") if isinstance(response, dict) else None
            raise RunsError(f"the API answered {answer.status_code}: {message or answer.reason_phrase}")
        return response

    def list(self, limit: int) -> list[dict[str, Any]]:
        runs = self._request("GET", "", params={"limit": min(limit, 200)})["runs"]
        return [
            {
                "run_id": run["run_id"],
                "pipeline": run.get("name", ""),
                "state": run.get("state", ""),
                "started_at": run.get("created_at"),
                "finished_at": run.get("finished_at"),
                "seconds": _seconds(run.get("created_at"), run.get("finished_at")),
                "run_url": run.get("run_url", ""),
            }
            for run in runs
        ]

    def show(self, run_id: str) -> dict[str, Any]:
        run = self._request("GET", f"/{run_id}")
        return {
            "run_id": run["run_id"],
            "pipeline": run.get("name", ""),
            "state": run.get("state", ""),
            "backend": run.get("backend", ""),
            "started_at": run.get("started_at") or run.get("created_at"),
            "finished_at": run.get("finished_at"),
            "seconds": _seconds(run.get("started_at") or run.get("created_at"), run.get("finished_at")),
            "arguments": run.get("arguments", {}),
            "outputs": run.get("outputs", {}),
            "steps": run.get("steps", {}),
            "failed_step": run.get("failed_step", ""),
            "error": run.get("error", ""),
            "error_logs": run.get("error_logs", ""),
            "run_url": run.get("run_url", ""),
        }

    def logs(self, run_id: str, step: str, follow: bool) -> Iterator[str]:
        """The API keeps the log of failed runs (``error_logs``); ``--follow`` waits for the final state."""
        from skit_pipelines.runner.base import RunState

        while True:
            run = self.show(run_id)
            if not follow or RunState(run["state"]).is_final:
                break
            time.sleep(1.0)
        if step and run.get("failed_step") != step:
            raise RunsError(f"the API keeps the log of a failed step only; step {step!r} did not fail")
        yield from str(run.get("error_logs") or "").splitlines()

    def cancel(self, run_id: str) -> dict[str, Any]:
        run = self._request("POST", f"/{run_id}/cancel")
        return {"run_id": run_id, "state": run.get("state", ""), "backend": run.get("backend", "")}

    def retry(self, run_id: str, json_output: bool) -> dict[str, Any]:
        created = self._request("POST", f"/{run_id}/retry")
        return {"run_id": created["run_id"], "retry_of": run_id, "run_url": created.get("run_url", "")}


# -- a Kubeflow Pipelines cluster --
class ClusterBackend:
    kind = "kubeflow"

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def _call(self, action: Any) -> Any:
        from skit_pipelines.runner.base import PipelineRunError

        try:
            return action()
        except PipelineRunError as exc:
            raise RunsError(str(exc)) from None

    def list(self, limit: int) -> list[dict[str, Any]]:
        runs = self._call(lambda: self.runner.list_runs(limit))
        return [run | {"seconds": _seconds(run.get("started_at"), run.get("finished_at"))} for run in runs]

    def show(self, run_id: str) -> dict[str, Any]:
        result = self._call(lambda: self.runner.get_status(run_id))
        arguments = self._call(lambda: self.runner.run_arguments(run_id))
        return output._result_dict(result) | {"arguments": arguments, "steps": {}}

    def logs(self, run_id: str, step: str, follow: bool) -> Iterator[str]:
        result = self._call(lambda: self.runner.get_status(run_id))
        raise RunsError(
            f"step logs of cluster runs are kept by Kubernetes, not the Pipelines API: see {result.run_url}"
            + (f" (error: {result.error})" if result.error else "")
        )
        yield ""  # pragma: no cover - a generator, like the other backends' logs

    def cancel(self, run_id: str) -> dict[str, Any]:
        result = self._call(lambda: self.runner.cancel(run_id))
        return {"run_id": run_id, "state": result.state.value, "backend": "kubeflow"}

    def retry(self, run_id: str, json_output: bool) -> dict[str, Any]:
        pipeline, new_id = self._call(lambda: self.runner.retry(run_id))
        return {
            "run_id": new_id,
            "retry_of": run_id,
            "pipeline": pipeline,
            "run_url": self.runner.run_url(new_id),
        }


def _seconds(start: Any, end: Any) -> float | None:
    import datetime as dt

    def parse(value: Any) -> dt.datetime | None:
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)

    begin = parse(start) if start else None
    if begin is None:
        return None
    finish = (parse(end) if end else None) or dt.datetime.now(dt.timezone.utc)
    return max(round((finish - begin).total_seconds(), 3), 0.0)


def _backend(api: str, token: str, namespace: str, local: bool) -> Backend:
    settings = output._settings()
    if api:
        return ApiBackend(api, token, namespace)
    if settings.kfp_host and not local:
        from skit_pipelines.runner.kubeflow import KubeflowRunner

        return ClusterBackend(KubeflowRunner.from_settings(settings))
    return LocalBackend(settings.runs_dir)


def _fail(message: str) -> typer.Exit:
    return output._fail(message, code=1)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, sort_keys=True, ensure_ascii=False) + "\n")


# -- commands --
@runs_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(min=1, help="How many runs (newest first)")] = 20,
    json_output: JsonOption = False,
    api: ApiOption = "",
    token: TokenOption = "",
    namespace: NamespaceOption = "skit",
    local: LocalOption = False,
) -> None:
    """List runs, newest first: pipeline, state, start, duration."""

    try:
        runs = _backend(api, token, namespace, local).list(limit)
    except RunsError as exc:
        raise _fail(str(exc)) from None
    if json_output:
        _write_json(runs)
        return
    rows = []
    for run in runs:
        state = str(run.get("state", ""))
        if run.get("process_alive") is False:
            state += " (process gone)"
        rows.append(
            [
                run["run_id"],
                run.get("pipeline", ""),
                state,
                str(run.get("started_at") or ""),
                _duration(run.get("seconds")),
            ]
        )
    output._print_table(
        output.console, output._table("runs", ["run", "pipeline", "state", "started", "duration"], rows)
    )


@runs_app.command("show")
def show_command(
    run_id: RunIdArgument,
    json_output: JsonOption = False,
    api: ApiOption = "",
    token: TokenOption = "",
    namespace: NamespaceOption = "skit",
    local: LocalOption = False,
) -> None:
    """Show a run: state, parameters, step states, outputs, error."""

    try:
        run = _backend(api, token, namespace, local).show(run_id)
    except RunsError as exc:
        raise _fail(str(exc)) from None
    if json_output:
        _write_json(run)
        return
    out = output.console
    out.print(Text(f"run {run['run_id']}: {run.get('pipeline', '')} {run.get('state', '')}"), soft_wrap=True)
    facts = [
        [key, str(run[key])]
        for key in ("run_name", "backend", "started_at", "finished_at", "run_dir", "run_url", "failed_step")
        if run.get(key)
    ]
    if run.get("seconds") is not None:
        facts.append(["duration", _duration(run["seconds"])])
    output._print_table(out, output._table("run", ["", ""], facts, show_header=False))
    if run.get("error"):
        out.print("[red]error:[/]")
        out.print(Text(str(run["error"])), soft_wrap=True)
    arguments = run.get("arguments") or {}
    rows = [[key, output.display_value(value)] for key, value in sorted(arguments.items())]
    output._print_table(out, output._table("parameters", ["parameter", "value"], rows))
    if run.get("steps"):
        output._print_table(
            out, output._table("steps", ["step", "state"], [[s, str(v)] for s, v in run["steps"].items()])
        )
    outputs = run.get("outputs") or {}
    if outputs:
        rows = [[key, output.display_value(value)] for key, value in sorted(outputs.items())]
        output._print_table(out, output._table("outputs", ["output", "value"], rows))


@runs_app.command("logs")
def logs_command(
    run_id: RunIdArgument,
    step: Annotated[str, typer.Option("--step", help="Only what this step printed")] = "",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the run is final")
    ] = False,
    api: ApiOption = "",
    token: TokenOption = "",
    namespace: NamespaceOption = "skit",
    local: LocalOption = False,
) -> None:
    """Print a run's log (run.log), or one step's part of it; --follow tails it until the run is final."""
    try:
        for line in _backend(api, token, namespace, local).logs(run_id, step, follow):
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except RunsError as exc:
        raise _fail(str(exc)) from None


@runs_app.command("cancel")
def cancel_command(
    run_id: RunIdArgument,
    json_output: JsonOption = False,
    api: ApiOption = "",
    token: TokenOption = "",
    namespace: NamespaceOption = "skit",
    local: LocalOption = False,
) -> None:
    """Cancel a queued or running run (local: stop its process and steps; cluster: terminate it)."""
    try:
        answer = _backend(api, token, namespace, local).cancel(run_id)
    except RunsError as exc:
        raise _fail(str(exc)) from None
    if json_output:
        _write_json(answer)
    else:
        output.console.print(Text(f"run {run_id}: {answer['state']}"))


@runs_app.command("retry")
def retry_command(
    run_id: RunIdArgument,
    json_output: JsonOption = False,
    api: ApiOption = "",
    token: TokenOption = "",
    namespace: NamespaceOption = "skit",
    local: LocalOption = False,
) -> None:
    """Start a new run of the same pipeline with the same parameters (byte for byte); prints the new id.

    Local runs run here in the foreground, like `skit-pipelines run`; API and cluster runs are submitted."""

    try:
        answer = _backend(api, token, namespace, local).retry(run_id, json_output)
    except RunsError as exc:
        raise _fail(str(exc)) from None
    result = answer.get("result")
    if result is None:  # submitted (API, cluster)
        if json_output:
            _write_json(answer)
        else:
            output.console.print(Text(f"retry of {run_id}: new run {answer['run_id']}"), soft_wrap=True)
            if answer.get("run_url"):
                output.console.print(Text(str(answer["run_url"])), soft_wrap=True)
        return
    if json_output:
        _write_json(output._result_dict(result) | {"retry_of": run_id})
    else:
        output._print_result(result)
        output.console.print(Text(f"retry of {run_id}: new run {result.run_id}"), soft_wrap=True)
    if not result.succeeded:
        raise typer.Exit(1)
