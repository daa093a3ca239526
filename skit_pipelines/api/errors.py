"""Every error the API answers is the envelope ``{"status": "error", "response": {"message", ...}}``.

Errors also carry ``detail`` (FastAPI's usual field, which the reference's ``/token`` answered with), and
validation errors carry ``response.errors``: ``{field: problem}`` with the field named as the client sent it
(an unknown key is named as it was spelt). Unexpected exceptions are logged with their traceback and
answered 500 with a generic message: a traceback never leaves the server.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from skit_pipelines.api.service import ServiceError

logger = logging.getLogger(__name__)

# Every 429 and 503 tells the client when to come back; where the cause knows better it sets its own.
DEFAULT_RETRY_AFTER_SECONDS = 5


def error_response(
    status_code: int,
    message: str,
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    response: dict[str, Any] = {"message": message}
    if status_code in (429, 503) and not any(k.lower() == "retry-after" for k in headers or {}):
        headers = {**(headers or {}), "Retry-After": str(DEFAULT_RETRY_AFTER_SECONDS)}
    if errors:
        response["errors"] = errors
    return JSONResponse(
        {"status": "error", "response": response, "detail": message}, status_code=status_code, headers=headers
    )


def field_errors(errors: list[Any], known: list[str] | None = None) -> dict[str, str]:
    """pydantic's error list → ``{field: problem}`` in words a user understands."""
    result: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join(loc) or "body"
        kind = error.get("type", "")
        if kind == "extra_forbidden":
            problem = "unknown parameter" + (f" (known: {', '.join(known)})" if known else "")
        elif kind == "missing":
            problem = "required parameter is missing"
        elif kind == "json_invalid":
            problem = f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'syntax error')})"
        else:
            problem = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        result.setdefault(field, problem)
    return result


def describe(errors: dict[str, str], prefix: str = "invalid request") -> str:
    return f"{prefix}: " + "; ".join(f"{field}: {problem}" for field, problem in errors.items())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status_code, exc.message, errors=exc.errors or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
        return error_response(400, describe(errors), errors=errors)

    @app.exception_handler(ValidationError)
    async def _pydantic_error(_request: Request, exc: ValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
        return error_response(400, describe(errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_response(500, "internal server error (the server log has the details)")
