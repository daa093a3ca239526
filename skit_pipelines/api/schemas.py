"""Request models generated from pipeline signatures, and the pipeline catalogue.

Each registered pipeline gets a pydantic model (``FetchCallsPipelineRequest``...) with one field per
parameter (type, default, description from the docstring) plus ``webhook_uri`` and ``notify_pending``, and
``extra="forbid"`` so that an unknown key is an error that names it (the reference silently dropped them).
Each field converts its value with :func:`~skit_pipelines.pipelines.parameters.coerce_value`, the very
function the CLI and the runners use, so ``"200"`` is accepted for an integer everywhere or nowhere. The
models give the OpenAPI document one precise schema per pipeline, which is also what schemathesis tests the
API against.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from skit_pipelines.pipelines.parameters import (
    Parameter,
    coerce_value,
    pipeline_description,
    pipeline_outputs,
    pipeline_parameters,
)

WEBHOOK_DESCRIPTION = (
    "URL that receives the run's result (POST, JSON envelope) once the run is final; signed with "
    "X-Skit-Signature when SKIT_WEBHOOK_SECRET is set."
)


NOTIFY_PENDING_DESCRIPTION = (
    'Also POST a `pending` envelope ("Run in progress.") to `webhook_uri` once, when the run starts.'
)


class PipelineRequest(BaseModel):
    """Base of every generated request model: unknown keys are rejected by name."""

    model_config = ConfigDict(extra="forbid")


def camel_case(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def _coerce(parameter: Parameter, value: Any) -> Any:
    return coerce_value(parameter, value)


def request_model(name: str, pipeline: Any) -> type[BaseModel]:
    """The request body model of one pipeline."""
    fields: dict[str, Any] = {
        "webhook_uri": (str | None, Field(None, description=WEBHOOK_DESCRIPTION, max_length=2000)),
        "notify_pending": (bool | None, Field(None, description=NOTIFY_PENDING_DESCRIPTION)),
    }
    for parameter in pipeline_parameters(pipeline):
        python_type = parameter.python_type
        annotated = Annotated[python_type, BeforeValidator(partial(_coerce, parameter))]  # type: ignore[valid-type]
        default = ... if parameter.required else parameter.default
        fields[parameter.name] = (annotated, Field(default, description=parameter.description or None))
    model = create_model(  # type: ignore[call-overload]
        f"{camel_case(name)}Request",
        __base__=PipelineRequest,
        __doc__=pipeline_description(pipeline) or f"Arguments of {name}.",
        **fields,
    )
    return model


def catalogue_entry(name: str, pipeline: Any) -> dict[str, Any]:
    """A pipeline as ``GET /pipelines`` lists it: summary, parameters, outputs, JSON schema of the body."""
    return {
        "name": name,
        "kebab_name": name.replace("_", "-"),
        "description": pipeline_description(pipeline),
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "required": p.required,
                "default": p.default,
                "description": p.description,
            }
            for p in pipeline_parameters(pipeline)
        ],
        "outputs": pipeline_outputs(pipeline),
        "request_schema": request_model(name, pipeline).model_json_schema(),
    }
