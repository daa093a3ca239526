"""Recurring runs on a Kubeflow Pipelines cluster (v2beta1 ``/recurringruns``), through kfp's client.

The cluster's own scheduler fires them, so nothing of ours has to stay up. What is sent is what
``kfp.Client.create_recurring_run`` sends (a ``V2beta1RecurringRun``), built here so that the pipeline spec
is the one ``run`` submits: compiled with the ``SKIT_IMAGE`` and pod configuration
(:func:`skit_pipelines.runner.kubeflow.compile_pipeline_spec`), caching off. Conventions that match the
local scheduler (:mod:`skit_pipelines.api.schedules`):
- the cron is our five-field form, sent in Kubeflow's six-field form (seconds first);
- ``no_catchup``: after a pause or an outage the cluster fires the latest missed slot once, not each one;
- ``max_concurrency`` 1: a slow run is not overlapped by the next slot's.
Kubeflow reads cron expressions in the timezone of its scheduled-workflow controller (UTC by default), so
only ``UTC`` is accepted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import kfp_server_api

from skit_pipelines.cron import check_cron, kfp_cron
from skit_pipelines.runner.base import PipelineRunError
from skit_pipelines.runner.kubeflow import KubeflowRunner


@dataclass(frozen=True)
class ClusterSchedule:
    """A recurring run as the cluster reports it."""

    schedule_id: str
    name: str
    cron: str  # Kubeflow's six-field form
    enabled: bool
    pipeline: str = ""
    parameters: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "name": self.name,
            "cron": self.cron,
            "state": "active" if self.enabled else "paused",
            "pipeline": self.pipeline,
            "parameters": self.parameters or {},
        }


def _schedule(recurring: Any) -> ClusterSchedule:
    trigger = getattr(recurring, "trigger", None)
    cron_schedule = getattr(trigger, "cron_schedule", None)
    spec = recurring.pipeline_spec or {}
    inner = spec.get("pipeline_spec", spec) if isinstance(spec, dict) else {}
    runtime = getattr(recurring, "runtime_config", None)
    return ClusterSchedule(
        schedule_id=recurring.recurring_run_id or "",
        name=recurring.display_name or "",
        cron=getattr(cron_schedule, "cron", "") or "",
        enabled=str(recurring.mode or "").upper() != "DISABLE",
        pipeline=str(inner.get("pipelineInfo", {}).get("name", "")) if isinstance(inner, dict) else "",
        parameters=dict(getattr(runtime, "parameters", None) or {}),
    )


class KfpSchedules:
    """Create, list, pause, resume and delete recurring runs with a :class:`KubeflowRunner`'s client."""

    def __init__(self, runner: KubeflowRunner) -> None:
        self.runner = runner

    def create(
        self,
        name: str,
        spec: dict[str, Any],
        arguments: dict[str, Any],
        *,
        cron: str,
        timezone: str = "UTC",
        display_name: str = "",
    ) -> ClusterSchedule:
        """Create an enabled recurring run of the compiled ``spec`` in the runner's experiment."""
        cron = check_cron(cron)
        if (timezone or "UTC").strip().upper() != "UTC":
            raise ValueError(
                f"timezone: {timezone!r} cannot be used on a Kubeflow cluster, which reads cron expressions "
                "in UTC; give the cron in UTC"
            )
        runner = self.runner
        client = runner._get_client()
        experiment_id = runner._experiment_id(client)
        body = kfp_server_api.V2beta1RecurringRun(
            experiment_id=experiment_id,
            display_name=display_name or name,
            description=f"skit-pipelines schedule of {name}",
            mode=kfp_server_api.RecurringRunMode.ENABLE,
            pipeline_spec=spec,
            runtime_config=kfp_server_api.V2beta1RuntimeConfig(parameters=arguments),
            trigger=kfp_server_api.V2beta1Trigger(
                cron_schedule=kfp_server_api.V2beta1CronSchedule(cron=kfp_cron(cron))
            ),
            max_concurrency="1",
            no_catchup=True,
        )
        created = runner._call(
            f"creating a recurring run of {name}",
            lambda: client._recurring_run_api.recurring_run_service_create_recurring_run(
                recurring_run=body, _request_timeout=runner.request_timeout
            ),
        )
        if not getattr(created, "recurring_run_id", None):
            raise PipelineRunError(
                f"Kubeflow Pipelines at {runner.host} accepted the recurring run of {name} but answered no id"
            )
        return _schedule(created)

    def list(self) -> list[ClusterSchedule]:
        """The recurring runs of the runner's experiment."""
        runner = self.runner
        client = runner._get_client()
        experiment_id = runner._experiment_id(client)
        schedules: list[ClusterSchedule] = []
        token = ""
        for _ in range(1000):  # pages of 100; a bound against a server that repeats its page token
            page = runner._call(
                "listing recurring runs",
                lambda token=token: client._recurring_run_api.recurring_run_service_list_recurring_runs(
                    experiment_id=experiment_id,
                    page_size=100,
                    page_token=token or None,
                    _request_timeout=runner.request_timeout,
                ),
            )
            schedules += [_schedule(r) for r in getattr(page, "recurring_runs", None) or []]
            token = getattr(page, "next_page_token", "") or ""
            if not token:
                break
        return schedules

    def pause(self, schedule_id: str) -> None:
        self._act("pausing", schedule_id, "recurring_run_service_disable_recurring_run")

    def resume(self, schedule_id: str) -> None:
        self._act("resuming", schedule_id, "recurring_run_service_enable_recurring_run")

    def delete(self, schedule_id: str) -> None:
        self._act("deleting", schedule_id, "recurring_run_service_delete_recurring_run")

    def _act(self, action: str, schedule_id: str, method: str) -> None:
        runner = self.runner
        client = runner._get_client()
        call = getattr(client._recurring_run_api, method)
        runner._call(
            f"{action} recurring run {schedule_id}",
            lambda: call(recurring_run_id=schedule_id, _request_timeout=runner.request_timeout),
            not_found=f"there is no recurring run {schedule_id}",
        )
