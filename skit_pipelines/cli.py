"""The ``skit-pipelines`` command line: list, describe, run and compile pipelines; demo data (and a demo
annotator); settings.

Why typer + rich: typed options with generated ``--help`` and readable tables and progress in a terminal,
with plain-line output when piped (CI logs). Every command is a thin layer over plain modules.

Everything a user or a docstring wrote (values, errors, descriptions, outputs) is printed as plain text,
never as rich markup: ``[today]`` or ``Asia/[/]Kolkata`` must show as typed, not vanish or crash the CLI.
Tables fold long cells instead of cutting them, and list rows in a sorted, stable order.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from skit_pipelines.cli_output import (
    _fail,
    _fail_arguments,
    _print_result,
    _print_table,
    _result_dict,
    _settings,
    _table,
    console,
    err_console,
)
from skit_pipelines.cli_output import display_value as display_value  # used by tests and other modules
from skit_pipelines.parameters import InvalidArgumentsError

app = typer.Typer(
    name="skit-pipelines",
    help="Reusable ML workflows for voicebot teams: run them on this machine or on Kubeflow Pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _warn_about_unknown_variables() -> None:
    """Runs before every command: a mistyped ``SKIT_*`` variable is named, not silently ignored."""
    import os

    from skit_pipelines.api.settings import ApiSettings
    from skit_pipelines.config import Settings, setting_variables, unknown_variables

    for warning in unknown_variables(setting_variables(Settings, ApiSettings), os.environ):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)


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
    table_rows = [[name, value, description] for name, value, description in sorted(rows)]
    _print_table(console, _table("skit-pipelines settings", ["setting", "value", "meaning"], table_rows))


@app.command("list")
def list_command() -> None:
    """List every pipeline with its parameters."""
    from skit_pipelines.pipelines import PIPELINES
    from skit_pipelines.pipelines.parameters import pipeline_description, pipeline_parameters

    rows = []
    for name in sorted(PIPELINES):
        pipeline = PIPELINES[name]
        params = ", ".join(f"{p.name}{'*' if p.required else ''}" for p in pipeline_parameters(pipeline))
        rows.append([name, " ".join(pipeline_description(pipeline).split()), params])
    _print_table(console, _table("pipelines", ["pipeline", "what it does", "parameters"], rows))
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
    console.print(f"[bold]{normalise_name(pipeline)}[/]: {escape(pipeline_description(pipe))}\n")
    rows = [
        [
            p.name,
            p.type,
            "(required)" if p.required else json.dumps(p.default, ensure_ascii=False),
            p.description,
        ]
        for p in pipeline_parameters(pipe)
    ]
    _print_table(console, _table("parameters", ["parameter", "type", "default", "description"], rows))
    outputs = pipeline_outputs(pipe)
    if outputs:
        _print_table(
            console, _table("outputs", ["output", "type"], [[n, t] for n, t in sorted(outputs.items())])
        )


@app.command("run")
def run_command(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name, e.g. fetch_calls_pipeline")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value (repeatable)")] = None,
    params_file: Annotated[Path | None, typer.Option(help="JSON object of parameters")] = None,
    run_name: Annotated[str | None, typer.Option(help="Name of the run")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout")] = False,
    version_name: Annotated[
        str | None,
        typer.Option(
            "--version-name",
            "--pipeline-version",
            help="Cluster only: run this uploaded version (see `upload`; `latest`: the newest) instead of "
            "submitting the pipeline inline",
        ),
    ] = None,
) -> None:
    """Run a pipeline: locally (default) or on Kubeflow when SKIT_KFP_HOST is set."""
    from skit_pipelines.cli_cluster import version_run
    from skit_pipelines.pipelines import UnknownPipelineError, get_pipeline, normalise_name
    from skit_pipelines.pipelines.parameters import parse_cli_params, validate_arguments
    from skit_pipelines.runner.base import PipelineRunError, get_runner
    from skit_pipelines.runner.local import pipeline_steps
    from skit_pipelines.runner.progress import RunProgressView

    name = normalise_name(pipeline)
    try:
        pipe = get_pipeline(name)
        raw = parse_cli_params(param or [], params_file)
        settings = _settings()
        validate_arguments(name, pipe, raw)  # fail fast, before a run folder or a cluster call exists
        runner = get_runner(settings)
        start = version_run(runner, version_name)
    except InvalidArgumentsError as exc:
        raise _fail_arguments(exc) from None
    except (UnknownPipelineError, ValueError) as exc:
        raise _fail(str(exc)) from None

    view_stream = sys.stderr if json_output else sys.stdout
    with RunProgressView(name, pipeline_steps(pipe), view_stream) as view:
        try:
            result = start(name, raw, on_event=view.update, run_name=run_name)
        except (PipelineRunError, InvalidArgumentsError) as exc:
            raise _fail(str(exc)) from None

    if json_output:
        sys.stdout.write(json.dumps(_result_dict(result), indent=2, default=str, sort_keys=True) + "\n")
    else:
        _print_result(result)
    if not result.succeeded:
        raise typer.Exit(1)


@app.command("compile")
def compile_command(
    pipelines: Annotated[list[str] | None, typer.Argument(help="Pipelines to compile (default: all)")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Where the YAML files go")] = Path("build"),
) -> None:
    """Compile pipelines to kfp v2 YAML (build/<pipeline>.yaml) for upload to a Kubeflow cluster."""
    from skit_pipelines.compiler import compile_all
    from skit_pipelines.pipelines import UnknownPipelineError
    from skit_pipelines.podconfig import PodConfig, PodConfigError

    settings = _settings()
    try:
        pod_config = PodConfig.from_settings(settings)  # the same configuration a cluster run submits
        paths = compile_all(out_dir, pipelines or None, image=settings.image, pod_config=pod_config)
    except (UnknownPipelineError, PodConfigError) as exc:
        raise _fail(str(exc)) from None
    for path in paths:
        console.print(Text(f"wrote {path}"), soft_wrap=True)
    if pod_config.enabled and not (pod_config.secrets or pod_config.config_maps):
        console.print(
            Text(
                "note: cluster mode without SKIT_KFP_SECRET or SKIT_KFP_CONFIG_MAP: the steps will run with "
                "embedded defaults (SQLite and artifacts inside each pod)"
            ),
            soft_wrap=True,
        )


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
    settings = _settings()
    if not db and settings.warehouse_url not in ("", settings.demo_warehouse_url):
        err_console.print(
            Text(
                f"SKIT_WAREHOUSE_URL is set; demo data goes to {settings.demo_warehouse_url}; "
                "pass --db to write elsewhere"
            )
        )
    url = db or settings.demo_warehouse_url
    summary = _generate_demo_data(
        url, calls=calls, seed=seed, days=days, end_date=end_date, wrong_rate=wrong_rate, replace=replace
    )
    table = Table("", "", title="demo warehouse", title_justify="left", show_header=False)
    table.add_row("database", Text(_describe_url(url)))
    for label, value in summary.as_rows():
        table.add_row(label, Text(str(value)))
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
        task = progress.add_task(escape(f"writing {calls} calls to {_describe_url(url)}"), total=calls)
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
        with LabelStudioClient.from_settings(_settings()) as client:
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
    from skit_pipelines.pipelines import get_pipeline
    from skit_pipelines.runner.local import LocalRunner, pipeline_steps
    from skit_pipelines.runner.progress import RunProgressView
    from skit_pipelines.warehouse.summary import summarise_turns_csv

    settings = _settings()
    url = settings.demo_warehouse_url
    console.rule("1. demo call warehouse")
    summary = _generate_demo_data(url, calls=calls, seed=seed, days=7, end_date="", wrong_rate=0.15)
    console.print(Text(f"{summary.calls} calls, {summary.turns} turns in {_describe_url(url)}"))

    console.rule("2. Random sample calls (fetch_calls_pipeline) on the local runner")
    # The whole week of demo calls: "today" alone may hold none yet (calls end before now).
    arguments = {"lang": lang, "start_date_offset": -6, "call_quantity": call_quantity, "random_seed": seed}
    console.print(
        Text(
            "skit-pipelines run fetch_calls_pipeline "
            + " ".join(f"--param {k}={v}" for k, v in arguments.items())
        )
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
        table.add_row(Text(label), Text(value))
    for client, count in sorted(sample.calls_per_client.items()):
        table.add_row(Text(f"  client {client}"), f"{count} calls")
    console.print(table)
    console.print(f"CSV: [bold]{escape(calls_uri)}[/]", soft_wrap=True)
    console.print(Text(f"run record and logs: {result.run_dir}"))


slu_app = typer.Typer(help="SLU project repositories (Retrain SLU).", no_args_is_help=True)
app.add_typer(slu_app, name="slu")


@slu_app.command("init")
def slu_init_command(
    name: Annotated[str, typer.Argument(help="Project name: the repo is <SKIT_SLU_REPO_BASE>/<NAME>.git")],
    from_csv: Annotated[
        str, typer.Option("--from-csv", help="A tagged CSV (tag or intent_y, ASR text) as the first data")
    ] = "",
    from_demo: Annotated[
        bool, typer.Option("--from-demo", help="The demo warehouse's turns and their demo truth as the data")
    ] = False,
    model_name: Annotated[
        str, typer.Option(help="Checkpoint in slu.yaml (a hub name in the cache or a local folder)")
    ] = "xlm-roberta-base",
    epochs: Annotated[int, typer.Option(help="Training epochs in slu.yaml")] = 10,
    dvc_remote: Annotated[
        str, typer.Option(help="DVC remote instead of SKIT_HOME/slu-dvc/NAME, e.g. s3://bucket/clients/NAME")
    ] = "",
) -> None:
    """Create a working SLU project repo (bare git remote + DVC remote folder under SKIT_HOME) with slu.yaml.

    With --from-csv or --from-demo its data is committed as data.dvc (retrain with initial_training=false);
    without, the first retrain_slu run is the initial training. An existing project is never overwritten.
    """
    from skit_pipelines.errors import SkitPipelinesError
    from skit_pipelines.jobs.slu_init import demo_tagged_rows, init_project
    from skit_pipelines.jobs.slu_repo import slu_connections_from
    from skit_pipelines.metrics.tagged import read_tagged_csv
    from skit_pipelines.slu.project_config import SluProjectConfig

    if from_csv and from_demo:
        raise _fail("give --from-csv or --from-demo, not both")
    settings = _settings()
    try:
        config = SluProjectConfig(model_name=model_name, epochs=epochs)
        data = None
        if from_csv:
            data = read_tagged_csv(Path(from_csv).expanduser())
        elif from_demo:
            data = demo_tagged_rows(settings.demo_warehouse_url)
        result = init_project(
            name,
            slu_connections_from(settings),
            settings.home,
            data=data,
            data_name=from_csv or ("demo warehouse" if from_demo else ""),
            config=config,
            dvc_remote=dvc_remote,
            dvc_endpoint_url=settings.s3_endpoint_url if dvc_remote.startswith("s3://") else "",
        )
    except (SkitPipelinesError, ValueError, OSError) as exc:  # each says what to fix: no traceback
        raise _fail(str(exc)) from None
    console.print(Text(f"created SLU project {name}: {result.repo}"), soft_wrap=True)
    console.print(Text(f"DVC remote: {result.dvc_remote}"), soft_wrap=True)
    if result.initial_training:
        next_step = f"skit-pipelines run retrain_slu --param repo_name={name} --param initial_training=true "
        next_step += "--param dataset_path=<tagged.csv>"
    else:
        console.print(
            Text(f"{result.train_rows} train / {result.test_rows} test rows, {result.intents} intents")
        )
        next_step = f"skit-pipelines run retrain_slu --param repo_name={name} --param dataset_path=<new.csv>"
    console.print(Text(f"next: {next_step}"), soft_wrap=True)


def _register_api_commands() -> None:
    """``serve`` and ``create-user`` live with the API (imported lazily: FastAPI loads only when used)."""
    from skit_pipelines.api.cli import create_user_command, serve_command

    app.command("serve")(serve_command)
    app.command("create-user")(create_user_command)


_register_api_commands()


def _register_cluster_commands() -> None:
    """``upload`` (and the other cluster commands) live in :mod:`skit_pipelines.cli_cluster`."""
    from skit_pipelines.cli_cluster import register

    register(app)


_register_cluster_commands()


def _register_run_commands() -> None:
    """``runs list|show|logs|cancel|retry`` (their own module: :mod:`skit_pipelines.cli_runs`)."""
    from skit_pipelines.cli_runs import runs_app

    app.add_typer(runs_app, name="runs")


_register_run_commands()


def _register_schedule_command() -> None:
    """``schedule`` lives in its own module (recurring runs on a cluster or in the API's database)."""
    from skit_pipelines.cli_schedule import schedule_command

    app.command("schedule")(schedule_command)


_register_schedule_command()


def main() -> None:  # pragma: no cover - console script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
