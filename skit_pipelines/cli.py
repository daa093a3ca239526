"""The ``skit-pipelines`` command line: list, describe, run and compile pipelines; demo data (and a demo
annotator); settings.

Why typer + rich: typed options with generated ``--help`` and readable tables and progress in a terminal,
with plain-line output when piped (CI logs). Every command is a thin layer over plain modules.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skit_pipelines.parameters import InvalidArgumentsError, problem_lines

app = typer.Typer(
    name="skit-pipelines",
    help="Reusable ML workflows for voicebot teams: run them on this machine or on Kubeflow Pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def _fail_arguments(exc: InvalidArgumentsError) -> typer.Exit:
    """One ``error: <parameter>: <problem>`` line per refused parameter; exit code 2 (nothing started)."""
    for line in problem_lines(exc.errors):
        err_console.print(f"[red]error:[/] {escape(line)}", soft_wrap=True)
    return typer.Exit(2)


@app.command("config")
def config_command() -> None:
    """Print the effective settings (from SKIT_* variables and .env), secrets masked."""
    from skit_pipelines.api.settings import get_api_settings
    from skit_pipelines.config import describe_settings, get_settings

    try:
        rows = get_settings().describe()
        rows += describe_settings(get_api_settings(), skip=frozenset({"home"}))
    except Exception as exc:  # pydantic ValidationError: show which setting is wrong
        raise _fail(f"invalid settings: {exc}") from None
    table = Table("setting", "value", "meaning", title="skit-pipelines settings", title_justify="left")
    for name, value, description in rows:
        table.add_row(name, value, description)
    console.print(table)


@app.command("list")
def list_command() -> None:
    """List every pipeline with its parameters."""
    from skit_pipelines.pipelines import PIPELINES
    from skit_pipelines.pipelines.parameters import pipeline_description, pipeline_parameters

    table = Table("pipeline", "what it does", "parameters", title="pipelines", title_justify="left")
    for name in sorted(PIPELINES):
        pipeline = PIPELINES[name]
        params = ", ".join(f"{p.name}{'*' if p.required else ''}" for p in pipeline_parameters(pipeline))
        table.add_row(name, pipeline_description(pipeline), params)
    console.print(table)
    console.print("* required. [dim]skit-pipelines describe <pipeline>[/] shows types, defaults and docs.")


@app.command("describe")
def describe_command(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name, e.g. fetch_calls_pipeline")],
) -> None:
    """Show a pipeline's parameters with types, defaults and docs, and its outputs."""
    from skit_pipelines.pipelines import UnknownPipelineError, get_pipeline, normalise_name
    from skit_pipelines.pipelines.parameters import (
        pipeline_description,
        pipeline_outputs,
        pipeline_parameters,
    )

    try:
        pipe = get_pipeline(pipeline)
    except UnknownPipelineError as exc:
        raise _fail(str(exc)) from None
    console.print(f"[bold]{normalise_name(pipeline)}[/]: {pipeline_description(pipe)}\n")
    table = Table("parameter", "type", "default", "description", title="parameters", title_justify="left")
    for p in pipeline_parameters(pipe):
        default = "(required)" if p.required else json.dumps(p.default)
        table.add_row(p.name, p.type, default, p.description)
    console.print(table)
    outputs = pipeline_outputs(pipe)
    if outputs:
        out_table = Table("output", "type", title="outputs", title_justify="left")
        for name, type_name in outputs.items():
            out_table.add_row(name, type_name)
        console.print(out_table)


@app.command("run")
def run_command(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name, e.g. fetch_calls_pipeline")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value (repeatable)")] = None,
    params_file: Annotated[Path | None, typer.Option(help="JSON object of parameters")] = None,
    run_name: Annotated[str | None, typer.Option(help="Name of the run")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout")] = False,
) -> None:
    """Run a pipeline: locally (default) or on Kubeflow when SKIT_KFP_HOST is set."""
    from skit_pipelines.pipelines import UnknownPipelineError, get_pipeline, normalise_name
    from skit_pipelines.pipelines.parameters import parse_cli_params, validate_arguments
    from skit_pipelines.runner.base import PipelineRunError, get_runner
    from skit_pipelines.runner.local import pipeline_steps
    from skit_pipelines.runner.progress import RunProgressView

    name = normalise_name(pipeline)
    try:
        pipe = get_pipeline(name)
        raw = parse_cli_params(param or [], params_file)
        validate_arguments(name, pipe, raw)  # fail fast, before a run folder or a cluster call exists
        runner = get_runner()
    except InvalidArgumentsError as exc:
        raise _fail_arguments(exc) from None
    except (UnknownPipelineError, ValueError) as exc:
        raise _fail(str(exc)) from None

    view_stream = sys.stderr if json_output else sys.stdout
    with RunProgressView(name, pipeline_steps(pipe), view_stream) as view:
        try:
            result = runner.run(name, raw, on_event=view.update, run_name=run_name)
        except (PipelineRunError, InvalidArgumentsError) as exc:
            raise _fail(str(exc)) from None

    if json_output:
        sys.stdout.write(json.dumps(_result_dict(result), indent=2, default=str) + "\n")
    else:
        _print_result(result)
    if not result.succeeded:
        raise typer.Exit(1)


