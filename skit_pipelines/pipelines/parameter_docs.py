"""What every pipeline parameter means, written once: the source of `describe`, the API and compiled YAML.

Why one table: nine pipelines share most of their parameters (the call filters, the Label Studio project
ids, the annotation window, the Slack trio), and each docstring used to re-word them, so `describe`, the
API's pipeline listing and the compiled YAML told slightly different stories about the same parameter.
:data:`PARAMETER_DOCS` holds one one-line description per parameter name; :data:`OVERRIDES` holds a
pipeline's own description only where the parameter *means* something else there (``batch_size`` of a
training vs of an upload, an annotation day vs a call day).

How it reaches the users: :func:`with_parameter_docs` sits under ``@dsl.pipeline`` and writes the
``Args:`` section of the pipeline's docstring from this table, so kfp's own docstring parsing carries the
descriptions into the component spec, which :func:`skit_pipelines.pipelines.parameters.pipeline_parameters`
(`describe`, `list`, the HTTP API, the Slack bot) and the compiled YAML read. A pipeline docstring keeps
only what the pipeline does; a parameter without a description here fails at import.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from skit_pipelines.errors import SkitPipelinesError

F = TypeVar("F", bound=Callable[..., object])


class UndocumentedParameterError(SkitPipelinesError, LookupError):
    """A pipeline parameter has no description in the table (or a docstring re-words its parameters)."""


_SLACK = {
    "notify": "Comma list of Slack user ids to cc; non-empty posts a Slack message.",
    "channel": "Slack channel for the notification; non-empty posts even without notify.",
    "slack_thread": "Slack thread timestamp to reply in.",
}

# The call filters and the sample (fetch_calls_pipeline, fetch_n_tag_calls).
_SAMPLE = {
    "lang": "Language code of the calls, e.g. en or hi (required).",
    "start_date": "First day, YYYY-MM-DD in `timezone`; empty means today.",
    "end_date": "Last day (inclusive), YYYY-MM-DD in `timezone`; empty means today.",
    "start_date_offset": "Days added to start_date.",
    "end_date_offset": "Days added to end_date.",
    "start_time_offset": "Start time of day: hours (0-23) or HHMM (e.g. 930).",
    "end_time_offset": "End time of day: hours or HHMM; 0 means the end of the day.",
    "timezone": "IANA timezone of the dates; empty means SKIT_TIMEZONE.",
    "client_id": "Comma list of client ids.",
    "flow_ids": "Comma list of flow ids.",
    "flow_name": "Only calls of this flow.",
    "template_id": "Only calls of this template.",
    "use_case": "Only calls of this use case.",
    "call_type": "Comma list of INBOUND, OUTBOUND, CALL_TEST; empty means INBOUND,OUTBOUND.",
    "ignore_callers": (
        "Comma list of caller numbers to leave out; empty means the test lines ev-connect,0000000000."
    ),
    "reported": "Only calls reported by the client.",
    "min_duration": "Minimum call duration in seconds.",
    "asr_provider": "Comma list of ASR providers.",
    "states": "Comma list of bot states; only turns in these states are kept.",
    "intents": "Comma list of predicted intents; only turns with these intents are kept.",
    "call_quantity": "Number of calls to sample (a hard cap).",
    "remove_empty_audios": "Drop turns whose audio is missing (checks every audio URL).",
    "random_seed": "Seed of the sample; -1 draws a fresh one (reported in the outputs).",
}

# Upload for annotation (tag_calls, fetch_n_tag_calls).
_UPLOAD = {
    "s3_path": (
        "Artifact URI (local path, file:// or s3://) of an untagged turns CSV, e.g. the fetch_calls output."
    ),
    "data_label": "Source of the data: Client, Ops, UAT or Live; empty means Live.",
    "job_ids": "Comma list of Label Studio project ids (alias of labelstudio_project_id, merged with it).",
    "call_project_id": (
        "Comma list of Label Studio project ids that get one task per call (call-level rows)."
    ),
    "project_title": "Turn project to find by title, or to create with our label config if none has it.",
    "call_project_title": "Call project to find by title, or to create with our call-level label config.",
    "taxonomy_uri": (
        "Intent list for a new turn project (JSON list or one name per line); empty uses the intents in the "
        "data."
    ),
    "entity_types": (
        "Comma list of extra entity labels for a new turn project (date, time, ... are always in)."
    ),
    "model_version": "Model version of the production predictions attached as pre-annotations.",
    "call_link_template": (
        "Link of a call, with {org_id} and CSV columns such as {call_uuid}; empty uses the call recording "
        "URL."
    ),
}

# Download of annotations (fetch_tagged_calls_dataset, fetch_tagged_entity_dataset; the evaluations).
_DOWNLOAD = {
    "org_id": "Organisation id (required); names the artifacts and the message.",
    "job_id": "Comma list of Label Studio project ids (alias of labelstudio_project_id, merged with it).",
    "labelstudio_project_id": "Comma list of Label Studio project ids to download.",
    "task_type": (
        "Task type of the projects: conversation, simulated_call, audio_segment, dict, call_transcription "
        "or data_generation."
    ),
    "all_annotations": "One row per annotation instead of the latest annotation of each task.",
    "include_cancelled": "Keep cancelled (skipped) annotations as rows (always counted).",
    "include_unannotated": (
        "Add a row with empty answers for each task without annotations (always counted)."
    ),
}

# Intent evaluation (irr_from_tog; eval_voicebot_xlmr_pipeline where the meaning is the same).
_INTENT_EVALUATION = {
    "true_label_column": "Column with the true intent; derived from the raw tag JSON when absent.",
    "pred_label_column": "Column with the predicted intent (production SLU: raw.intent).",
    "mlwr": "Also write one row per category (overall, groups, layers) to the intent_metrics table.",
    "slu_project_name": "SLU project name stored with the intent_metrics rows.",
    "eevee_intent_alias_yaml_github_path": "Alias YAML {alias: [intents]}: local path, artifact URI or URL.",
    "eevee_intent_groups_yaml_github_path": "Groups YAML {group: [intents]}: one report per group.",
    "eevee_intent_layers_yaml_github_path": "Layers YAML {intent_x: {layer: [intents]}, intent_y: {...}}.",
    "dataset_path": "A tagged dataset CSV already downloaded (path or artifact URI); skips the download.",
    "normalise_labels": (
        'Compare intents as stripped text (" greet" = "greet", 5 = "5"); default false: labels as given, as '
        "the reference compared them."
    ),
    "prediction_path": (
        "A CSV of predictions (pred_label_column per id), e.g. a model's, evaluated against the dataset's "
        "truth: joined on id_column (the reference's truth + prediction files). Ids on one side only are "
        "left out and counted in data_notes."
    ),
    "id_column": "Column joining the dataset and prediction_path; default id, else data_id (each side).",
}

# Training and prediction of an intent model.
_MODEL = {
    "model_path": (
        "Where the model archive (.tar.gz) goes: a URI, a key under the artifact root, or empty for a "
        "generated key."
    ),
    "version": "Model version, part of the archive's name and metadata.",
    "storage_options": (
        'JSON {"type": "s3", "bucket": "b"}: dataset_path, validation_dataset_path and model_path without a '
        "scheme are keys in that bucket."
    ),
    "classifier_type": "Accepted for compatibility and ignored (the reference never used it).",
    "use_state": "Append the bot state to the model text (prediction then does the same).",
    "model_type": (
        "Accepted for compatibility; only named in the message (the architecture comes from the "
        "checkpoint's config.json)."
    ),
    "model_name": (
        "Checkpoint to fine-tune: a local directory written by save_pretrained, or a hub name already in "
        "the Hugging Face cache (HF_HUB_OFFLINE=0 allows downloads)."
    ),
    "num_train_epochs": "Training epochs (an upper bound with early stopping).",
    "use_early_stopping": (
        "Stop when validation loss has not improved for early_stopping_patience epochs; needs "
        "validation_split or validation_dataset_path."
    ),
    "early_stopping_patience": "Epochs without improvement before stopping.",
    "early_stopping_delta": "Smallest validation loss decrease that counts as an improvement.",
    "max_seq_length": "Tokens per text (longer texts are truncated).",
    "learning_rate": "Peak AdamW learning rate (6 % linear warm-up, then linear decay).",
    "seed": "Random seed (head initialisation, shuffling, validation split).",
    "validation_split": (
        "Share of the dataset held out for validation; 0 (the default) trains on all of it."
    ),
    "validation_dataset_path": "Separate tagged CSV for validation (instead of validation_split).",
    "freeze_embeddings": (
        "Keep the token embedding matrix fixed (much faster on a CPU, little accuracy cost)."
    ),
    "use_gpu": (
        "Request one GPU (nvidia.com/gpu) for the step that trains or runs the model on a Kubeflow cluster."
    ),
    "s3_path_data": (
        "Tagged CSV (artifact URI or path) with the truth (intent_y or tag) and ASR alternatives."
    ),
    "s3_path_model": (
        "Model archive from train_voicebot_intent_model_xlmr; empty evaluates the production predictions "
        "in pred_label_column instead."
    ),
    "top_k": "Number of alternatives in intent_x_top_k of the predictions.",
    "fallback_intent": (
        "The out-of-scope intent: a prediction below the confidence threshold becomes it, and validation "
        "rows with this label (or an intent absent from training) are the out-of-scope examples the "
        "recommended threshold is chosen on."
    ),
    "confidence_threshold": (
        "Predictions with a lower confidence become fallback_intent (0 turns this off); empty uses the "
        "threshold training recommended and stored in the model archive (none stored: no threshold)."
    ),
}

# The LLM situations registry (add_llm_situations, invalidate_llm_situations_in_db).
_SITUATIONS = {
    "situations": (
        "Situations to register, each situation::scenario::CATEGORY (situation and scenario lower-cased, "
        "category upper-cased), separated by new lines or |, or a JSON list of such strings."
    ),
    "situations_path": (
        "A file of situations (artifact URI or path): CSV with situation, scenario, scenario_category "
        "columns, a JSON list (strings or objects with those keys), or one entry per line."
    ),
    "situation_id_list": "Comma list of situation ids (situation_scenario_mapper.id) to invalidate.",
    "reason": "Why the situations are invalidated; recorded in invalidation_reason.",
    "ignore_missing": (
        "Invalidate the ids that exist and report the unknown ones; default false: an unknown id fails the "
        "run with nothing changed."
    ),
}

# Generated conversations (generate_and_tag_conversations): new names here, shared names in OVERRIDES.
_GENERATION = {
    "scenario_category": (
        "Generate for every valid situation of this category (upper-cased as registered); with "
        "situation_id_list, the union of both."
    ),
    "n_iter": (
        "Rounds of generation per situation; n_iter × n_choice conversations per situation (at most 100)."
    ),
    "n_choice": "Conversations per round; n_iter × n_choice conversations per situation.",
    "model": "LLM model name for this run; empty means SKIT_LLM_MODEL. Unused without an LLM configured.",
    "prompt_file_path": (
        "A prompt template (YAML with name: conversation_generator, version, system, user; artifact URI or "
        "path) replacing the packaged one; its version gets the file's hash. Unused without an LLM."
    ),
    "project_name": "Experiment name stored with the generated_conversations rows.",
}
_GENERATION_OVERRIDES = {
    "situation_id_list": (
        "Comma list of situation ids (situation_scenario_mapper.id, as add_llm_situations returns them) "
        "to generate conversations for; invalidated ones are skipped, unknown ones fail the run."
    ),
    "client_id": (
        "Client id recorded with the rows and naming the artifact folder ({client_id}_{template_id})."
    ),
    "template_id": "Template id recorded with the rows and naming the artifact folder.",
    "labelstudio_project_id": "Label Studio project id (one) that gets one task per valid conversation.",
    "project_title": (
        "Label Studio project to find by title, or to create with the conversation-tagging config "
        "(instead of labelstudio_project_id)."
    ),
}

# Retrain SLU and Evaluate SLU (SLU project repositories, docs/slu-projects.md).
_SLU = {
    "repo_name": (
        "SLU project repository: a name under SKIT_SLU_REPO_BASE (e.g. client-bot), or a full URL or path."
    ),
    "repo_branch": "Branch of the repository to start from (retrain) or to evaluate.",
    "custom_test_dataset_path": (
        "Comma list of tagged CSVs (any artifact URI or path) held out as the test set; then every new row "
        "trains (train_split_percent is 100)."
    ),
    "labelstudio_project_ids": "Comma list of Label Studio project ids whose annotations are the new data.",
    "job_start_date": "First annotation day of the Label Studio data, YYYY-MM-DD in `timezone`; empty: any.",
    "job_end_date": "Last annotation day (inclusive), YYYY-MM-DD in `timezone`; empty: no bound.",
    "remove_intents": "Comma list of intents whose rows leave train and test (after aliases).",
    "alias_yaml_path": (
        "Alias YAML {alias: [intent, ...]} (artifact URI, path or URL); listed intents become the alias."
    ),
    "initial_training": (
        "First training of the repository (no data.dvc yet): DVC is initialised; false retrains on the "
        "previous data (dvc pull)."
    ),
    "use_previous_dataset": "Combine the previous train/test sets with the new data.",
    "epochs": "Training epochs; 0 uses the project's slu.yaml (10 when it says nothing).",
    "train_split_percent": "Percent of the new rows that train (1-100); the rest join the test set.",
    "stratify": "Split the new rows so that every intent keeps its share on both sides.",
    "target_mr_branch": "Branch the merge request targets.",
    "production_branch": (
        "Branch whose model is production, compared on the same test set; empty: the repository's default "
        "branch."
    ),
    "compare_branch": (
        "Branch whose model repo_branch's is compared with; empty: the repository's default branch."
    ),
    "test_dataset_path": (
        "Comma list of tagged CSVs to evaluate on; empty: the Label Studio data if given, else the branch's "
        "test.csv."
    ),
    "core_slu_repo_name": "Accepted for compatibility and unused (the product's trainer replaces slu).",
    "core_slu_repo_branch": "Accepted for compatibility and unused.",
    "customization_repo_name": "Accepted for compatibility and unused (no customization service is needed).",
    "customization_repo_branch": "Accepted for compatibility and unused.",
}
_SLU_OVERRIDES = {
    "job_ids": "Comma list of Label Studio project ids (merged with labelstudio_project_ids).",
    "dataset_path": "Comma list of tagged CSVs (any artifact URI or path) with new annotated rows.",
    "timezone": "IANA timezone of job_start_date / job_end_date; empty means SKIT_TIMEZONE.",
    "use_gpu": "Request one GPU (nvidia.com/gpu) for the retraining step on a Kubeflow cluster.",
}

# Publish compliance breaches (docs/compliance.md).
_COMPLIANCE = {
    "judge": (
        "Who judges each call: auto (the LLM when SKIT_LLM_* configure one, else rules), llm (an "
        "OpenAI-compatible server; an error when none is configured) or rules (deterministic, no LLM)."
    ),
    "prompt_file": (
        "A prompt template file (artifact URI or path) named compliance_judge that replaces the packaged "
        "prompt of the llm judge; empty: the packaged one."
    ),
}

PARAMETER_DOCS: dict[str, str] = {
    **_SLACK,
    **_SITUATIONS,
    **_GENERATION,
    **_COMPLIANCE,
    **_SAMPLE,
    **_UPLOAD,
    **_DOWNLOAD,
    **_INTENT_EVALUATION,
    **_MODEL,
    **_SLU,
    "batch_size": "Tasks per import request.",
}
"""Parameter name → its one-line meaning, shared by every pipeline that has the parameter."""

# A pipeline's own meanings, grouped by the families above; each entry differs in substance, not wording.
_UPLOADING = {
    "org_id": (
        "Organisation id of the calls (required); shown in messages and usable in call_link_template."
    ),
    "labelstudio_project_id": "Comma list of Label Studio project ids that get one task per turn.",
}
_ANNOTATION_WINDOW = {
    "start_date": (
        "First annotation day, YYYY-MM-DD in `timezone`; empty (with a zero offset) means no lower bound."
    ),
    "end_date": (
        "Last annotation day (inclusive), YYYY-MM-DD in `timezone`; empty (with a zero offset) means no "
        "upper bound."
    ),
    "start_date_offset": "Days added to start_date (empty start_date: to today).",
    "end_date_offset": "Days added to end_date (empty end_date: to today).",
}
_EVALUATION_DOWNLOAD = {
    "org_id": "Organisation id; names the artifacts (reference part of their keys).",
    "job_id": (
        "Comma list of Label Studio project ids to download and evaluate (the reference's name; alias of "
        "labelstudio_project_id, merged with it). Ignored with dataset_path."
    ),
    "labelstudio_project_id": (
        "Comma list of Label Studio project ids to download and evaluate (latest annotation of each task; "
        "unannotated tasks and cancelled annotations left out, and counted). Ignored with dataset_path."
    ),
    **{name: f"{text} Ignored with dataset_path." for name, text in _ANNOTATION_WINDOW.items()},
}

OVERRIDES: dict[str, dict[str, str]] = {
    "generate_and_tag_conversations": _GENERATION_OVERRIDES,
    "retrain_slu": _SLU_OVERRIDES,
    "evaluate_slu": {name: _SLU_OVERRIDES[name] for name in ("job_ids", "timezone")},
    "tag_calls": {
        **_UPLOADING,
        "lang": "Language code written into the call-level rows (empty keeps each call's language).",
    },
    "fetch_n_tag_calls": _UPLOADING,
    "fetch_tagged_calls_dataset": {
        **_ANNOTATION_WINDOW,
        "timezone": (
            "IANA timezone of the dates and of the reftime and tagged_time columns; empty means "
            "SKIT_TIMEZONE."
        ),
    },
    "fetch_tagged_entity_dataset": {
        **_ANNOTATION_WINDOW,
        "timezone": (
            "IANA timezone of the dates, of the reftime and tagged_time columns, and in which dates and "
            "times said in a turn are resolved; empty means SKIT_TIMEZONE."
        ),
    },
    "irr_from_tog": {
        **_EVALUATION_DOWNLOAD,
        "timezone": (
            "IANA timezone of the download's dates and times, and of naive timestamps in the dataset; "
            "empty means SKIT_TIMEZONE."
        ),
    },
    "eer_from_tog": {
        **_EVALUATION_DOWNLOAD,
        "timezone": (
            "IANA timezone of the download's dates and times (dates said in a turn are resolved in it), "
            "and of naive timestamps in the dataset; empty means SKIT_TIMEZONE."
        ),
        "mlwr": "Also write one row per entity type (and an overall row) to the entity_metrics table.",
        "slu_project_name": "SLU project name stored with the entity_metrics rows.",
        "dataset_path": (
            "A tagged entity dataset already downloaded (CSV or Parquet; any artifact URI or path) with "
            "data_id, truth_entities and predicted_entities; skips the download."
        ),
        "normalise_labels": (
            'Strip entity types before comparing them ("product kind " = "product kind"); default false: '
            "types as given (lower-cased), as the reference compared them."
        ),
        "prediction_path": (
            "A file (CSV or Parquet) of predicted entities per id (predicted_entities), e.g. a model's, "
            "evaluated against the dataset's truth: joined on id_column. Ids on one side only are left out "
            "and counted in the notes."
        ),
        "id_column": (
            "Column joining the dataset and prediction_path; default data_id, id or conversation_uuid "
            "(each side)."
        ),
    },
    "train_voicebot_intent_model_xlmr": {
        "org_id": "Organisation id, part of the archive's name and metadata.",
        "dataset_path": (
            "Tagged CSV (artifact URI or path) with ASR alternatives or utterances and intent_y (or tag)."
        ),
        "batch_size": "Training batch size.",
    },
    "invalidate_llm_situations_in_db": {
        "notify": (
            "Comma list of Slack user ids to cc; non-empty posts a Slack message. Also recorded as "
            "invalidated_by (who asked; the Slack bot puts the requesting user here)."
        ),
    },
    "eval_voicebot_xlmr_pipeline": {
        "org_id": "Organisation id; names the report artifacts.",
        "use_state": (
            "Whether the model text carries the bot state: empty (the default) follows the model archive "
            "(how it was trained); true/false different from the archive is reported, not applied."
        ),
        "fallback_intent": (
            "The out-of-scope intent predictions below the threshold become; empty uses the model "
            "archive's (_oos_ unless training named another)."
        ),
        "model_name": "Accepted for compatibility and ignored: the checkpoint is inside the model archive.",
        "pred_label_column": (
            "Column with the production prediction, evaluated when s3_path_model is empty (with a model the "
            "model's intent_x is evaluated)."
        ),
        "batch_size": "Prediction batch size.",
    },
}
"""Pipeline name → {parameter: description} where the parameter means something else in that pipeline."""


def parameter_doc(pipeline: str, parameter: str) -> str:
    """The description of ``parameter`` in ``pipeline``: its override if it has one, else the shared one."""
    try:
        return OVERRIDES.get(pipeline, {}).get(parameter) or PARAMETER_DOCS[parameter]
    except KeyError:
        raise UndocumentedParameterError(
            f"pipeline {pipeline}: parameter {parameter!r} has no description in "
            "skit_pipelines/pipelines/parameter_docs.py (PARAMETER_DOCS, or OVERRIDES if its meaning "
            "differs in this pipeline)"
        ) from None


def args_section(pipeline: str, parameters: list[str]) -> str:
    """A Google-style ``Args:`` section, one line per parameter, as kfp's docstring parser reads it."""
    return "Args:\n" + "".join(f"    {name}: {parameter_doc(pipeline, name)}\n" for name in parameters)


def with_parameter_docs(func: F) -> F:
    """Write a pipeline function's ``Args:`` docstring section from the table (under ``@dsl.pipeline``).

    The pipeline's name in the registry is its function's name. A docstring that already has an ``Args:``
    section is an error: the table is the one place parameter meanings are written.
    """
    summary = inspect.cleandoc(func.__doc__ or "")
    if "\nArgs:" in f"\n{summary}":
        raise UndocumentedParameterError(
            f"pipeline {func.__name__}: its docstring has an Args: section; parameter descriptions live in "
            "skit_pipelines/pipelines/parameter_docs.py"
        )
    names = list(inspect.signature(func).parameters)
    func.__doc__ = f"{summary}\n\n{args_section(func.__name__, names)}"
    return func
