"""``/{namespace}/pipelines/schedules``: recurring runs over HTTP (create, list, show, pause/resume, delete).

Kept beside :mod:`skit_pipelines.api.endpoints`, which hands in its dependencies (the service lookup, the
namespace rule and the documented error shapes): a user reaches a namespace's schedules exactly when they
may create runs there. The schedules themselves are :mod:`skit_pipelines.api.schedules`.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from skit_pipelines.api.schedules import ScheduleService
from skit_pipelines.api.settings import ApiUser

ScheduleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="Schedule id")]


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field(max_length=200, description="Pipeline name, e.g. fetch_calls_pipeline")
    cron: str = Field(
        max_length=200, description='Five-field cron expression, e.g. "0 3 * * 1" (Mondays 03:00)'
    )
    timezone: str = Field("UTC", max_length=64, description="IANA timezone the cron is read in")
    name: str = Field("", max_length=200, description="A name to recognise it by (default: the pipeline)")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The run request body each run is created with (parameters, webhook_uri, ...)",
    )


class ScheduleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["active", "paused"] = Field(description="paused: stop firing; active: resume")


def add_schedule_routes(
    app: FastAPI,
    schedules_of: Callable[[Request], ScheduleService],
    namespace_type: Any,
    namespace_user: Callable[..., ApiUser],
    errors: dict[int | str, dict[str, Any]],
) -> None:
    Namespace = namespace_type
    User = Annotated[ApiUser, Depends(namespace_user)]
    not_found = {404: {"description": "No such schedule in this namespace"}}

    def ok(body: Any) -> JSONResponse:
        return JSONResponse({"status": "ok", "response": body})

    @app.post("/{namespace}/pipelines/schedules", tags=["schedules"], responses=errors)
    def create_schedule(
        request: Request, namespace: Namespace, body: ScheduleRequest, user: User
    ) -> JSONResponse:
        """Create a schedule: the API's scheduler creates a run of the pipeline at every slot of `cron`.

        The parameters are checked now as a run request is (400 naming each field); a bad cron or
        timezone is a 400 naming `cron` or `timezone`."""
        record = schedules_of(request).create(
            namespace,
            body.pipeline,
            body.parameters,
            cron=body.cron,
            timezone=body.timezone,
            name=body.name,
            created_by=user.name,
        )
        return ok(record.as_dict())

    @app.get("/{namespace}/pipelines/schedules", tags=["schedules"], responses=errors)
    def list_schedules(request: Request, namespace: Namespace, user: User) -> JSONResponse:
        """Every schedule of the namespace, oldest first."""
        return ok({"schedules": [r.as_dict() for r in schedules_of(request).list(namespace)]})

    @app.get(
        "/{namespace}/pipelines/schedules/{schedule_id}", tags=["schedules"], responses=errors | not_found
    )
    def show_schedule(
        request: Request, namespace: Namespace, schedule_id: ScheduleId, user: User
    ) -> JSONResponse:
        """One schedule: its next slot, its last run (or why the last slot gave none)."""
        return ok(schedules_of(request).get(namespace, schedule_id).as_dict())

    @app.patch(
        "/{namespace}/pipelines/schedules/{schedule_id}", tags=["schedules"], responses=errors | not_found
    )
    def change_schedule(
        request: Request, namespace: Namespace, schedule_id: ScheduleId, body: ScheduleChange, user: User
    ) -> JSONResponse:
        """Pause (`{"state": "paused"}`) or resume (`{"state": "active"}`); resuming continues from the
        next slot after now."""
        service = schedules_of(request)
        if body.state == "paused":
            record = service.pause(namespace, schedule_id)
        else:
            record = service.resume(namespace, schedule_id)
        return ok(record.as_dict())

    @app.delete(
        "/{namespace}/pipelines/schedules/{schedule_id}", tags=["schedules"], responses=errors | not_found
    )
    def delete_schedule(
        request: Request, namespace: Namespace, schedule_id: ScheduleId, user: User
    ) -> JSONResponse:
        """Delete the schedule; the runs it created stay."""
        return ok(schedules_of(request).delete(namespace, schedule_id).as_dict())
