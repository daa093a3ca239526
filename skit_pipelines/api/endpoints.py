"""The HTTP API (FastAPI): ``skit-pipelines serve`` runs ``skit_pipelines.api.endpoints:app`` on port 9991.

The reference contract, kept: ``POST /token`` (OAuth2 password flow → JWT), ``GET /`` (health),
``POST /{namespace}/pipelines/run/{pipeline_name}/`` (answers ``{"status": "ok", "response": {"message",
"name", "run_id", "run_url"}}``), ``POST /slack/events``. Added: ``GET /{namespace}/pipelines/runs/{run_id}``,
``GET /{namespace}/pipelines/runs``, ``POST /{namespace}/pipelines/runs/{run_id}/cancel``,
``POST /{namespace}/pipelines/runs/{run_id}/retry``, ``GET /pipelines``,
``/{namespace}/pipelines/schedules`` (recurring runs: :mod:`skit_pipelines.api.schedule_routes`)
and the OpenAPI documents; run creation takes an ``Idempotency-Key`` header.

Why FastAPI: request models and the OpenAPI document come from type hints, which is how each pipeline's
signature becomes a documented, validated request body; it runs sync handlers in a thread pool, so the
database and Kubeflow calls never block the event loop. Importing this module reads no setting and opens
nothing: settings are read, tables created and the run watcher started when the server starts (lifespan).

(No ``from __future__ import annotations`` here: FastAPI reads the generated request models from the real
annotation objects of the handlers built in :func:`_run_endpoint`.)
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Form, Header, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from skit_pipelines import __version__, runtime
from skit_pipelines.api.auth import AuthError, issue_token, verify_token
from skit_pipelines.api.errors import error_response, install_error_handlers
from skit_pipelines.api.health import health
from skit_pipelines.api.limits import BodySizeLimit
from skit_pipelines.api.login_guard import LoginGuard, LoginRefused
from skit_pipelines.api.notifier import Notifier
from skit_pipelines.api.schedule_routes import add_schedule_routes
from skit_pipelines.api.schedules import Scheduler, ScheduleService
from skit_pipelines.api.schemas import catalogue_entry, request_model
from skit_pipelines.api.service import InvalidRequest, RunService
from skit_pipelines.api.settings import ApiSettings, ApiUser, get_api_settings
from skit_pipelines.api.slack_bot import SlackBot, SlackRequestRefused, check_slack_request, create_bolt_app
from skit_pipelines.api.store import RunStore
from skit_pipelines.api.views import status_body, summary
from skit_pipelines.api.watcher import Watcher
from skit_pipelines.api.workers import WorkerPool
from skit_pipelines.config import Settings, get_settings
from skit_pipelines.pipelines import PIPELINES
from skit_pipelines.pipelines.parameters import pipeline_description
from skit_pipelines.runner.base import RunState

logger = logging.getLogger(__name__)

# Kubernetes namespace names are DNS labels; run ids are ours (letters, digits, '-', '_', '.').
Namespace = Annotated[str, Path(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", description="Namespace")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="Run id")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry-safe creation: the same key (same user and namespace) with the same body returns "
        "the run created first (header `Idempotent-Replayed: true`); with a different body, 409.",
    ),
]
STATE_GROUPS = {
    "ok": (RunState.SUCCEEDED, RunState.SKIPPED),
    "error": (RunState.FAILED, RunState.CANCELED),
    "pending": (RunState.PENDING, RunState.RUNNING, RunState.CANCELING, RunState.PAUSED),
}


# -- documented response shapes ------------------------------------------------------------------
class ErrorResponse(BaseModel):
    message: str
    errors: dict[str, str] | None = None


class ErrorEnvelope(BaseModel):
    status: Literal["error"]
    response: ErrorResponse
    detail: str


class RunCreated(BaseModel):
    message: str
    name: str
    run_id: str
    run_url: str
    error_logs: str = ""
    retry_of: str | None = None


class RunCreatedEnvelope(BaseModel):
    status: Literal["ok"]
    response: RunCreated


class Envelope(BaseModel):
    status: Literal["ok", "error", "pending"]
    response: dict[str, Any]


class Token(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "Invalid request; `response.errors` names each field"},
    401: {"model": ErrorEnvelope, "description": "Missing, invalid or expired token"},
    403: {"model": ErrorEnvelope, "description": "The user may not use this namespace"},
}


@dataclass
class Context:
    settings: Settings
    api_settings: ApiSettings
    service: RunService
    schedules: ScheduleService
    watcher: Watcher
    bolt: Any
    login_guard: LoginGuard


def ctx(request: Request) -> Context:
    context = getattr(request.app.state, "ctx", None)
    if context is None:  # only outside a running server (no lifespan)
        raise HTTPException(503, "the API is starting")
    return context


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)


def current_user(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> ApiUser:
    try:
        return verify_token(ctx(request).api_settings, token or "")
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


def namespace_user(namespace: Namespace, user: Annotated[ApiUser, Depends(current_user)]) -> ApiUser:
    if not user.may_use(namespace):
        raise HTTPException(403, f"user {user.name!r} may not use namespace {namespace!r}")
    return user


def create_app(
    *,
    pipelines: dict[str, Any] | None = None,
    settings: Settings | None = None,
    api_settings: ApiSettings | None = None,
) -> FastAPI:
    """The API for ``pipelines`` (default: the registry). Settings are read at start-up unless given."""
    registry = dict(PIPELINES if pipelines is None else pipelines)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ctx = await run_in_threadpool(_start, registry, settings, api_settings)
        try:
            yield
        finally:
            context: Context = app.state.ctx
            await run_in_threadpool(context.watcher.stop)
            context.login_guard.close()
            context.service.store.dispose()
            app.state.ctx = None

    app = FastAPI(
        title="skit-pipelines",
        version=__version__,
        description="Run voicebot ML pipelines and follow their runs. Get a token from `POST /token`, "
        "send it as `Authorization: Bearer <token>`.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    _add_docs(app)
    _add_core_routes(app, registry)
    _add_run_routes(app, registry)
    add_schedule_routes(app, lambda request: ctx(request).schedules, Namespace, namespace_user, ERRORS)
    app.add_middleware(_BodyLimit)
    return app


def _start(registry: dict[str, Any], settings: Settings | None, api_settings: ApiSettings | None) -> Context:
    settings = settings or get_settings()
    api_settings = api_settings or get_api_settings()
    runtime.configure(settings.runtime())  # argument checks use the read policy and the timezone default
    store = RunStore.from_url(settings.effective_database_url, create=True)
    service = RunService(store, settings, api_settings, registry)
    schedules = ScheduleService(service)
    pool = WorkerPool(store, api_settings)
    notifier = Notifier(store, settings, api_settings)
    watcher = Watcher(service, pool, notifier, Scheduler(schedules))
    service.on_queued = watcher.poke
    bolt = create_bolt_app(SlackBot(service, api_settings, schedules), settings, api_settings)
    api_settings.jwt_key()  # create the generated secret now, not in the first login
    for warning in api_settings.start_up_warnings():
        logger.warning("security: %s", warning)
    watcher.start()
    logger.info(
        "skit-pipelines API: %s backend, database %s, %d pipelines, Slack bot %s",
        settings.runner_backend,
        store.engine.dialect.name,
        len(registry),
        "on" if bolt else "off",
    )
    return Context(
        settings, api_settings, service, schedules, watcher, bolt, LoginGuard(store.engine, api_settings)
    )


class _BodyLimit:
    """BodySizeLimit with the limit of the running server's settings."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
        limit = context.api_settings.api_max_body_bytes if context else get_api_settings().api_max_body_bytes
        await BodySizeLimit(self.app, limit)(scope, receive, send)


