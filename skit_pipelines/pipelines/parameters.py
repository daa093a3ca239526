"""A pipeline's parameters, read from its kfp signature, and turning user input into typed arguments.

Why one module: the CLI (``--param key=value``), the params file, and later the HTTP API all accept loosely
typed input. They must agree on what a pipeline accepts, reject unknown keys by name (the reference
silently dropped them), and coerce ``"200"`` to ``200`` the same way. The pipeline's kfp component spec is
the single source of truth: names, types, defaults and the docstring's per-parameter descriptions.
:func:`validate_arguments` adds each pipeline's own checks (:mod:`skit_pipelines.pipeline_checks`): the one
validation path of the CLI, the HTTP API and the Slack bot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skit_pipelines.parameters import InvalidArgumentsError, text_problems
from skit_pipelines.pipeline_checks import pipeline_problems

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}

PYTHON_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # kfp type name: String, Integer, Float, Boolean
    required: bool
    default: Any
    description: str

    @property
    def python_type(self) -> type:
        return PYTHON_TYPES.get(self.type, str)


def pipeline_parameters(pipeline: Any) -> list[Parameter]:
    """The parameters of a kfp pipeline (or component), in signature order."""
    inputs = pipeline.component_spec.inputs or {}
    params = []
    for name, spec in inputs.items():
        type_name = spec.type if isinstance(spec.type, str) else json.dumps(spec.type)
        params.append(
            Parameter(
                name=name,
                type=type_name,
                required=not spec.optional,
                default=spec.default,
                description=(spec.description or "").strip(),
            )
        )
    return params


def component_arguments(component: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs of ``component`` picked by name from a pipeline's ``locals()``.

    Why: a pipeline whose parameters include a component's (the sampling pipelines and ``fetch_calls``)
    would otherwise list the same 23 keywords a third time. kfp needs both signatures spelled out; the
    call between them does not. Inputs the pipeline lacks take the component's defaults.
    """
    return {p.name: arguments[p.name] for p in pipeline_parameters(component) if p.name in arguments}


def pipeline_outputs(pipeline: Any) -> dict[str, str]:
    """Output name → kfp type name, as the pipeline declares them."""
    outputs = pipeline.component_spec.outputs or {}
    return {
        name: spec.type if isinstance(spec.type, str) else json.dumps(spec.type)
        for name, spec in outputs.items()
    }


def pipeline_description(pipeline: Any) -> str:
    """The pipeline's docstring summary (what kfp keeps as the component description)."""
    return (pipeline.component_spec.description or "").strip()


def coerce_value(parameter: Parameter, value: Any) -> Any:
    """Convert ``value`` to the parameter's type; raise ValueError with what was expected."""
    target = parameter.type
    if target == "Boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected a boolean (true/false), got {value!r}")
    if target == "Integer":
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {value!r}") from None
    if target == "Float":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
    if target == "String":
        if isinstance(value, (dict, list)):
            return json.dumps(value)  # kfp parameters are scalars; structured values travel as JSON text
        if value is None:
            return ""
        return str(value)
    return value


def coerce_arguments(pipeline_name: str, pipeline: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """Typed arguments for ``pipeline`` from loosely typed ``raw``; every problem is reported at once."""
    params = {p.name: p for p in pipeline_parameters(pipeline)}
    errors: dict[str, str] = {}
    arguments: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.strip().replace("-", "_")
        if name not in params:
            errors[key] = f"unknown parameter (known: {', '.join(params)})"
            continue
        try:
            arguments[name] = coerce_value(params[name], value)
        except ValueError as exc:
            errors[name] = str(exc)
    for name, param in params.items():
        if param.required and name not in arguments and name not in errors:
            errors[name] = "required parameter is missing"
    if errors:
        raise InvalidArgumentsError(pipeline_name, errors)
    return arguments


def validate_arguments(pipeline_name: str, pipeline: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """Typed arguments of ``pipeline`` from loosely typed ``raw``, or :class:`InvalidArgumentsError` naming
    every problem: bad text first (so a bad parameter name never reaches an error message as is), then
    unknown, missing or mistyped parameters, then the pipeline's declared checks (its defaults fill in the
    parameters not given)."""
    problems = text_problems(raw)
    if problems:
        raise InvalidArgumentsError(pipeline_name, problems)
    arguments = coerce_arguments(pipeline_name, pipeline, raw)
    full = {p.name: p.default for p in pipeline_parameters(pipeline) if not p.required}
    problems = pipeline_problems(pipeline_name, full | arguments)
    if problems:
        raise InvalidArgumentsError(pipeline_name, problems)
    return arguments


def parse_cli_params(pairs: list[str], params_file: Path | None = None) -> dict[str, Any]:
    """``key=value`` pairs over an optional JSON params file (a ``--param`` overrides the file's value).

    The same key twice on the command line is an error naming the key: silently keeping the last one
    (as before) ran pipelines with a value the user had not noticed they overrode.
    """
    raw: dict[str, Any] = {}
    if params_file is not None:
        try:
            loaded = json.loads(Path(params_file).read_text())
        except FileNotFoundError:
            raise ValueError(f"params file {params_file} does not exist") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"params file {params_file} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"params file {params_file} must hold a JSON object of parameter: value")
        raw.update(loaded)
    given: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--param {pair!r} must look like key=value")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ValueError(f"--param {pair!r} has an empty key")
        if key in given:
            raise ValueError(f"--param {key} is given twice ({given[key]!r} and {value!r}): pass it once")
        given[key] = value
        raw[key] = value
    return raw
