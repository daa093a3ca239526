"""Intent evaluation of a tagged dataset frame: every metric, the HTML report and the Slack text, no I/O.

Why apart from the job: :mod:`skit_pipelines.jobs.intent_eval` reads the dataset, writes the artifacts and
stores the rows; this module only computes, so that tests, benchmarks and other jobs (Retrain SLU's
comparison) call it on frames in memory.

- :func:`evaluate_intents`: the truth and prediction of each row (with counts of everything odd), the
  alias renaming, one confusion matrix and everything derived from it (report, kappa, Rasa report, top
  confusions), the errors table, and the group and layer breakdowns.
- with an :class:`~skit_pipelines.metrics.intent.oos.OutOfScopeSpec`, the out-of-scope scores (in-scope
  accuracy, OOS precision/recall/F1) and the threshold sweep (:mod:`~skit_pipelines.metrics.intent.oos`).
- :func:`html_report`, :func:`breakdowns_json`: what the artifacts hold.
- :func:`slack_message`: the run's summary for Slack and the console.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines.metrics import tagged
from skit_pipelines.metrics.intent import reports
from skit_pipelines.metrics.intent import scores as intents
from skit_pipelines.metrics.intent.oos import (
    OutOfScopeEvaluation,
    OutOfScopeSpec,
    evaluate_out_of_scope,
    out_of_scope_truth,
)
from skit_pipelines.metrics.intent.scores import Confusion, LayersSpec
from skit_pipelines.metrics.json_values import json_safe
from skit_pipelines.metrics.prediction_join import join_predictions
from skit_pipelines.metrics.tags import MISSING_LABEL

log = logging.getLogger(__name__)

__all__ = [
    "ARTIFACT_TITLES",
    "IntentEvaluation",
    "breakdowns_json",
    "evaluate_intents",
    "html_report",
    "slack_message",
]

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
    out_of_scope: OutOfScopeEvaluation | None = None

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

    def predictions(self) -> pd.DataFrame:
        """Every evaluated turn (the errors table is its ``correct == False`` part), with the model's own
        best intent and the out-of-scope truth when the evaluation has an out-of-scope part."""
        table = tagged.predictions_table(self.data, self.y_true, self.y_pred)
        if self.out_of_scope is not None:
            spec = self.out_of_scope.spec
            rows = self.data.frame["row"].to_numpy()
            if spec.model_prediction_column in self.data.source.columns:
                model = self.data.source[spec.model_prediction_column].to_numpy(dtype=object)[rows]
                table.insert(table.columns.get_loc("predicted") + 1, "model_predicted", model)
            is_oos = oos_truth(self.data.frame["true"].to_numpy(dtype=object), spec)
            table["out_of_scope"] = is_oos
        return table

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
        numbers = {
            "n": self.n,
            "accuracy": self.accuracy,
            "weighted_f1": self.weighted_f1,
            "macro_f1": self.macro_f1,
            "kappa": self.kappa,
            "labels": len(self.confusion.labels),
            "errors": len(self.errors),
        }
        if self.out_of_scope is not None:
            numbers["in_scope_accuracy"] = self.out_of_scope.scores.in_scope_accuracy
            numbers["oos_recall"] = self.out_of_scope.scores.oos_recall
        return numbers


def oos_truth(y_true: np.ndarray, spec: OutOfScopeSpec) -> np.ndarray:
    """Which truths are out of scope under ``spec`` (missing truths are not)."""
    is_oos, _ = out_of_scope_truth(
        y_true, fallback_intent=spec.fallback_intent, known_labels=spec.known_labels, ignore={MISSING_LABEL}
    )
    return is_oos


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
    out_of_scope: OutOfScopeSpec | None = None,
) -> IntentEvaluation:
    """Evaluate the intents of a tagged dataset frame (see the module docstring).

    Labels are compared as given, as the reference did; ``normalise_labels`` strips them and compares
    them as text first (``" greet"`` = ``"greet"``, ``5`` = ``"5"``). With ``predictions`` (a second file
    with ``pred_label_column`` per id) the prediction comes from that file, joined on ``id_column`` (see
    :mod:`~skit_pipelines.metrics.prediction_join`); rows left out by the join are data notes.
    ``out_of_scope``: how the predictions decided out of scope; its scores are computed on the labels as
    predicted (before any alias, which would rename the fallback or an intent the model does not know).
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
    if out_of_scope is not None:
        evaluation.out_of_scope = evaluate_out_of_scope(
            data.frame["true"].to_numpy(dtype=object),
            data.frame["predicted"].to_numpy(dtype=object),
            data.source,
            data.frame["row"].to_numpy(),
            out_of_scope,
            ignore={MISSING_LABEL},
        )
        data.notes.extend(evaluation.out_of_scope.notes)
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
    """The self-contained HTML page of one evaluation (``images``: PNG bytes, embedded)."""
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
    oos = evaluation.out_of_scope
    if oos is not None:
        headline["in-scope accuracy"] = oos.scores.in_scope_accuracy
        headline["OOS recall"] = oos.scores.oos_recall
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
        out_of_scope=None if oos is None else oos.summary(),
        threshold_sweep=None if oos is None else oos.sweep,
    )
    return reports.render_html(content)


