"""Each pipeline's parameter checks, declared once, run by every face and by every step.

Why: a run with ``call_quantity=-5``, a ``gs://`` path or no Label Studio project used to be accepted and
fail minutes later inside a step, under a long traceback. :data:`CHECKS` says, per pipeline, what can be
known about its arguments without touching any data (ranges, dates, timezones, URI schemes, project-id
lists, required-one-of), built from the small check kinds of :mod:`skit_pipelines.parameters`. Where a
module already has the rule (``build_call_filters``, ``annotation_window``, ``upload_targets``, the
training config), the declaration calls it: there is no second copy of a rule.

Who calls what:
- the CLI, the HTTP API and the Slack bot: :func:`skit_pipelines.pipelines.parameters.validate_arguments`
  (signature coercion, then these checks) before anything is recorded or started; every problem comes back
  by parameter name;
- each component, first thing in its body: :func:`check_step` with the parameters it received, the last
  line of defence for a compiled YAML submitted straight to a cluster. A check runs in a step only when the
  step has all of its parameters.

Which parameters are file locations (:data:`INPUT_LOCATIONS`, :data:`OUTPUT_LOCATIONS`) is declared here
too, next to the checks: the read policy (:mod:`skit_pipelines.readpolicy`) is enforced inside the steps,
where a refusal surfaces minutes later as a failed run, so a run started through the API or Slack is also
checked by :func:`location_errors` when it is submitted: a location it may not read is a 400 naming the
parameter, and no run is created. A test checks that every pipeline parameter that looks like a location
(``*_path``, ``*_uri``, ``*_path_*``) is declared as an input or an output.

Why not in ``skit_pipelines/pipelines/``: a step runs with kfp's runtime-only ``kfp.dsl`` (no
``dsl.component``), so it cannot import the pipeline registry; this module is plain Python, keyed by the
registry's pipeline names.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from skit_pipelines.parameters import (
    Check,
    InvalidArgumentsError,
    ProjectIds,
    Range,
    Required,
    Rule,
    Timezone,
    Uri,
    check_problems,
)
from skit_pipelines.readpolicy import ReadPolicy, ReadRefusedError
from skit_pipelines.warehouse.filters import CALL_FILTER_PARAMETERS, build_call_filters

# The rules below import their modules when first used: the API and the CLI import this module, and the
# annotation and model modules pull in HTTP clients, pandas and more.


def _call_filters(**arguments: Any) -> None:
    build_call_filters(**arguments)


def _sample_size(call_quantity: int, random_seed: int) -> None:
    from skit_pipelines.warehouse.fetch import check_sample_size

    check_sample_size(call_quantity=call_quantity, random_seed=random_seed)


def _upload_targets(**arguments: str) -> None:
    from skit_pipelines.annotation.upload import upload_targets

    upload_targets(**arguments)


def _data_label(data_label: str) -> None:
    from skit_pipelines.annotation.tasks import validate_data_label

    validate_data_label(data_label)


def _call_link_template(call_link_template: str) -> None:
    from skit_pipelines.annotation.tasks import check_call_link_template

    check_call_link_template(call_link_template)


def _situations(situations: str, situations_path: str) -> None:
    from skit_pipelines.parameters import InvalidParameterError
    from skit_pipelines.situations import parse_situations

    if (situations or "").strip():
        parse_situations(situations)
    elif not (situations_path or "").strip():  # a file is read and checked by the step
        raise InvalidParameterError(
            "situations", "situations: required, or situations_path (situation::scenario::CATEGORY entries)"
        )


def _situation_ids(situation_id_list: str) -> None:
    from skit_pipelines.situations import parse_situation_ids

    parse_situation_ids(situation_id_list)


def _generation(**arguments: Any) -> None:
    from skit_pipelines.conversations.request import generation_request_from

    generation_request_from(**arguments)


def _download_sources(**arguments: Any) -> None:
    from skit_pipelines.annotation.download import download_sources

    download_sources(**arguments)


def _annotation_window(**arguments: Any) -> None:
    from skit_pipelines.annotation.download import annotation_window

    annotation_window(**arguments)


def _dataset_or_projects(dataset_path: str, job_id: str, labelstudio_project_id: str) -> None:
    if not (dataset_path or "").strip():
        from skit_pipelines.jobs.dataset_source import download_project_ids

        download_project_ids(job_id=job_id, labelstudio_project_id=labelstudio_project_id)


def _storage_options(storage_options: str, dataset_path: str) -> None:
    from skit_pipelines.jobs.model_inputs import apply_storage_options

    apply_storage_options(dataset_path, storage_options, "dataset_path")


def _training(validation_dataset_path: str, **arguments: Any) -> None:
    from skit_pipelines.models.train import TrainConfig

    TrainConfig(**arguments).validate(has_validation_frame=bool((validation_dataset_path or "").strip()))


def _judge(judge: str, prompt_file: str) -> None:
    from skit_pipelines.compliance.judges import check_judge

    check_judge(judge, prompt_file)


def _optional_use_state(use_state: Any) -> None:
    from skit_pipelines.parameters import parse_optional_bool

    parse_optional_bool(use_state, "use_state")


def _optional_threshold(confidence_threshold: Any) -> None:
    from skit_pipelines.parameters import parse_optional_fraction

    parse_optional_fraction(confidence_threshold, "confidence_threshold")


def _fallback_intent(*, required: bool) -> Any:
    """The fallback intent is a label like any other: one line, no surrounding blanks; training needs one."""

    def check(fallback_intent: Any) -> None:
        from skit_pipelines.parameters import InvalidParameterError

        value = str(fallback_intent or "")
        if required and not value.strip():
            raise InvalidParameterError("fallback_intent", "fallback_intent: give an intent name, e.g. _oos_")
        if value != value.strip() or "\n" in value:
            raise InvalidParameterError(
                "fallback_intent", f"fallback_intent: {value!r} has surrounding blanks or a line break"
            )

    return check


_WINDOW = ("start_date", "end_date", "start_date_offset", "end_date_offset", "timezone")

SAMPLE: tuple[Check, ...] = (
    Rule(CALL_FILTER_PARAMETERS, rule=_call_filters),
    Rule(("call_quantity", "random_seed"), rule=_sample_size),
)
UPLOAD: tuple[Check, ...] = (
    Rule(
        ("labelstudio_project_id", "job_ids", "call_project_id", "project_title", "call_project_title"),
        rule=_upload_targets,
    ),
    Rule(("data_label",), rule=_data_label),
    Uri(("taxonomy_uri",)),
    Range(("batch_size",), minimum=1),
    Rule(("call_link_template",), rule=_call_link_template),
)
DOWNLOAD: tuple[Check, ...] = (
    Rule(
        ("labelstudio_project_id", "job_id", "task_type"),
        rule=_download_sources,
        optional=("empty_possible",),
    ),
    Rule(_WINDOW, rule=_annotation_window),
)
EVALUATE: tuple[Check, ...] = (
    Uri(("dataset_path",)),
    ProjectIds(("labelstudio_project_id",)),
    ProjectIds(("job_id",)),
    Rule(("dataset_path", "job_id", "labelstudio_project_id"), rule=_dataset_or_projects),
    Timezone(("timezone",)),
    Rule(_WINDOW, rule=_annotation_window),
)
TRAIN: tuple[Check, ...] = (
    Required(("dataset_path",), what="a tagged CSV: local path or artifact URI"),
    Uri(("dataset_path",)),
    Uri(("validation_dataset_path",)),
    Uri(("model_path",)),
    Rule(("storage_options", "dataset_path"), rule=_storage_options),
    Rule(
        (
            "num_train_epochs",
            "learning_rate",
            "max_seq_length",
            "batch_size",
            "validation_split",
            "early_stopping_patience",
            "early_stopping_delta",
            "use_early_stopping",
            "validation_dataset_path",
        ),
        rule=_training,
    ),
    Rule(("fallback_intent",), rule=_fallback_intent(required=True)),
)
PREDICT: tuple[Check, ...] = (
    Uri(("s3_path_data",)),
    Uri(("s3_path_model",)),
    Range(("batch_size",), minimum=1),
    Range(("top_k",), minimum=1),
    Rule(("use_state",), rule=_optional_use_state),
    Rule(("confidence_threshold",), rule=_optional_threshold),
    Rule(("fallback_intent",), rule=_fallback_intent(required=False)),
)


def _repo_name(repo_name: str) -> None:
    from skit_pipelines.jobs.slu_repo import SluConnections

    SluConnections(repo_base="").repo_url(repo_name)


def _uri_list(parameter: str) -> Any:
    def check(**arguments: Any) -> None:
        from skit_pipelines.parameters import check_uri, split_list

        for value in split_list(str(arguments[parameter] or "")):
            check_uri(value, parameter)

    return check


def _branch(parameter: str) -> Any:
    def check(**arguments: Any) -> None:
        value = str(arguments[parameter] or "").strip()
        if value and (value.startswith("-") or " " in value or ".." in value):
            from skit_pipelines.parameters import InvalidParameterError

            raise InvalidParameterError(parameter, f"{parameter}: {value!r} is not a branch name")

    return check


_SLU_COMMON: tuple[Check, ...] = (
    Required(
        ("repo_name",), what="the SLU project repository: a name under SKIT_SLU_REPO_BASE, a URL or path"
    ),
    Rule(("repo_name",), rule=_repo_name),
    Rule(("repo_branch",), rule=_branch("repo_branch")),
    ProjectIds(("labelstudio_project_ids",)),
    ProjectIds(("job_ids",)),
    Timezone(("timezone",)),
    Uri(("alias_yaml_path",), web=True),
)
RETRAIN_SLU: tuple[Check, ...] = _SLU_COMMON + (
    Rule(("dataset_path",), rule=_uri_list("dataset_path")),
    Rule(("custom_test_dataset_path",), rule=_uri_list("custom_test_dataset_path")),
    Range(("train_split_percent",), minimum=1, maximum=100),
    Range(("epochs",), minimum=0),
    Rule(("target_mr_branch",), rule=_branch("target_mr_branch")),
    Rule(("production_branch",), rule=_branch("production_branch")),
)
EVALUATE_SLU: tuple[Check, ...] = _SLU_COMMON + (
    Rule(("test_dataset_path",), rule=_uri_list("test_dataset_path")),
    Rule(("compare_branch",), rule=_branch("compare_branch")),
)

CHECKS: dict[str, tuple[Check, ...]] = {
    "fetch_calls_pipeline": SAMPLE,
    "fetch_n_tag_calls": SAMPLE + UPLOAD,
    "tag_calls": (Required(("s3_path",), what="the artifact URI of an untagged turns CSV"), Uri(("s3_path",)))
    + UPLOAD,
    "fetch_tagged_calls_dataset": DOWNLOAD,
    "fetch_tagged_entity_dataset": DOWNLOAD,
    "irr_from_tog": EVALUATE
    + tuple(
        Uri((f"eevee_intent_{kind}_yaml_github_path",), web=True) for kind in ("alias", "groups", "layers")
    ),
    "eer_from_tog": EVALUATE,
    "train_voicebot_intent_model_xlmr": TRAIN,
    "eval_voicebot_xlmr_pipeline": PREDICT,
    "add_llm_situations": (
        Rule(("situations", "situations_path"), rule=_situations),
        Uri(("situations_path",)),
    ),
    "invalidate_llm_situations_in_db": (Rule(("situation_id_list",), rule=_situation_ids),),
    "generate_and_tag_conversations": (
        Rule(
            (
                "situation_id_list",
                "scenario_category",
                "n_iter",
                "n_choice",
                "labelstudio_project_id",
                "project_title",
                "data_label",
            ),
            rule=_generation,
        ),
        Uri(("prompt_file_path",)),
    ),
    "retrain_slu": RETRAIN_SLU,
    "evaluate_slu": EVALUATE_SLU,
    "publish_compliance_breaches": (
        # the call filters this pipeline has (the others take their defaults in the fetch step)
        Rule(
            (
                "lang",
                "template_id",
                "start_date",
                "end_date",
                "start_date_offset",
                "end_date_offset",
                "reported",
                "client_id",
                "flow_ids",
                "timezone",
            ),
            rule=_call_filters,
        ),
        Rule(("call_quantity", "random_seed"), rule=_sample_size),
        Rule(("judge", "prompt_file"), rule=_judge),
        Uri(("prompt_file",)),
    ),
}


# Which parameters name file locations, next to the checks; :func:`location_errors` applies the read policy
# to them when a run is submitted through the API or Slack.
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
    "add_llm_situations": {"situations_path": Location.ARTIFACT},
    "generate_and_tag_conversations": {"prompt_file_path": Location.ARTIFACT},
    "retrain_slu": {
        "dataset_path": Location.ARTIFACT,
        "custom_test_dataset_path": Location.ARTIFACT,
        "alias_yaml_path": Location.ARTIFACT_OR_URL,
    },
    "evaluate_slu": {"test_dataset_path": Location.ARTIFACT, "alias_yaml_path": Location.ARTIFACT_OR_URL},
    "publish_compliance_breaches": {"prompt_file": Location.ARTIFACT},
}

# The parameter naming a repository a run clones and pushes to: confined (API/Slack) runs may only name a
# project under SKIT_SLU_REPO_BASE, never a URL or a path.
REPOSITORY_PARAMETERS: dict[str, str] = {"retrain_slu": "repo_name", "evaluate_slu": "repo_name"}

# Input locations that take a comma list of locations: each is checked.
LIST_LOCATIONS: dict[str, frozenset[str]] = {
    "retrain_slu": frozenset({"dataset_path", "custom_test_dataset_path"}),
    "evaluate_slu": frozenset({"test_dataset_path"}),
}

# Parameters that name where outputs are written: an absolute path or URI must be under the artifact root
# for runs of the API (a relative value is a key under the root), and never a secrets file.
OUTPUT_LOCATIONS: dict[str, frozenset[str]] = {
    "train_voicebot_intent_model_xlmr": frozenset({"model_path"}),
}


def pipeline_problems(pipeline_name: str, arguments: Mapping[str, Any]) -> dict[str, str]:
    """``{parameter: problem}`` of a pipeline's typed ``arguments``: text checks, then its :data:`CHECKS`."""
    return check_problems(CHECKS.get(pipeline_name, ()), arguments)


