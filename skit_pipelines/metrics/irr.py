"""Intent evaluation of a tagged dataset (``irr_from_tog``): every metric, every artifact, the metrics rows.

Plain Python, no kfp: the ``evaluate_intents`` component is a thin wrapper around
:func:`evaluate_tagged_dataset`, and tests call both layers directly.

- :func:`evaluate_intents` computes (no I/O): the truth and prediction of each row (with counts of
  everything odd), the alias renaming, one confusion matrix and everything derived from it (report,
  kappa, Rasa report, top confusions), the errors table, and the group and layer breakdowns.
- :func:`write_artifacts` stores the CSVs, JSON, PNGs and the HTML report through
  :mod:`skit_pipelines.storage` and returns their URIs.
- :func:`evaluate_tagged_dataset` does both from a dataset URI and, with ``mlwr``, writes one row per
  category to ``intent_metrics`` (a failure raises). Unlike the reference, ``mlwr`` does not replace the
  artifacts and the Slack message: they are always produced.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines import storage
from skit_pipelines.metrics import intents, reports, store, tagged
from skit_pipelines.metrics.intents import Confusion, LayersSpec
from skit_pipelines.metrics.prediction_join import join_predictions
from skit_pipelines.metrics.yaml_inputs import load_alias, load_groups, load_layers
from skit_pipelines.parameters import effective_timezone

log = logging.getLogger(__name__)

__all__ = ["IntentEvaluation", "IrrResult", "evaluate_intents", "evaluate_tagged_dataset", "write_artifacts"]

ERRORS_IN_HTML = 200
TOP_CONFUSIONS = 20


@dataclass
class IntentEvaluation:
    """Every number of one evaluation, in memory."""

    data: tagged.IntentData
    y_true: np.ndarray
    y_pred: np.ndarray
    confusion: Confusion
    report: dict[str, Any]
    kappa: float
    errors: pd.DataFrame
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    layers: pd.DataFrame | None = None
    layer_breakdowns: dict[str, dict[str, Any]] = field(default_factory=dict)
    alias_applied: bool = False

    @property
    def n(self) -> int:
        return self.confusion.n

    @property
    def accuracy(self) -> float:
        return self.confusion.accuracy

    @property
    def weighted_f1(self) -> float:
        return float(self.report["weighted avg"]["f1-score"])

    @property
    def macro_f1(self) -> float:
        return float(self.report["macro avg"]["f1-score"])

    def report_table(self) -> pd.DataFrame:
        return intents.report_frame(self.report)

    def intent_report_json(self) -> dict[str, Any]:
        return intents.intent_report_json(self.confusion, self.report)

    def top_confusions(self, limit: int | None = TOP_CONFUSIONS) -> pd.DataFrame:
        return intents.top_confusions(self.confusion, limit)

    def categories(self) -> dict[str, dict[str, Any]]:
        """Per category (``overall``, each group, ``layers``): weighted P/R/F1, support and the raw report.

        Keys are normalised as the reference stored them (``smalltalk_intents`` → ``smalltalk``). For
        layers the row carries no single P/R/F1 (the raw report has one row per layer) and its support is
        the predicted layer's.
        """
        out: dict[str, dict[str, Any]] = {"overall": _category(self.report)}
        for name, report in self.groups.items():
            key = intents.category_name(name)
            if key in out:
                key = name  # two keys normalise alike: keep the YAML's own name
            out[key] = _category(report)
        if self.layers is not None:
            raw = {str(k): {c: _plain(v) for c, v in row.items()} for k, row in self.layers.iterrows()}
            out["layers"] = {
                "precision": None,
                "recall": None,
                "f1": None,
                "support": int(self.layers["support"].iloc[-1]),
                "raw": raw,
            }
        return out

    def headline(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "weighted_f1": self.weighted_f1,
            "macro_f1": self.macro_f1,
            "kappa": self.kappa,
            "labels": len(self.confusion.labels),
            "errors": len(self.errors),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    return value


def _category(report: dict[str, Any]) -> dict[str, Any]:
    weighted = report["weighted avg"]
    raw: dict[str, Any] = {}
    for name, value in report.items():
        if name == "accuracy":  # as the reference stored it: P/R nulled, support = the weighted support
            raw[name] = {
                "precision": None,
                "recall": None,
                "f1-score": float(value),
                "support": int(weighted["support"]),
            }
        else:
            raw[name] = {k: (int(v) if k == "support" else _plain(v)) for k, v in value.items()}
    return {
        "precision": weighted["precision"],
        "recall": weighted["recall"],
        "f1": weighted["f1-score"],
        "support": int(weighted["support"]),
        "raw": raw,
    }


def evaluate_intents(
    frame: pd.DataFrame,
    *,
    true_label_column: str = "intent_y",
    pred_label_column: str = "raw.intent",
    alias: dict[str, list[str]] | None = None,
    groups: dict[str, list[str]] | None = None,
    layers: LayersSpec | None = None,
    normalise_labels: bool = False,
    predictions: pd.DataFrame | None = None,
    id_column: str = "",
) -> IntentEvaluation:
    """Evaluate the intents of a tagged dataset frame (see the module docstring).

    Labels are compared as given, as the reference did; ``normalise_labels`` strips them and compares
    them as text first (``" greet"`` = ``"greet"``, ``5`` = ``"5"``). With ``predictions`` (a second file
    with ``pred_label_column`` per id) the prediction comes from that file, joined on ``id_column`` (see
    :mod:`~skit_pipelines.metrics.prediction_join`); rows left out by the join are data notes.
    """
    left_out: dict[str, int] = {}
    if predictions is not None:
        joined = join_predictions(
            frame,
            predictions,
            true_label_column=true_label_column,
            pred_label_column=pred_label_column,
            id_column=id_column,
        )
        frame, pred_label_column, left_out = joined.frame, joined.pred_column, joined.counts.issues()
    data = tagged.intent_data(frame, true_label_column, pred_label_column, normalise_labels=normalise_labels)
    data.issues.update(left_out)
    y_true = data.frame["true"].to_numpy(dtype=object)
    y_pred = data.frame["predicted"].to_numpy(dtype=object)
    if alias:
        y_true = intents.apply_alias(y_true, alias)
        y_pred = intents.apply_alias(y_pred, alias)
    confusion = intents.confusion_counts(y_true, y_pred)
    report = intents.classification_report(confusion)
    evaluation = IntentEvaluation(
        data=data,
        y_true=y_true,
        y_pred=y_pred,
        confusion=confusion,
        report=report,
        kappa=intents.cohen_kappa(confusion),
        errors=tagged.errors_table(data, y_true, y_pred),
        alias_applied=bool(alias),
    )
    if groups:
        evaluation.groups = intents.group_reports(confusion, groups)
        for name, members in groups.items():
            repeated = sorted(set(intents.unique_members(members)[1]))
            if repeated:
                data.notes.append(f"group {name!r} lists {', '.join(repeated)} more than once: counted once")
    if layers is not None:
        evaluation.layers = intents.layers_report(y_true, y_pred, layers)
        evaluation.layer_breakdowns = intents.layer_breakdowns(y_true, y_pred, layers)
    log.info(
        "evaluated %d turns: accuracy %.4f, weighted F1 %.4f, kappa %s",
        evaluation.n,
        evaluation.accuracy,
        evaluation.weighted_f1,
        _number(evaluation.kappa),
    )
    return evaluation


# --------------------------------------------------------------------------------------- artifacts


def _number(value: float | None, digits: int = 3) -> str:
    return "undefined" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _per_intent_table(evaluation: IntentEvaluation) -> pd.DataFrame:
    table = evaluation.report_table().loc[list(evaluation.confusion.labels)].copy()
    table["predicted"] = evaluation.confusion.pred_counts
    confused = evaluation.intent_report_json()
    table["confused with (top 3)"] = [
        ", ".join(f"{k} ({v})" for k, v in confused[label].get("confused_with", {}).items())
        for label in table.index
    ]
    return table.sort_values(["support", "predicted"], ascending=False, kind="stable")


def _breakdown_tables(evaluation: IntentEvaluation) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    categories = evaluation.categories()
    if len(categories) > 1:
        summary = pd.DataFrame.from_dict(
            {
                f"{name}-intents": {
                    "precision": c["precision"],
                    "recall": c["recall"],
                    "f1": c["f1"],
                    "support": c["support"],
                }
                for name, c in categories.items()
            },
            orient="index",
        )
        summary.index.name = "category (weighted avg)"
        out["Categories"] = summary
    for name, report in evaluation.groups.items():
        out[f"Group: {name}"] = intents.report_frame(report)
    if evaluation.layers is not None:
        out["Layers"] = evaluation.layers
    for name, report in evaluation.layer_breakdowns.items():
        out[f"Layer breakdown: {name} (every intent as the layer sees it)"] = intents.report_frame(report)
    return out


def html_report(
    evaluation: IntentEvaluation,
    *,
    title: str,
    images: dict[str, bytes],
    artifacts: dict[str, str],
    details: dict[str, Any],
) -> str:
    table = evaluation.report_table()
    averages = table.loc[[r for r in table.index if r in intents.AVERAGE_ROWS]]
    errors = evaluation.errors
    if "confidence" in errors.columns:  # the most confident mistakes first: they are the worst ones
        errors = errors.sort_values("confidence", ascending=False, kind="stable", na_position="last")
    headline = {
        "turns": evaluation.n,
        "accuracy": evaluation.accuracy,
        "weighted F1": evaluation.weighted_f1,
        "macro F1": evaluation.macro_f1,
        "Cohen's kappa": _number(evaluation.kappa),
        "intents": len(evaluation.confusion.labels),
        "errors": len(evaluation.errors),
    }
    content = reports.ReportContent(
        title=title,
        headline=headline,
        per_intent=_per_intent_table(evaluation),
        averages=averages,
        top_confusions=evaluation.top_confusions(),
        errors=errors.head(ERRORS_IN_HTML),
        errors_total=len(evaluation.errors),
        images=images,
        breakdowns=_breakdown_tables(evaluation),
        issues=evaluation.data.issue_lines(),
        notes=evaluation.data.notes,
        artifacts=artifacts,
        details=details,
    )
    return reports.render_html(content)


def breakdowns_json(evaluation: IntentEvaluation) -> dict[str, Any]:
    return store.json_safe(
        {
            "categories": evaluation.categories(),
            "groups": evaluation.groups,
            "layers": None if evaluation.layers is None else evaluation.layers.to_dict(orient="index"),
            "layer_breakdowns": evaluation.layer_breakdowns,
        }
    )


def write_artifacts(
    evaluation: IntentEvaluation,
    *,
    reference: str,
    title: str = "Intent evaluation",
    details: dict[str, Any] | None = None,
    max_heatmap_labels: int = 100,
) -> dict[str, str]:
    """Store every artifact; return ``{name: uri}`` (names are the component's output names)."""

    def put(data: bytes, file_type: str, ext: str) -> str:
        return storage.upload_bytes(data, reference=reference, file_type=file_type, ext=ext)

    uris: dict[str, str] = {}
    uris["report_uri"] = put(evaluation.report_table().to_csv().encode(), "irr-classification-report", ".csv")
    uris["confusion_matrix_uri"] = put(
        evaluation.confusion.to_frame().to_csv().encode(), "irr-confusion-matrix", ".csv"
    )
    rasa = json.dumps(store.json_safe(evaluation.intent_report_json()), indent=2)
    uris["intent_report_uri"] = put(rasa.encode(), "intent-report", ".json")
    uris["errors_uri"] = put(evaluation.errors.to_csv(index=False).encode(), "irr-errors", ".csv")
    uris["breakdowns_uri"] = put(
        json.dumps(breakdowns_json(evaluation), indent=2).encode(), "irr-breakdowns", ".json"
    )
    images = {
        "heatmap": reports.confusion_heatmap_png(evaluation.confusion, max_labels=max_heatmap_labels),
        "top_confusions": reports.top_confusions_png(evaluation.confusion, limit=TOP_CONFUSIONS),
    }
    uris["heatmap_uri"] = put(images["heatmap"], "irr-confusion-heatmap", ".png")
    uris["top_confusions_uri"] = put(images["top_confusions"], "irr-top-confusions", ".png")
    page = html_report(evaluation, title=title, images=images, artifacts=dict(uris), details=details or {})
    uris["html_report_uri"] = put(page.encode(), "irr-report", ".html")
    return uris


# ------------------------------------------------------------------------------------ the whole run


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


ARTIFACT_TITLES = {
    "html_report_uri": "HTML report",
    "report_uri": "classification report (CSV)",
    "confusion_matrix_uri": "confusion matrix (CSV)",
    "intent_report_uri": "intent_report.json",
    "errors_uri": "errors (CSV)",
    "breakdowns_uri": "breakdowns (JSON)",
    "heatmap_uri": "confusion heatmap (PNG)",
    "top_confusions_uri": "top confusions (PNG)",
}


def metric_rows(
    evaluation: IntentEvaluation,
    info: tagged.DatasetInfo,
    *,
    slu_name: str,
    dataset_job_id: str,
    reference_url: str,
) -> list[dict[str, Any]]:
    """One ``intent_metrics`` row per category (``<category>-intents``), as spec 5.1."""
    rows = []
    for category, values in evaluation.categories().items():
        rows.append(
            {
                "slu_name": slu_name or None,
                "dataset_job_id": dataset_job_id or None,
                "language": info.language,
                "metric_name": f"{category}-intents",
                "n_calls": info.n_calls,
                "n_turns": info.n_turns,
                "precision": values["precision"],
                "recall": values["recall"],
                "f1": values["f1"],
                "support": values["support"],
                "calls_from_date": info.calls_from_date,
                "calls_to_date": info.calls_to_date,
                "tagged_from_date": info.tagged_from_date,
                "tagged_to_date": info.tagged_to_date,
                "reference_url": reference_url,
                "raw": values["raw"],
            }
        )
    return rows


def slack_message(
    evaluation: IntentEvaluation,
    *,
    dataset: str,
    artifacts: dict[str, str],
    metrics_rows: int,
    mlwr: bool,
    note: str = "",
) -> str:
    lines = [
        f"Intent evaluation of {dataset}: *{evaluation.n:,}* turns, "
        f"accuracy *{_number(evaluation.accuracy)}*, "
        f"weighted F1 *{_number(evaluation.weighted_f1)}*, Cohen's kappa *{_number(evaluation.kappa)}* "
        f"({len(evaluation.confusion.labels)} intents, {len(evaluation.errors):,} errors).",
    ]
    issues = evaluation.data.issue_lines()
    if issues:
        lines.append("Data notes: " + "; ".join(issues) + ".")
    if note.strip():
        lines.append(note.strip())
    if mlwr:
        lines.append(f"{metrics_rows} rows written to intent_metrics.")
    lines.append("Here's the report:")
    lines.extend(f"• {ARTIFACT_TITLES.get(name, name)}: {uri}" for name, uri in artifacts.items())
    return "\n".join(lines)


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
) -> IrrResult:
    """Evaluate the tagged CSV at ``dataset_uri``, store every artifact, and with ``mlwr`` the metrics rows.

    YAML inputs are read first, so a bad path fails before any work. ``reference`` names the artifacts
    (default: the dataset job or "irr"). ``note`` (where the dataset came from: the download's counts, or
    parameters that did not apply) goes into the message after the data notes, and into the error when
    the dataset cannot be evaluated. ``normalise_labels``: see :func:`evaluate_intents`.
    ``prediction_uri``: a CSV of predictions per id (``pred_label_column``), joined to the dataset on
    ``id_column`` (default ``id``, else ``data_id``); the dataset's own prediction column is then unused.
    """
    alias = load_alias(alias_yaml)
    groups = load_groups(groups_yaml)
    layers = load_layers(layers_yaml)
    try:
        with tempfile.TemporaryDirectory(prefix="irr-") as work:
            local = storage.download_file(dataset_uri, Path(work) / "tagged.csv")
            frame = tagged.read_tagged_csv(local)
            predictions = None
            if prediction_uri:
                if not storage.exists(prediction_uri):
                    raise storage.ArtifactNotFoundError(
                        prediction_uri, "prediction_path does not exist: expected a CSV of predictions per id"
                    )
                local = storage.download_file(prediction_uri, Path(work) / "predictions.csv")
                try:
                    predictions = tagged.read_tagged_csv(local)
                except tagged.InvalidDatasetError as exc:
                    raise tagged.InvalidDatasetError(f"prediction_path {prediction_uri}: {exc}") from None
        evaluation = evaluate_intents(
            frame,
            true_label_column=true_label_column,
            pred_label_column=pred_label_column,
            alias=alias,
            groups=groups,
            layers=layers,
            normalise_labels=normalise_labels,
            predictions=predictions,
            id_column=id_column,
        )
    except tagged.InvalidDatasetError as exc:
        if not note.strip():
            raise
        # e.g. no rows: the download's counts say why (every annotation outside the date window, ...)
        raise tagged.InvalidDatasetError(f"{exc}\n{note.strip()}") from exc
    info = tagged.dataset_info(evaluation.data.source, effective_timezone(timezone))  # the evaluated rows
    dataset_job_id = str(labelstudio_project_id or job_id or "")
    details = {
        "dataset": dataset_uri,
        "job": dataset_job_id,
        "SLU": slu_project_name,
        "language": info.language,
        "calls": info.n_calls,
        "truth": true_label_column,
        "prediction": f"{pred_label_column} of {prediction_uri} (joined on {id_column or 'id / data_id'})"
        if prediction_uri
        else pred_label_column,
        "alias": alias_yaml,
        "groups": groups_yaml,
        "layers": layers_yaml,
        "labels": "normalised (stripped text)" if normalise_labels else "as given",
    }
    name = reference or (f"job-{dataset_job_id}" if dataset_job_id else "irr")
    artifacts = write_artifacts(
        evaluation, reference=name, details=details, title=f"Intent evaluation - {slu_project_name or name}"
    )
    written = 0
    if mlwr:
        rows = metric_rows(
            evaluation,
            info,
            slu_name=slu_project_name,
            dataset_job_id=dataset_job_id,
            reference_url=artifacts["html_report_uri"],
        )
        written = store.write_intent_metrics(rows, database_url)
        log.info("%d rows written to intent_metrics", written)
    message = slack_message(
        evaluation,
        dataset=dataset_job_id and f"job {dataset_job_id}" or Path(dataset_uri).name,
        artifacts=artifacts,
        metrics_rows=written,
        mlwr=mlwr,
        note=note,
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
        metrics_rows=written,
        message=message,
        download_commands=commands,
    )
