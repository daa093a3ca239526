"""``irr_from_tog`` end to end: read the tagged dataset, evaluate its intents, write the artifacts and rows.

Why a job: the evaluation (:mod:`skit_pipelines.metrics.intent.evaluation`) is pure computation on frames;
this module does the I/O around it, one named step each, so that a failure names its step and each step
can be read (and tested) on its own:

1. :func:`read_inputs` — the alias/groups/layers YAMLs first (a bad path fails before any work), then the
   tagged dataset and the prediction file, from a local path or the artifact store;
2. :func:`compute` — the prediction join and every metric (:func:`evaluate_intents`), the download's note
   added to the error when the dataset cannot be evaluated;
3. :func:`write_artifacts` — the CSVs, JSON, PNGs and the HTML report through :mod:`skit_pipelines.storage`;
4. :func:`store_rows` — with ``mlwr``, one ``intent_metrics`` row per category (a failure raises). Unlike
   the reference, ``mlwr`` does not replace the artifacts and the Slack message: they are always produced;
5. :func:`summarise` — the headline, the Slack text and the download commands.

:func:`evaluate_tagged_dataset` runs them in that order; the ``evaluate_intents`` component is a thin
wrapper around it.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from skit_pipelines import storage
from skit_pipelines.jobs.yaml_inputs import load_alias, load_groups, load_layers
from skit_pipelines.metrics import tagged
from skit_pipelines.metrics.intent.evaluation import (
    ARTIFACT_TITLES,
    TOP_CONFUSIONS,
    IntentEvaluation,
    breakdowns_json,
    evaluate_intents,
    html_report,
    slack_message,
)
from skit_pipelines.metrics.intent.oos import OutOfScopeSpec
from skit_pipelines.metrics.intent.reports import (
    confusion_heatmap_png,
    threshold_sweep_png,
    top_confusions_png,
)
from skit_pipelines.metrics.intent.scores import LayersSpec
from skit_pipelines.metrics.json_values import json_safe
from skit_pipelines.parameters import effective_timezone
from skit_pipelines.stores.intent_metrics import metric_rows, write_intent_metrics
from skit_pipelines.stores.tables import database_url_or_default

log = logging.getLogger(__name__)

__all__ = [
    "IntentInputs",
    "IrrResult",
    "compute",
    "evaluate_tagged_dataset",
    "read_inputs",
    "store_rows",
    "summarise",
    "write_artifacts",
]


# ------------------------------------------------------------------------------------------ 1. read


@dataclass
class IntentInputs:
    """Everything the evaluation reads, in memory: the label YAMLs, the dataset and the predictions."""

    frame: pd.DataFrame
    predictions: pd.DataFrame | None
    alias: dict[str, list[str]] | None
    groups: dict[str, list[str]] | None
    layers: LayersSpec | None


def _read_predictions(prediction_uri: str, work: Path) -> pd.DataFrame:
    """The prediction file: it must exist, and its errors name the parameter that pointed at it."""
    if not storage.exists(prediction_uri):
        raise storage.ArtifactNotFoundError(
            prediction_uri, "prediction_path does not exist: expected a CSV of predictions per id"
        )
    local = storage.download_file(prediction_uri, work / "predictions.csv")
    try:
        return tagged.read_tagged_csv(local)
    except tagged.InvalidDatasetError as exc:
        raise tagged.InvalidDatasetError(f"prediction_path {prediction_uri}: {exc}") from None


def read_inputs(
    dataset_uri: str,
    *,
    prediction_uri: str = "",
    alias_yaml: str = "",
    groups_yaml: str = "",
    layers_yaml: str = "",
) -> IntentInputs:
    """Read the YAMLs first (a bad path fails before the dataset is fetched), then the two CSVs."""
    alias = load_alias(alias_yaml)
    groups = load_groups(groups_yaml)
    layers = load_layers(layers_yaml)
    with tempfile.TemporaryDirectory(prefix="irr-") as work:
        local = storage.download_file(dataset_uri, Path(work) / "tagged.csv")
        frame = tagged.read_tagged_csv(local)
        predictions = _read_predictions(prediction_uri, Path(work)) if prediction_uri else None
    return IntentInputs(frame=frame, predictions=predictions, alias=alias, groups=groups, layers=layers)


# --------------------------------------------------------------------------------------- 2. compute


def compute(
    inputs: IntentInputs,
    *,
    true_label_column: str,
    pred_label_column: str,
    normalise_labels: bool,
    id_column: str,
    out_of_scope: OutOfScopeSpec | None = None,
) -> IntentEvaluation:
    """Join the predictions (when given) and compute every metric; see :func:`evaluate_intents`."""
    return evaluate_intents(
        inputs.frame,
        true_label_column=true_label_column,
        pred_label_column=pred_label_column,
        alias=inputs.alias,
        groups=inputs.groups,
        layers=inputs.layers,
        normalise_labels=normalise_labels,
        predictions=inputs.predictions,
        id_column=id_column,
        out_of_scope=out_of_scope,
    )


def _with_note(exc: tagged.InvalidDatasetError, note: str) -> tagged.InvalidDatasetError:
    """The error, followed by where the dataset came from (e.g. no rows: the download's counts say why)."""
    return tagged.InvalidDatasetError(f"{exc}\n{note.strip()}")


# --------------------------------------------------------------------------------------- 3. report


def write_artifacts(
    evaluation: IntentEvaluation,
    *,
    reference: str,
    title: str = "Intent evaluation",
    details: dict[str, Any] | None = None,
    max_heatmap_labels: int = 100,
    write_predictions: bool = False,
) -> dict[str, str]:
    """Store every artifact; return ``{name: uri}`` (names are the component's output names).

    ``write_predictions`` adds the per-turn predictions CSV (``predictions_uri``); an evaluation with an
    out-of-scope part adds its threshold sweep (CSV and PNG). The HTML report comes last because it links
    every other artifact by its URI.
    """

    def put(data: bytes, file_type: str, ext: str) -> str:
        return storage.upload_bytes(data, reference=reference, file_type=file_type, ext=ext)

    uris: dict[str, str] = {}
    uris["report_uri"] = put(evaluation.report_table().to_csv().encode(), "irr-classification-report", ".csv")
    uris["confusion_matrix_uri"] = put(
        evaluation.confusion.to_frame().to_csv().encode(), "irr-confusion-matrix", ".csv"
    )
    rasa = json.dumps(json_safe(evaluation.intent_report_json()), indent=2)
    uris["intent_report_uri"] = put(rasa.encode(), "intent-report", ".json")
    uris["errors_uri"] = put(evaluation.errors.to_csv(index=False).encode(), "irr-errors", ".csv")
    if write_predictions:
        uris["predictions_uri"] = put(
            evaluation.predictions().to_csv(index=False).encode(), "irr-predictions", ".csv"
        )
    uris["breakdowns_uri"] = put(
        json.dumps(breakdowns_json(evaluation), indent=2).encode(), "irr-breakdowns", ".json"
    )
    images = {
        "heatmap": confusion_heatmap_png(evaluation.confusion, max_labels=max_heatmap_labels),
        "top_confusions": top_confusions_png(evaluation.confusion, limit=TOP_CONFUSIONS),
    }
    uris["heatmap_uri"] = put(images["heatmap"], "irr-confusion-heatmap", ".png")
    uris["top_confusions_uri"] = put(images["top_confusions"], "irr-top-confusions", ".png")
    oos = evaluation.out_of_scope
    if oos is not None and oos.sweep is not None:
        uris["threshold_sweep_uri"] = put(
            oos.sweep.to_csv(index=False).encode(), "irr-threshold-sweep", ".csv"
        )
        images["threshold_sweep"] = threshold_sweep_png(oos.sweep, threshold=oos.spec.confidence_threshold)
        uris["threshold_sweep_png_uri"] = put(images["threshold_sweep"], "irr-threshold-sweep", ".png")
    page = html_report(evaluation, title=title, images=images, artifacts=dict(uris), details=details or {})
    uris["html_report_uri"] = put(page.encode(), "irr-report", ".html")
    return uris


# ----------------------------------------------------------------------------------------- 4. store


def store_rows(
    evaluation: IntentEvaluation,
    info: tagged.DatasetInfo,
    *,
    slu_name: str,
    dataset_job_id: str,
    reference_url: str,
    database_url: str,
) -> int:
    """Write one ``intent_metrics`` row per category to ``database_url``; return how many were written."""
    rows = metric_rows(
        evaluation, info, slu_name=slu_name, dataset_job_id=dataset_job_id, reference_url=reference_url
    )
    written = write_intent_metrics(rows, database_url)
    log.info("%d rows written to intent_metrics", written)
    return written


# ------------------------------------------------------------------------------------- 5. summarise


@dataclass
class IrrResult:
    """What a run produced: headline numbers, artifact URIs, rows written, and the Slack text."""

    n: int
    accuracy: float
    weighted_f1: float
    macro_f1: float
    kappa: float
    issues: list[str]
    artifacts: dict[str, str]
    metrics_rows: int
    message: str
    download_commands: str


def summarise(
    evaluation: IntentEvaluation,
    *,
    dataset: str,
    artifacts: dict[str, str],
    metrics_rows: int,
    mlwr: bool,
    note: str,
) -> IrrResult:
    """The run's outputs: headline numbers, the Slack text and one download command per artifact."""
    message = slack_message(
        evaluation, dataset=dataset, artifacts=artifacts, metrics_rows=metrics_rows, mlwr=mlwr, note=note
    )
    commands = "\n".join(
        f"# {ARTIFACT_TITLES.get(k, k)}\n{storage.download_command(uri)}" for k, uri in artifacts.items()
    )
    return IrrResult(
        n=evaluation.n,
        accuracy=evaluation.accuracy,
        weighted_f1=evaluation.weighted_f1,
        macro_f1=evaluation.macro_f1,
        kappa=evaluation.kappa,
        issues=evaluation.data.issue_lines(),
        artifacts=artifacts,
        metrics_rows=metrics_rows,
        message=message,
        download_commands=commands,
    )


# ---------------------------------------------------------------------------------------- the whole run


def _details(
    dataset_uri: str,
    *,
    dataset_job_id: str,
    slu_project_name: str,
    language: str,
    n_calls: int,
    true_label_column: str,
    pred_label_column: str,
    prediction_uri: str,
    id_column: str,
    alias_yaml: str,
    groups_yaml: str,
    layers_yaml: str,
    normalise_labels: bool,
) -> dict[str, Any]:
    """The "how this was measured" table of the HTML report."""
    return {
        "dataset": dataset_uri,
        "job": dataset_job_id,
        "SLU": slu_project_name,
        "language": language,
        "calls": n_calls,
        "truth": true_label_column,
        "prediction": f"{pred_label_column} of {prediction_uri} (joined on {id_column or 'id / data_id'})"
        if prediction_uri
        else pred_label_column,
        "alias": alias_yaml,
        "groups": groups_yaml,
        "layers": layers_yaml,
        "labels": "normalised (stripped text)" if normalise_labels else "as given",
    }


def evaluate_tagged_dataset(
    dataset_uri: str,
    *,
    true_label_column: str = "intent_y",
    pred_label_column: str = "raw.intent",
    alias_yaml: str = "",
    groups_yaml: str = "",
    layers_yaml: str = "",
    normalise_labels: bool = False,
    prediction_uri: str = "",
    id_column: str = "",
    timezone: str = "",
    reference: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    slu_project_name: str = "",
    mlwr: bool = False,
    database_url: str = "",
    note: str = "",
    out_of_scope: str = "",
    write_predictions: bool = False,
) -> IrrResult:
    """Evaluate the tagged CSV at ``dataset_uri``, store every artifact, and with ``mlwr`` the metrics rows.

    ``reference`` names the artifacts (default: the dataset job or "irr"). ``note`` (where the dataset came
    from: the download's counts, or parameters that did not apply) goes into the message after the data
    notes, and into the error when the dataset cannot be evaluated. ``normalise_labels``: see
    :func:`evaluate_intents`. ``prediction_uri``: a CSV of predictions per id (``pred_label_column``),
    joined to the dataset on ``id_column`` (default ``id``, else ``data_id``); the dataset's own prediction
    column is then unused. ``database_url``: where the rows go (default ``SKIT_DATABASE_URL``).
    ``out_of_scope``: the JSON a prediction step wrote (:class:`OutOfScopeSpec`): adds in-scope accuracy,
    OOS precision/recall/F1 and the threshold sweep. ``write_predictions``: also store every evaluated turn.
    """
    spec = OutOfScopeSpec.from_json(out_of_scope)  # a malformed one fails before any download
    try:
        inputs = read_inputs(
            dataset_uri,
            prediction_uri=prediction_uri,
            alias_yaml=alias_yaml,
            groups_yaml=groups_yaml,
            layers_yaml=layers_yaml,
        )
        evaluation = compute(
            inputs,
            true_label_column=true_label_column,
            pred_label_column=pred_label_column,
            normalise_labels=normalise_labels,
            id_column=id_column,
            out_of_scope=spec,
        )
    except tagged.InvalidDatasetError as exc:
        if not note.strip():
            raise
        raise _with_note(exc, note) from exc
    info = tagged.dataset_info(evaluation.data.source, effective_timezone(timezone))  # the evaluated rows
    dataset_job_id = str(labelstudio_project_id or job_id or "")
    details = _details(
        dataset_uri,
        dataset_job_id=dataset_job_id,
        slu_project_name=slu_project_name,
        language=info.language,
        n_calls=info.n_calls,
        true_label_column=true_label_column,
        pred_label_column=pred_label_column,
        prediction_uri=prediction_uri,
        id_column=id_column,
        alias_yaml=alias_yaml,
        groups_yaml=groups_yaml,
        layers_yaml=layers_yaml,
        normalise_labels=normalise_labels,
    )
    name = reference or (f"job-{dataset_job_id}" if dataset_job_id else "irr")
    artifacts = write_artifacts(
        evaluation,
        reference=name,
        details=details,
        title=f"Intent evaluation - {slu_project_name or name}",
        write_predictions=write_predictions,
    )
    written = 0
    if mlwr:
        written = store_rows(
            evaluation,
            info,
            slu_name=slu_project_name,
            dataset_job_id=dataset_job_id,
            reference_url=artifacts["html_report_uri"],
            database_url=database_url_or_default(database_url),
        )
    return summarise(
        evaluation,
        dataset=dataset_job_id and f"job {dataset_job_id}" or Path(dataset_uri).name,
        artifacts=artifacts,
        metrics_rows=written,
        mlwr=mlwr,
        note=note,
    )
