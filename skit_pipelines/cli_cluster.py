"""CLI commands for pipelines kept on a Kubeflow Pipelines cluster: ``upload``, and ``run --version-name``.

Why a module of its own: the cluster commands grow (upload, schedules, run control) and each is a thin layer
over :mod:`skit_pipelines.runner.kfp_pipelines`; :func:`register` adds them to the ``skit-pipelines`` app.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

if TYPE_CHECKING:
    from skit_pipelines.config import Settings
    from skit_pipelines.runner.base import Runner
    from skit_pipelines.runner.kubeflow import KubeflowRunner

NO_HOST = (
    "{what} needs a Kubeflow Pipelines cluster: set SKIT_KFP_HOST to its API endpoint "
    "(e.g. export SKIT_KFP_HOST=https://kubeflow.example.com/pipeline, and SKIT_KFP_TOKEN when it needs a "
    "token; or put them in .env)"
)


def cluster_runner(settings: Settings, what: str) -> KubeflowRunner:
    """The Kubeflow runner of the settings; ValueError saying how to set ``SKIT_KFP_HOST`` without one."""
    from skit_pipelines.runner.kubeflow import KubeflowRunner

    if not settings.kfp_host.strip():
        raise ValueError(NO_HOST.format(what=what))
    return KubeflowRunner.from_settings(settings)


def version_run(runner: Runner, version_name: str | None) -> Callable[..., Any]:
    """What ``run`` calls: ``runner.run``, or with ``--version-name`` the run of that uploaded version.

    ValueError when a version is asked for but the runner is local (the version lives on a cluster).
    """
    if not version_name:
        return runner.run
    from skit_pipelines.runner.kfp_pipelines import KfpPipelines
    from skit_pipelines.runner.kubeflow import KubeflowRunner

    if not isinstance(runner, KubeflowRunner):
        raise ValueError(NO_HOST.format(what="--version-name"))
    return functools.partial(KfpPipelines(runner).run_version, version_name=version_name)


def upload_command(
    pipelines: Annotated[
        list[str] | None, typer.Argument(help="Pipelines to upload, e.g. fetch_calls_pipeline")
    ] = None,
    all_pipelines: Annotated[bool, typer.Option("--all", help="Upload every registered pipeline")] = False,
    version_name: Annotated[
        str | None,
        typer.Option(
            "--version-name",
            help="Name of the version (default: <package version>+<git sha>, or +yaml.<sha256> outside a "
            "git checkout)",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout")] = False,
) -> None:
    """Upload pipelines to the Kubeflow cluster (SKIT_KFP_HOST) as versions; the same YAML twice is a no-op.

    The YAML is what a cluster `run` submits: SKIT_IMAGE and the SKIT_KFP_* pod configuration, caching off.
    Run an uploaded version with `skit-pipelines run NAME --version-name VERSION` (or `latest`).
    """
    from skit_pipelines.cli_output import _fail, console
    from skit_pipelines.cli_output import _settings as read_settings
    from skit_pipelines.pipelines import UnknownPipelineError, get_pipeline, normalise_name
    from skit_pipelines.podconfig import PodConfigError
    from skit_pipelines.runner.base import PipelineRunError
    from skit_pipelines.runner.kfp_pipelines import KfpPipelines

    if all_pipelines and pipelines:
        raise _fail("name pipelines or pass --all, not both")
    if not all_pipelines and not pipelines:
        raise _fail("name the pipelines to upload, or pass --all")
    if version_name is not None and not version_name.strip():
        raise _fail("--version-name: empty")
    if version_name == "latest":
        raise _fail("--version-name: 'latest' is reserved (`run --version-name latest` runs the newest)")
    try:
        names = [normalise_name(name) for name in pipelines or []]
        for name in names:
            get_pipeline(name)  # every name is checked before anything is uploaded
        uploader = KfpPipelines(cluster_runner(read_settings(), "upload"))
    except (UnknownPipelineError, PodConfigError, ValueError) as exc:
        raise _fail(str(exc)) from None
    from skit_pipelines.pipelines import PIPELINES

    results = []
    for name in names or sorted(PIPELINES):
        try:
            result = uploader.upload(name, version_name)
        except PipelineRunError as exc:
            raise _fail(str(exc), code=1) from None
        results.append(result)
        if not json_output:
            console.print(Text(result.describe()), soft_wrap=True)
            console.print(Text(f"  {result.url}"), soft_wrap=True)
    if json_output:
        payload = [result.__dict__ for result in results]
        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def register(app: typer.Typer) -> None:
    """Add the cluster commands to the ``skit-pipelines`` app."""
    app.command("upload")(upload_command)