def _add_docs(app: FastAPI) -> None:
    def allowed(request: Request) -> bool:
        context = ctx(request)
        if context.api_settings.api_docs_public:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            verify_token(context.api_settings, token if scheme.lower() == "bearer" else "")
        except AuthError:
            return False
        return True

    def refuse() -> JSONResponse:
        return error_response(
            401,
            "Could not validate credentials (set SKIT_API_DOCS_PUBLIC=true to open the docs)",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> Any:
        return JSONResponse(app.openapi()) if allowed(request) else refuse()

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Any:
        if not allowed(request):
            return refuse()
        return get_swagger_ui_html(openapi_url="/openapi.json", title="skit-pipelines API")

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> Any:
        if not allowed(request):
            return refuse()
        return get_redoc_html(openapi_url="/openapi.json", title="skit-pipelines API")


def _add_core_routes(app: FastAPI, registry: dict[str, Any]) -> None:
    catalogue = [catalogue_entry(name, registry[name]) for name in sorted(registry)]

    @app.get("/", tags=["health"], responses={200: {"model": Envelope}, 503: {"model": Envelope}})
    def health_check(request: Request) -> JSONResponse:
        """Health of the API, its database and its runner backend (no token needed)."""
        context = ctx(request)
        status_code, body = health(context.service, context.watcher)
        return JSONResponse(body, status_code=status_code)

    @app.post(
        "/token",
        tags=["auth"],
        response_model=Token,
        responses={
            400: ERRORS[400],
            401: ERRORS[401],
            429: {"model": ErrorEnvelope, "description": "Too many failed logins; see `Retry-After`"},
            503: {"model": ErrorEnvelope, "description": "Too many logins being checked; see `Retry-After`"},
        },
    )
    async def login(
        request: Request,
        response: Response,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1000)],
    ) -> Token:
        """OAuth2 password flow: form fields `username` and `password` → a bearer token (JWT).

        Failed logins are limited per user name and per client address (429 with `Retry-After`)."""
        context = ctx(request)
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1: never cache tokens
        response.headers.update(no_store)
        client = request.client.host if request.client else "unknown"
        try:
            user = await context.login_guard.login(username, password, client)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer", **no_store}) from None
        except LoginRefused as exc:
            headers = {"Retry-After": str(exc.retry_after), **no_store}
            raise HTTPException(exc.status_code, exc.message, headers=headers) from None
        issued = issue_token(context.api_settings, user)
        return Token(
            access_token=issued.access_token,
            token_type="bearer",
            expires_in=int(context.api_settings.jwt_expire_minutes * 60),
        )

    @app.get("/pipelines", tags=["pipelines"], responses={200: {"model": Envelope}, 401: ERRORS[401]})
    def list_pipelines(user: Annotated[ApiUser, Depends(current_user)]) -> JSONResponse:
        """Every pipeline with its parameters, outputs and the JSON schema of its request body."""
        return JSONResponse({"status": "ok", "response": {"pipelines": catalogue}})

    @app.get("/{namespace}/pipelines/runs", tags=["runs"], responses={200: {"model": Envelope}, **ERRORS})
    def list_runs(
        request: Request,
        namespace: Namespace,
        user: Annotated[ApiUser, Depends(namespace_user)],
        pipeline: Annotated[str, Query(max_length=200, description="Only runs of this pipeline")] = "",
        status: Annotated[
            str,
            Query(
                max_length=200,
                description="Comma list of run states (SUCCEEDED, FAILED, ...) or ok / error / pending",
            ),
        ] = "",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> JSONResponse:
        """Runs of a namespace, newest first, filtered by pipeline and state, paginated."""
        states = _parse_states(status)
        page = ctx(request).service.list_runs(
            namespace, pipeline=pipeline, states=states, limit=limit, offset=offset
        )
        more = offset + len(page.runs) < page.total
        return JSONResponse(
            {
                "status": "ok",
                "response": {
                    "runs": [summary(run) for run in page.runs],
                    "total": page.total,
                    "limit": limit,
                    "offset": offset,
                    "next_offset": offset + len(page.runs) if more else None,
                },
            }
        )

    @app.get(
        "/{namespace}/pipelines/runs/{run_id}",
        tags=["runs"],
        responses={200: {"model": Envelope}, 404: {"model": ErrorEnvelope}, **ERRORS},
    )
    def run_status(
        request: Request,
        namespace: Namespace,
        run_id: RunId,
        user: Annotated[ApiUser, Depends(namespace_user)],
    ) -> JSONResponse:
        """Where a run stands: state, steps, outputs and artifact URIs, error logs, webhook attempts."""
        service = ctx(request).service
        run = service.get_run(namespace, run_id)
        deliveries = service.store.deliveries_of(run.run_id)
        attempts = {d.kind: service.store.attempts_of(run.run_id, d.kind) for d in deliveries}
        return JSONResponse(status_body(run, deliveries, attempts))

    @app.post(
        "/{namespace}/pipelines/runs/{run_id}/cancel",
        tags=["runs"],
        responses={
            200: {"model": Envelope},
            404: {"model": ErrorEnvelope},
            409: {"model": ErrorEnvelope, "description": "The run is already final"},
            502: {"model": ErrorEnvelope},
            **ERRORS,
        },
    )
    def cancel_run(
        request: Request,
        namespace: Namespace,
        run_id: RunId,
        user: Annotated[ApiUser, Depends(namespace_user)],
    ) -> JSONResponse:
        """Cancel a queued or running run: it becomes CANCELED (Kubeflow: CANCELING until the cluster
        confirms), its worker is stopped and its webhook says `{"status": "error", "message": "Run
        canceled."}`. 409 when the run is already final."""
        service = ctx(request).service
        run = service.cancel_run(namespace, run_id)
        deliveries = service.store.deliveries_of(run.run_id)
        attempts = {d.kind: service.store.attempts_of(run.run_id, d.kind) for d in deliveries}
        return JSONResponse(status_body(run, deliveries, attempts))

    @app.post(
        "/{namespace}/pipelines/runs/{run_id}/retry",
        tags=["runs"],
        response_model=None,
        responses={
            200: {"model": RunCreatedEnvelope},
            404: {"model": ErrorEnvelope},
            502: {"model": ErrorEnvelope},
            503: {"model": ErrorEnvelope},
            **ERRORS,
        },
    )
    def retry_run(
        request: Request,
        namespace: Namespace,
        run_id: RunId,
        user: Annotated[ApiUser, Depends(namespace_user)],
    ) -> JSONResponse:
        """Start a new run of the same pipeline with the same arguments (and webhook) as `run_id`; answers
        like run creation, plus `retry_of`. The arguments are checked again like those of a new run."""
        created = ctx(request).service.retry_run(namespace, run_id, created_by=user.name)
        return JSONResponse({"status": "ok", "response": created.response() | {"retry_of": run_id}})

    @app.post(
        "/slack/events",
        tags=["slack"],
        responses={
            200: {"description": "Handled by the Slack bot"},
            400: {"model": ErrorEnvelope, "description": "Signed, but the body is not a JSON object"},
            401: {"model": ErrorEnvelope, "description": "Missing, bad or old Slack signature"},
            404: {"model": ErrorEnvelope},
        },
    )
    async def slack_events(request: Request) -> Any:
        """Slack Events API endpoint (signed by Slack; no token)."""
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

        context = ctx(request)
        if context.bolt is None:
            return error_response(
                404, "the Slack bot is not configured (set SKIT_SLACK_TOKEN and SKIT_SLACK_SIGNING_SECRET)"
            )
        body = await request.body()
        try:
            check_slack_request(
                context.api_settings.slack_signing_secret.get_secret_value(), request.headers, body
            )
        except SlackRequestRefused as exc:
            return error_response(exc.status_code, exc.message)
        bolt_request = to_bolt_request(request, body)
        response = await run_in_threadpool(context.bolt.dispatch, bolt_request)
        return to_starlette_response(response)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> HTMLResponse:
        return HTMLResponse(status_code=204)


def _parse_states(text: str) -> tuple[str, ...]:
    states: list[str] = []
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        group = STATE_GROUPS.get(word.lower())
        if group:
            states += [s.value for s in group]
            continue
        try:
            states.append(RunState(word.upper()).value)
        except ValueError:
            known = ", ".join([s.value for s in RunState] + list(STATE_GROUPS))
            raise InvalidRequest(
                f"status: unknown run state {word!r} (known: {known})",
                {"status": f"unknown run state {word!r}"},
            ) from None
    return tuple(dict.fromkeys(states))


def _add_run_routes(app: FastAPI, registry: dict[str, Any]) -> None:
    models = {name: request_model(name, pipeline) for name, pipeline in registry.items()}
    for name in sorted(registry):
        endpoint = _run_endpoint(name, models[name])
        options: dict[str, Any] = {
            "methods": ["POST"],
            "tags": ["runs"],
            "response_model": None,
            "responses": {
                200: {"model": RunCreatedEnvelope},
                **ERRORS,
                502: {"model": ErrorEnvelope},
                503: {"model": ErrorEnvelope},
            },
        }
        app.add_api_route(
            f"/{{namespace}}/pipelines/run/{name}/",
            endpoint,
            summary=f"Run {name}",
            description=pipeline_description(registry[name]),
            operation_id=f"run_{name}",
            **options,
        )
        kebab = name.replace("_", "-")
        if kebab != name:
            app.add_api_route(
                f"/{{namespace}}/pipelines/run/{kebab}/",
                endpoint,
                include_in_schema=False,
                operation_id=f"run_{name}_kebab",
                **options,
            )

    def run_any(
        request: Request,
        namespace: Namespace,
        pipeline_name: Annotated[str, Path(max_length=200)],
        user: Annotated[ApiUser, Depends(namespace_user)],
        payload: Annotated[dict[str, Any] | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Any other spelling of a pipeline name (or an unknown one: 400 listing the known ones)."""
        service = ctx(request).service
        key, _ = service.resolve(pipeline_name)
        body = models[key].model_validate(payload or {})  # pydantic errors → 400 naming the fields
        return _create(request, namespace, key, body, user, idempotency_key)

    app.add_api_route(
        "/{namespace}/pipelines/run/{pipeline_name}/", run_any, methods=["POST"], include_in_schema=False
    )


def _run_endpoint(name: str, model: type[BaseModel]) -> Callable[..., JSONResponse]:
    def run_pipeline(
        request: Request,
        namespace: Namespace,
        user: Annotated[ApiUser, Depends(namespace_user)],
        body: Annotated[model | None, Body()] = None,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        return _create(request, namespace, name, body, user, idempotency_key)

    run_pipeline.__doc__ = f"Create a run of {name}."
    return run_pipeline


def _create(
    request: Request,
    namespace: str,
    name: str,
    body: BaseModel | None,
    user: ApiUser,
    idempotency_key: str | None,
) -> JSONResponse:
    payload = body.model_dump(exclude_unset=True) if body is not None else {}
    for optional in ("webhook_uri", "notify_pending"):
        if payload.get(optional) is None:
            payload.pop(optional, None)
    created = ctx(request).service.create_run(
        namespace, name, payload, created_by=user.name, idempotency_key=idempotency_key
    )
    headers = {"Idempotent-Replayed": "true"} if created.replayed else None
    return JSONResponse({"status": "ok", "response": created.response()}, headers=headers)


app = create_app()