def _result_dict(result: Any) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "pipeline": result.pipeline,
        "backend": result.backend,
        "state": result.state.value,
        "run_url": result.run_url,
        "run_dir": result.run_dir,
        "outputs": result.outputs,
        "failed_step": result.failed_step,
        "error": result.error,
    }


def _print_result(result: Any) -> None:
    out = Console(file=sys.stdout, highlight=False)
    if result.succeeded:
        out.print(f"[green]✔ {result.pipeline} succeeded[/] (run {result.run_id})")
    else:
        out.print(f"[red]✘ {result.pipeline} {result.state.value.lower()}[/] (run {result.run_id})")
        if result.failed_step:
            out.print(f"[red]failed step:[/] {result.failed_step}")
        if result.error:
            out.print(f"[red]error:[/]\n{result.error}")
    if result.outputs:
        table = Table("output", "value", title="outputs", title_justify="left")
        table.columns[1].overflow = "fold"
        for key, value in result.outputs.items():
            table.add_row(key, value if isinstance(value, str) else json.dumps(value))
        out.print(table)
    where = result.run_dir or result.run_url
    if where:
        out.print(f"run record and logs: {where}")


@app.command("compile")
def compile_command(
    pipelines: Annotated[list[str] | None, typer.Argument(help="Pipelines to compile (default: all)")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Where the YAML files go")] = Path("build"),
) -> None:
    """Compile pipelines to kfp v2 YAML (build/<pipeline>.yaml) for upload to a Kubeflow cluster."""
    from skit_pipelines.compiler import compile_all
    from skit_pipelines.pipelines import UnknownPipelineError

    try:
        paths = compile_all(out_dir, pipelines or None)
    except UnknownPipelineError as exc:
        raise _fail(str(exc)) from None
    for path in paths:
        console.print(f"wrote {path}")


@app.command("demo-data")
def demo_data_command(
    calls: Annotated[int, typer.Option(help="Number of calls to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 0,
    db: Annotated[
        str, typer.Option(help="SQLAlchemy URL to write to (default: the demo warehouse in SKIT_HOME)")
    ] = "",
    days: Annotated[int, typer.Option(help="Number of days of calls, ending on --end-date")] = 7,
    end_date: Annotated[
        str, typer.Option(help="Last day of calls, YYYY-MM-DD (default: today; never later than now)")
    ] = "",
    wrong_rate: Annotated[float, typer.Option(help="Share of wrong production predictions")] = 0.15,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete calls and turns in --db that are not demo data")
    ] = False,
) -> None:
    """Write a realistic, deterministic demo call warehouse (replaces earlier demo data, never real calls)."""
    from skit_pipelines.config import get_settings

    settings = get_settings()
    if not db and settings.warehouse_url not in ("", settings.demo_warehouse_url):
        err_console.print(
            f"SKIT_WAREHOUSE_URL is set; demo data goes to {settings.demo_warehouse_url}; "
            "pass --db to write elsewhere"
        )
    url = db or settings.demo_warehouse_url
    summary = _generate_demo_data(
        url, calls=calls, seed=seed, days=days, end_date=end_date, wrong_rate=wrong_rate, replace=replace
    )
    table = Table("", "", title="demo warehouse", title_justify="left", show_header=False)
    table.add_row("database", _describe_url(url))
    for label, value in summary.as_rows():
        table.add_row(label, str(value))
    console.print(table)


def _describe_url(url: str) -> str:
    from skit_pipelines.warehouse.schema import describe_url

    return describe_url(url)


def _generate_demo_data(
    url: str, *, calls: int, seed: int, days: int, end_date: str, wrong_rate: float, replace: bool = False
) -> Any:
    """Fill the demo warehouse at ``url`` with a progress bar; exit 2 with the reason on bad input or when
    ``url`` holds data that is not demo data (and ``replace`` is not given)."""
    from rich.progress import Progress

    from skit_pipelines.warehouse.demo_data import generate_demo_warehouse
    from skit_pipelines.warehouse.demo_marker import NotDemoDataError

    try:
        last_day = dt.date.fromisoformat(end_date) if end_date else None
    except ValueError:
        raise _fail(f"--end-date: cannot read {end_date!r} as a date (expected YYYY-MM-DD)") from None
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"writing {calls} calls to {_describe_url(url)}", total=calls)
        try:
            return generate_demo_warehouse(
                url,
                calls=calls,
                seed=seed,
                end_date=last_day,
                days=days,
                wrong_rate=wrong_rate,
                replace_foreign=replace,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except NotDemoDataError as exc:
            raise _fail(f"{exc}; pass --replace to delete them") from None
        except ValueError as exc:
            raise _fail(str(exc)) from None


@app.command("demo-annotate")
def demo_annotate_command(
    project_id: Annotated[int | None, typer.Option(help="Label Studio project id")] = None,
    project_title: Annotated[str, typer.Option(help="Label Studio project title (instead of an id)")] = "",
) -> None:
    """Annotate a Label Studio project of demo data with the demo's own truth (a stand-in for annotators).

    Prints the project id on stdout (for scripts) and what was annotated on stderr.
    """
    from skit_pipelines.annotation.client import LabelStudioClient
    from skit_pipelines.annotation.demo_annotator import annotate_with_demo_truth
    from skit_pipelines.annotation.errors import LabelStudioError

    if project_id is None and not project_title.strip():
        raise _fail("give --project-id or --project-title")
    try:
        with LabelStudioClient.from_settings() as client:
            result = annotate_with_demo_truth(client, project_id=project_id, title=project_title)
    except (LabelStudioError, ValueError) as exc:
        raise _fail(str(exc)) from None
    err_console.print(result.line(), soft_wrap=True)
    sys.stdout.write(f"{result.project_id}\n")


@app.command("demo")
def demo_command(
    calls: Annotated[int, typer.Option(help="Calls in the demo warehouse")] = 2000,
    call_quantity: Annotated[int, typer.Option(help="Calls to sample")] = 50,
    lang: Annotated[str, typer.Option(help="Language of the sampled calls")] = "en",
    seed: Annotated[int, typer.Option(help="Seed of the data and of the sample")] = 7,
) -> None:
    """The main job, end to end: build a demo warehouse, sample calls with the local runner, summarise.

    Always on the demo warehouse in SKIT_HOME, even when SKIT_WAREHOUSE_URL points at a real one: the run
    gets the demo warehouse's URL in its environment.
    """
    from skit_pipelines.config import get_settings
    from skit_pipelines.pipelines import get_pipeline
    from skit_pipelines.runner.local import LocalRunner, pipeline_steps
    from skit_pipelines.runner.progress import RunProgressView
    from skit_pipelines.warehouse.summary import summarise_turns_csv

    settings = get_settings()
    url = settings.demo_warehouse_url
    console.rule("1. demo call warehouse")
    summary = _generate_demo_data(url, calls=calls, seed=seed, days=7, end_date="", wrong_rate=0.15)
    console.print(f"{summary.calls} calls, {summary.turns} turns in {_describe_url(url)}")

    console.rule("2. Random sample calls (fetch_calls_pipeline) on the local runner")
    # The whole week of demo calls: "today" alone may hold none yet (calls end before now).
    arguments = {"lang": lang, "start_date_offset": -6, "call_quantity": call_quantity, "random_seed": seed}
    console.print(
        "skit-pipelines run fetch_calls_pipeline "
        + " ".join(f"--param {k}={v}" for k, v in arguments.items())
    )
    runner = LocalRunner(settings.runs_dir, environment={"SKIT_WAREHOUSE_URL": url})
    with RunProgressView(
        "fetch_calls_pipeline", pipeline_steps(get_pipeline("fetch_calls_pipeline")), sys.stdout
    ) as view:
        result = runner.run("fetch_calls_pipeline", arguments, on_event=view.update)
    if not result.succeeded:
        _print_result(result)
        raise typer.Exit(1)

    console.rule("3. result")
    calls_uri = str(result.outputs.get("calls_uri", ""))
    sample = summarise_turns_csv(calls_uri)
    table = Table("", "", title="sampled calls", title_justify="left", show_header=False)
    for label, value in sample.as_rows():
        table.add_row(label, value)
    for client, count in sorted(sample.calls_per_client.items()):
        table.add_row(f"  client {client}", f"{count} calls")
    console.print(table)
    console.print(f"CSV: [bold]{calls_uri}[/]", soft_wrap=True)
    console.print(f"run record and logs: {result.run_dir}")


def _register_api_commands() -> None:
    """``serve`` and ``create-user`` live with the API (imported lazily: FastAPI loads only when used)."""
    from skit_pipelines.api.cli import create_user_command, serve_command

    app.command("serve")(serve_command)
    app.command("create-user")(create_user_command)


_register_api_commands()


def main() -> None:  # pragma: no cover - console script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
