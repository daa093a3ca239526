"""Which parameters of each pipeline name input (and output) locations, checked at submission.

Why one table: the read policy (:mod:`skit_pipelines.readpolicy`) is enforced inside the steps, where a
refusal surfaces minutes later as a failed run. A run started through the API or Slack is checked here when
it is submitted, so a location it may not read is a 400 naming the parameter, and no run is created. The
table is the one place that says which parameters are read from; a test checks that every pipeline
parameter that looks like a location (``*_path``, ``*_uri``, ``*_yaml*``) is declared here or listed as an
output in :data:`OUTPUT_LOCATIONS`.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from skit_pipelines.readpolicy import ReadPolicy, ReadRefusedError

__all__ = ["INPUT_LOCATIONS", "OUTPUT_LOCATIONS", "Location", "location_errors"]


class Location(Enum):
    """How a parameter's value is read."""

    ARTIFACT = "artifact"  # local path, file:// or s3:// URI (through the artifact store)
    ARTIFACT_OR_URL = "artifact_or_url"  # the same, or an http(s) URL fetched by the step
    MODEL = "model"  # a Hugging Face hub name (from the local cache) or a local checkpoint folder


INPUT_LOCATIONS: dict[str, dict[str, Location]] = {
    "tag_calls": {"s3_path": Location.ARTIFACT, "taxonomy_uri": Location.ARTIFACT},
    "fetch_n_tag_calls": {"taxonomy_uri": Location.ARTIFACT},
    "irr_from_tog": {
        "dataset_path": Location.ARTIFACT,
        "prediction_path": Location.ARTIFACT,
        "eevee_intent_alias_yaml_github_path": Location.ARTIFACT_OR_URL,
        "eevee_intent_groups_yaml_github_path": Location.ARTIFACT_OR_URL,
        "eevee_intent_layers_yaml_github_path": Location.ARTIFACT_OR_URL,
    },
    "eer_from_tog": {"dataset_path": Location.ARTIFACT, "prediction_path": Location.ARTIFACT},
    "train_voicebot_intent_model_xlmr": {
        "dataset_path": Location.ARTIFACT,
        "validation_dataset_path": Location.ARTIFACT,
        "model_name": Location.MODEL,
    },
    "eval_voicebot_xlmr_pipeline": {
        "s3_path_data": Location.ARTIFACT,
        "s3_path_model": Location.ARTIFACT,
        "model_name": Location.MODEL,
    },
}

# Parameters that name where outputs are written: an absolute path or URI must be under the artifact root
# for runs of the API (a relative value is a key under the root), and never a secrets file.
OUTPUT_LOCATIONS: dict[str, frozenset[str]] = {
    "train_voicebot_intent_model_xlmr": frozenset({"model_path"}),
}


def _resolved(pipeline: str, parameter: str, value: str, arguments: dict[str, Any]) -> str:
    """The location a step will read: training resolves bucket keys with ``storage_options`` first."""
    options = str(arguments.get("storage_options", "") or "")
    if pipeline == "train_voicebot_intent_model_xlmr" and options.strip():
        from skit_pipelines.jobs.model_inputs import apply_storage_options

        return apply_storage_options(value, options, parameter)
    return value


def _is_local_model(value: str) -> bool:
    """A model name that is a folder on this machine (anything else is a hub name read from the cache)."""
    return "://" in value or value.startswith(("/", ".", "~")) or Path(value).expanduser().is_dir()


def location_errors(pipeline: str, arguments: dict[str, Any], policy: ReadPolicy) -> dict[str, str]:
    """``{parameter: problem}`` for every input location of ``pipeline`` that ``policy`` refuses, and every
    explicit output location it may not write."""
    errors: dict[str, str] = {}
    checks = [(p, kind) for p, kind in INPUT_LOCATIONS.get(pipeline, {}).items()]
    checks += [(p, None) for p in sorted(OUTPUT_LOCATIONS.get(pipeline, ()))]
    for parameter, kind in checks:
        value = str(arguments.get(parameter, "") or "").strip()
        if not value or (kind is Location.MODEL and not _is_local_model(value)):
            continue
        try:
            location = _resolved(pipeline, parameter, value, arguments)
            if kind is None:
                if "://" in location or location.startswith(("/", "~")):  # else a key under the root
                    policy.check_write(location, parameter=parameter)
            else:
                policy.check(location, parameter=parameter, urls=kind is Location.ARTIFACT_OR_URL)
        except ReadRefusedError as exc:
            errors[parameter] = f"{value!r} cannot be {exc.action}: {exc.reason}"
        except ValueError as exc:  # storage_options that do not parse: named by the training step too
            errors.setdefault("storage_options", str(exc))
    return errors
