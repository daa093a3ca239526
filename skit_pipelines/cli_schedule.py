"""``skit-pipelines schedule``: recurring runs, on a Kubeflow cluster or in the API's runs database.

    skit-pipelines schedule NAME --cron "0 3 * * 1" -p lang=en ...   create one
    skit-pipelines schedule list                                    list them
    skit-pipelines schedule pause|resume|delete SCHEDULE_ID

Where they live follows the settings, as ``run`` does: with ``SKIT_KFP_HOST`` they are Kubeflow recurring
runs (the cluster fires them: :mod:`skit_pipelines.runner.kfp_schedules`); without, they are rows of the
API's runs database (``SKIT_DATABASE_URL``) fired by the scheduler of ``skit-pipelines serve``
(:mod:`skit_pipelines.api.schedules`) — nothing fires while no API runs on that database.

Parameters are checked when the schedule is created, by the checks every run gets (an API schedule: the
API's own request checks, read policy included), so a schedule that would fail at every slot is refused now.
Kept apart from :mod:`skit_pipelines.cli`, which adds :func:`schedule_command` to its app.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from skit_pipelines.cli_output import _fail, _fail_fields, _settings, console
from skit_pipelines.parameters import InvalidArgumentsError

if TYPE_CHECKING:
    from skit_pipelines.api.schedules import ScheduleService
    from skit_pipelines.config import Settings

ACTIONS = ("list", "pause", "resume", "delete")


def _local_service(settings: Settings) -> ScheduleService:
    from skit_pipelines.api.schedules import ScheduleService
    from skit_pipelines.api.service import RunService
    from skit_pipelines.api.settings import get_api_settings
    from skit_pipelines.api.store import RunStore
    from skit_pipelines.pipelines import PIPELINES

    store = RunStore.from_url(settings.effective_database_url, create=True)
    return ScheduleService(RunService(store, settings, get_api_settings(), dict(PIPELINES)))


def _show(rows: list[dict[str, Any]], json_output: bool, where: str) -> None:
    if json_output:
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True, default=str) + "\n")
        return
    table = Table(title=f"schedules ({where})", title_justify="left")
    headers = ["id", "pipeline", "cron", "state", "next", "last run"]
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        cells = [
            row["schedule_id"],
            row.get("pipeline", ""),
            f"{row['cron']} {row.get('timezone', 'UTC')}",
            row["state"],
            row.get("next_fire_at") or "",
            row.get("last_run_id") or row.get("last_error") or "",
        ]
        table.add_row(*(Text(str(c)) for c in cells))
    console.print(table)


def schedule_command(
    target: Annotated[
        str, typer.Argument(help="A pipeline name to schedule, or list / pause / resume / delete")
    ],
    schedule_id: Annotated[str | None, typer.Argument(help="Schedule id (pause, resume, delete)")] = None,
    cron: Annotated[
        str | None, typer.Option(help='Five-field cron: "minute hour day-of-month month day-of-week"')
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA timezone the cron is read in (cluster: UTC)")] = "UTC",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value (repeatable)")] = None,
    params_file: Annotated[Path | None, typer.Option(help="JSON object of parameters")] = None,
    name: Annotated[str, typer.Option(help="Name of the schedule (default: the pipeline)")] = "",
    namespace: Annotated[
        str | None, typer.Option(help="Namespace (default: SKIT_KFP_NAMESPACE; list: every namespace)")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Run a pipeline on a schedule: a Kubeflow recurring run when SKIT_KFP_HOST is set, else fired by
    the API (`skit-pipelines serve`) from its runs database. Missed slots fire once, not once each."""
    from skit_pipelines.api.service import ServiceError
    from skit_pipelines.cron import CronError
    from skit_pipelines.pipelines import UnknownPipelineError
    from skit_pipelines.runner.base import PipelineRunError

    action = target.lower()
    if action in ACTIONS[1:] and not schedule_id:
        raise _fail(f"say which schedule: skit-pipelines schedule {action} SCHEDULE_ID")
    if action in ACTIONS and action != "list" and (cron or param or params_file):
        raise _fail(f"schedule {action} takes only a schedule id")
    if action not in ACTIONS and schedule_id:
        raise _fail(f"unexpected {schedule_id!r}: give the parameters with -p key=value")
    try:
        settings = _settings()
        if settings.kfp_host:
            _on_cluster(
                settings,
                action,
                target,
                schedule_id,
                cron,
                timezone,
                param,
                params_file,
                name,
                namespace,
                json_output,
            )
        else:
            _locally(
                settings,
                action,
                target,
                schedule_id,
                cron,
                timezone,
                param,
                params_file,
                name,
                namespace,
                json_output,
            )
    except InvalidArgumentsError as exc:
        raise _fail_fields(exc.errors, str(exc)) from None
    except ServiceError as exc:
        raise _fail_fields(exc.errors, exc.message) from None
    except UnknownPipelineError as exc:
        raise _fail(str(exc.args[0]) if exc.args else str(exc)) from None
    except (CronError, PipelineRunError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _locally(
    settings: Settings,
    action: str,
    target: str,
    schedule_id: str | None,
    cron: str | None,
    timezone: str,
    param: list[str] | None,
    params_file: Path | None,
    name: str,
    namespace: str | None,
    json_output: bool,
) -> None:
    from skit_pipelines.api.schedules import ScheduleNotFound
    from skit_pipelines.pipelines.parameters import parse_cli_params

    service = _local_service(settings)
    where = f"API runs database {service.store.engine.url.render_as_string(hide_password=True)}"
    if action == "list":
        records = service.store.list(namespace)
        _show([r.as_dict() for r in records], json_output, where)
        return
    if action in ACTIONS:
        assert schedule_id is not None
        found = service.store.get(schedule_id)  # the CLI may act on any namespace of its database
        if found is None:
            raise ScheduleNotFound(f"there is no schedule {schedule_id!r} in the {where}")
        record = getattr(service, action)(found.namespace, schedule_id)
        _show([record.as_dict()], json_output, where)
        if not json_output:
            console.print(
                Text(f"{action}d {schedule_id}" if action != "resume" else f"resumed {schedule_id}")
            )
        return
    if not cron:
        raise ValueError('--cron is required, e.g. --cron "0 3 * * 1" (Mondays at 03:00)')
    payload = parse_cli_params(param or [], params_file)
    record = service.create(
        namespace or settings.kfp_namespace,
        target,
        payload,
        cron=cron,
        timezone=timezone,
        name=name,
        created_by=f"cli:{getpass.getuser()}",
        source="cli",
    )
    _show([record.as_dict()], json_output, where)
    if not json_output:
        console.print(
            Text(f"scheduled {record.schedule_id}; the API (skit-pipelines serve) on this database fires it"),
            soft_wrap=True,
        )


def _on_cluster(
    settings: Settings,
    action: str,
    target: str,
    schedule_id: str | None,
    cron: str | None,
    timezone: str,
    param: list[str] | None,
    params_file: Path | None,
    name: str,
    namespace: str | None,
    json_output: bool,
) -> None:
    from skit_pipelines.pipelines import get_pipeline, normalise_name
    from skit_pipelines.pipelines.parameters import parse_cli_params, validate_arguments
    from skit_pipelines.runner.kfp_schedules import KfpSchedules
    from skit_pipelines.runner.kubeflow import KubeflowRunner, compile_pipeline_spec

    runner = KubeflowRunner.from_settings(settings, namespace=namespace)
    schedules = KfpSchedules(runner)
    where = f"Kubeflow {runner.host}, experiment {runner.experiment}"
    if action == "list":
        _show([s.as_dict() for s in schedules.list()], json_output, where)
        return
    if action in ACTIONS:
        assert schedule_id is not None
        getattr(schedules, action)(schedule_id)
        if json_output:
            sys.stdout.write(json.dumps({"schedule_id": schedule_id, "action": action}) + "\n")
        else:
            console.print(Text(f"{action}: {schedule_id} ({where})"))
        return
    if not cron:
        raise ValueError('--cron is required, e.g. --cron "0 3 * * 1" (Mondays at 03:00 UTC)')
    key = normalise_name(target)
    pipeline = get_pipeline(key)
    arguments = validate_arguments(key, pipeline, parse_cli_params(param or [], params_file))
    spec = compile_pipeline_spec(pipeline, settings.image, runner.pod_config)
    created = schedules.create(key, spec, arguments, cron=cron, timezone=timezone, display_name=name)
    _show([created.as_dict() | {"pipeline": key}], json_output, where)