def breakdowns_json(evaluation: IntentEvaluation) -> dict[str, Any]:
    """The group, layer and category breakdowns as plain JSON values (NaN as null)."""
    return json_safe(
        {
            "categories": evaluation.categories(),
            "groups": evaluation.groups,
            "layers": None if evaluation.layers is None else evaluation.layers.to_dict(orient="index"),
            "layer_breakdowns": evaluation.layer_breakdowns,
        }
    )


# ------------------------------------------------------------------------------------ the message


ARTIFACT_TITLES = {
    "html_report_uri": "HTML report",
    "report_uri": "classification report (CSV)",
    "confusion_matrix_uri": "confusion matrix (CSV)",
    "intent_report_uri": "intent_report.json",
    "errors_uri": "errors (CSV)",
    "predictions_uri": "per-turn predictions (CSV)",
    "threshold_sweep_uri": "out-of-scope threshold sweep (CSV)",
    "threshold_sweep_png_uri": "out-of-scope threshold sweep (PNG)",
    "breakdowns_uri": "breakdowns (JSON)",
    "heatmap_uri": "confusion heatmap (PNG)",
    "top_confusions_uri": "top confusions (PNG)",
}


def slack_message(
    evaluation: IntentEvaluation,
    *,
    dataset: str,
    artifacts: dict[str, str],
    metrics_rows: int,
    mlwr: bool,
    note: str = "",
) -> str:
    """The run's summary: headline numbers, data notes, the caller's note, rows written, every artifact."""
    lines = [
        f"Intent evaluation of {dataset}: *{evaluation.n:,}* turns, "
        f"accuracy *{_number(evaluation.accuracy)}*, "
        f"weighted F1 *{_number(evaluation.weighted_f1)}*, Cohen's kappa *{_number(evaluation.kappa)}* "
        f"({len(evaluation.confusion.labels)} intents, {len(evaluation.errors):,} errors).",
    ]
    if evaluation.out_of_scope is not None:
        lines.append(out_of_scope_line(evaluation.out_of_scope))
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


def out_of_scope_line(oos: OutOfScopeEvaluation) -> str:
    """One line for Slack: the threshold and where it came from, in-scope accuracy, OOS P/R/F1."""
    spec, scores = oos.spec, oos.scores
    origin = {"argument": "given", "archive": "recommended by training"}.get(spec.threshold_source, "")
    threshold = (
        "no confidence threshold"
        if spec.confidence_threshold is None
        else f"confidence threshold {spec.confidence_threshold:g}" + (f" ({origin})" if origin else "")
    )
    return (
        f"Out of scope (fallback {spec.fallback_intent!r}, {threshold}): in-scope accuracy "
        f"*{_number(scores.in_scope_accuracy)}* on {scores.in_scope_rows:,} turns; OOS precision "
        f"{_number(scores.oos_precision)}, recall *{_number(scores.oos_recall)}*, F1 "
        f"{_number(scores.oos_f1)} on {scores.oos_rows:,} out-of-scope turns."
    )