def check_step(pipeline_name: str, arguments: Mapping[str, Any]) -> None:
    """A step's own check of the parameters it received (``locals()`` at the top of a component body)."""
    problems = pipeline_problems(pipeline_name, arguments)
    if problems:
        raise InvalidArgumentsError(pipeline_name, problems)


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


def _check_location(
    pipeline: str,
    parameter: str,
    value: str,
    kind: Location | None,
    arguments: dict[str, Any],
    policy: ReadPolicy,
    errors: dict[str, str],
) -> None:
    """The read (or write) policy applied to one location; a refusal goes into ``errors``."""
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


def location_errors(pipeline: str, arguments: dict[str, Any], policy: ReadPolicy) -> dict[str, str]:
    """``{parameter: problem}`` for every input location of ``pipeline`` that ``policy`` refuses, and every
    explicit output location it may not write (each item of a comma list, for :data:`LIST_LOCATIONS`)."""
    errors: dict[str, str] = {}
    checks = [(p, kind) for p, kind in INPUT_LOCATIONS.get(pipeline, {}).items()]
    checks += [(p, None) for p in sorted(OUTPUT_LOCATIONS.get(pipeline, ()))]
    repository = REPOSITORY_PARAMETERS.get(pipeline)
    if repository and policy.confined:
        from skit_pipelines.jobs.slu_repo import SluConnections

        try:
            SluConnections(repo_base="", names_only=True).repo_url(str(arguments.get(repository, "") or ""))
        except ReadRefusedError as exc:
            errors[repository] = exc.reason
        except ValueError:
            pass  # a malformed name: the pipeline's checks say so
    for parameter, kind in checks:
        value = str(arguments.get(parameter, "") or "").strip()
        if parameter in LIST_LOCATIONS.get(pipeline, ()):
            for item in (v.strip() for v in value.split(",")):
                if item and parameter not in errors:
                    _check_location(pipeline, parameter, item, kind, arguments, policy, errors)
            continue
        if not value or (kind is Location.MODEL and not _is_local_model(value)):
            continue
        _check_location(pipeline, parameter, value, kind, arguments, policy, errors)
    return errors
