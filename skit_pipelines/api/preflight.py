"""Domain checks of a pipeline's arguments before a run starts (dates, languages, ...).

The signature check (types, unknown and missing keys) is generic and lives in
:mod:`skit_pipelines.pipelines.parameters`. Some pipelines can say more without touching any data: a date
that does not parse, a start after the end, an unknown call type. The reference ran such checks only for
Slack requests; here the HTTP API and the Slack bot both run them, so a bad request fails in milliseconds
with the parameter's name instead of minutes later inside a step. Each check reuses the pipeline's own
validation code (no second copy of the rules).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def _fetch_calls(arguments: dict[str, Any]) -> None:
    from skit_pipelines.warehouse.filters import build_call_filters

    accepted = inspect.signature(build_call_filters).parameters
    build_call_filters(**{k: v for k, v in arguments.items() if k in accepted and k != "now"})


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "fetch_calls_pipeline": _fetch_calls,
}


def preflight_errors(pipeline: str, arguments: dict[str, Any]) -> dict[str, str]:
    """``{parameter: problem}`` for typed ``arguments`` of ``pipeline``; empty when nothing is wrong."""
    check = CHECKS.get(pipeline)
    if check is None:
        return {}
    try:
        check(arguments)
    except ValueError as exc:
        parameter = getattr(exc, "parameter", "") or "arguments"
        return {parameter: str(exc)}
    return {}
