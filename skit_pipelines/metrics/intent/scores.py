"""Intent metrics from one confusion matrix: classification report, agreement, Rasa report, breakdowns.

Why one confusion matrix: every number here (per-intent precision/recall/F1/support, the accuracy and the
macro/weighted averages, Cohen's kappa, the top confusions) is a function of the true x predicted count
matrix. ``sklearn.metrics.classification_report`` recomputes that matrix for every average it prints (and
sorts the string labels each time); we encode the labels once (``pandas.factorize``: one hash pass over
the strings), count pairs with ``numpy.bincount`` and derive everything from the K x K counts, so a
million turns and 300 intents cost a fraction of one sklearn call. The semantics are sklearn's, exactly:

- labels are the sorted union of the true and predicted labels (``sklearn.utils.multiclass.unique_labels``);
- ``zero_division=0``: a precision, recall or F1 whose denominator is 0 is 0;
- F1 = 2 tp / (2 tp + fp + fn); macro = unweighted mean over labels; weighted = mean weighted by support;
- "accuracy" replaces "micro avg" unless the report is restricted to a subset of the labels;
- kappa as ``sklearn.metrics.cohen_kappa_score`` (NaN where it is undefined: one label on both sides).

The tests check agreement with sklearn on random data. numpy/pandas are used because the whole evaluation
is array work; sklearn is kept only as the reference the tests compare against.

Breakdowns follow eevee (spec 5.1): an alias map renames many labels to one on both sides before anything
is computed; a group report is the classification report restricted to the group's labels; the layers
report compares true-side sub-layers (e.g. acoustic and lexical out-of-scope) with one predicted layer.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines.metrics.tags import MISSING_LABEL

log = logging.getLogger(__name__)

__all__ = [
    "AVERAGE_ROWS",
    "METRIC_COLUMNS",
    "Confusion",
    "LayersSpec",
    "apply_alias",
    "category_name",
    "classification_report",
    "cohen_kappa",
    "confusion_counts",
    "intent_report_json",
    "layer_breakdowns",
    "layers_report",
    "report_frame",
    "top_confusions",
    "unique_members",
]

METRIC_COLUMNS = ("precision", "recall", "f1-score", "support")
AVERAGE_ROWS = ("accuracy", "micro avg", "macro avg", "weighted avg")


@dataclass(frozen=True)
class Confusion:
    """Counts of (true, predicted) label pairs. ``matrix[i, j]`` = rows with truth ``labels[i]`` predicted
    as ``labels[j]``; ``labels`` is the sorted union of both sides."""

    labels: tuple[str, ...]
    matrix: np.ndarray

    @property
    def n(self) -> int:
        return int(self.matrix.sum())

    @property
    def true_counts(self) -> np.ndarray:
        return self.matrix.sum(axis=1)

    @property
    def pred_counts(self) -> np.ndarray:
        return self.matrix.sum(axis=0)

    @property
    def correct(self) -> int:
        return int(np.trace(self.matrix))

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a frame: index = true labels, columns = predicted labels (``pandas.crosstab``)."""
        frame = pd.DataFrame(self.matrix, index=list(self.labels), columns=list(self.labels))
        frame.index.name = "true \\ predicted"
        return frame

    def index(self, label: str) -> int:
        """Position of ``label``; -1 when it occurs on neither side."""
        try:
            return self.labels.index(label)
        except ValueError:
            return -1


def confusion_counts(
    y_true: Sequence[Any] | np.ndarray | pd.Series, y_pred: Sequence[Any] | np.ndarray | pd.Series
) -> Confusion:
    """Count (true, predicted) pairs. Labels must be present (fill missing ones first, e.g. with ``_``).

    Raises ValueError naming the side that has missing labels, a length mismatch, or no rows at all.
    """
    truth = _as_array(y_true)
    pred = _as_array(y_pred)
    if len(truth) != len(pred):
        raise ValueError(
            f"y_true has {len(truth)} labels but y_pred has {len(pred)}: they must align row by row"
        )
    n = len(truth)
    if n == 0:
        raise ValueError("no rows to evaluate: y_true and y_pred are empty")
    codes, uniques = pd.factorize(np.concatenate([truth, pred]), use_na_sentinel=True)
    if (codes < 0).any():
        missing_true = int((codes[:n] < 0).sum())
        missing_pred = int((codes[n:] < 0).sum())
        raise ValueError(
            f"missing labels: {missing_true} in y_true and {missing_pred} in y_pred; fill them first "
            f"(the evaluation counts them as {MISSING_LABEL!r})"
        )
    labels, rank = _sorted_labels(list(uniques))
    codes = rank[codes]
    k = len(labels)
    matrix = np.bincount(codes[:n] * k + codes[n:], minlength=k * k).reshape(k, k)
    return Confusion(labels=tuple(labels), matrix=matrix)


def _as_array(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=object, na_value=None)
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {array.shape}")
    return array


def _sorted_labels(uniques: list[Any]) -> tuple[list[str], np.ndarray]:
    """Labels in sklearn's order (sorted values) as strings, and old code → new code."""
    try:
        order = sorted(range(len(uniques)), key=lambda i: uniques[i])
    except TypeError:  # mixed types (sklearn refuses them); order by their text
        order = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
    labels = [str(uniques[i]) for i in order]
    if len(set(labels)) != len(labels):
        raise ValueError(
            "labels of different types print the same (e.g. the number 1 and the text '1'): the reference "
            "keeps them apart; convert them to text first, or evaluate with normalise_labels=true"
        )
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(uniques), dtype=np.int64)
    return labels, rank


# --------------------------------------------------------------------------------------- the report


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator with 0 where the denominator is 0 (sklearn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def classification_report(
    confusion: Confusion, labels: Iterable[str] | None = None, *, micro_avg: bool = False
) -> dict[str, Any]:
    """``sklearn.metrics.classification_report(..., output_dict=True, zero_division=0)`` from the counts.

    ``labels`` restricts (and orders) the rows as sklearn's ``labels=`` does; labels that never occur get
    zeros. The result is sklearn's dict: one ``{precision, recall, f1-score, support}`` per label, then
    ``accuracy`` (a float) or ``micro avg``, ``macro avg`` and ``weighted avg``. ``micro_avg`` asks for the
    ``micro avg`` row even when ``labels`` covers every label present (sklearn would print ``accuracy``):
    a breakdown report keeps one shape whatever the data holds.
    """
    present = confusion.labels
    if labels is None:
        names = list(present)
        idx = np.arange(len(present))
        covers_all = True
    else:
        names = [str(label) for label in labels]
        idx = np.asarray([confusion.index(name) for name in names], dtype=np.int64)
        covers_all = set(names) >= set(present) and not micro_avg
    known = idx >= 0
    safe = np.where(known, idx, 0)
    diag = np.diagonal(confusion.matrix)
    tp = np.where(known, diag[safe], 0)
    true_sum = np.where(known, confusion.true_counts[safe], 0)
    pred_sum = np.where(known, confusion.pred_counts[safe], 0)

    precision = _divide(tp, pred_sum)
    recall = _divide(tp, true_sum)
    f1 = _divide(2.0 * tp, true_sum.astype(np.float64) + pred_sum)

    report: dict[str, Any] = {}
    for i, name in enumerate(names):
        report[name] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1-score": float(f1[i]),
            "support": float(true_sum[i]),
        }
    support = float(true_sum.sum())
    micro_tp, micro_pred, micro_true = tp.sum(), pred_sum.sum(), true_sum.sum()
    micro = [
        float(_divide(micro_tp, micro_pred)),
        float(_divide(micro_tp, micro_true)),
        float(_divide(2.0 * micro_tp, float(micro_true) + micro_pred)),
    ]
    if covers_all:
        report["accuracy"] = micro[0]
    else:
        report["micro avg"] = dict(zip(METRIC_COLUMNS, [*micro, support], strict=True))
    if names:
        macro = [float(np.mean(values)) for values in (precision, recall, f1)]
        weights = true_sum if true_sum.sum() > 0 else None  # sklearn falls back to the plain mean
        weighted = [float(np.average(values, weights=weights)) for values in (precision, recall, f1)]
    else:
        macro = weighted = [math.nan] * 3
    report["macro avg"] = dict(zip(METRIC_COLUMNS, [*macro, support], strict=True))
    report["weighted avg"] = dict(zip(METRIC_COLUMNS, [*weighted, support], strict=True))
    return report


def report_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    """A report dict as the CSV table: one row per label, then the averages.

    The ``accuracy`` row reads as sklearn prints it: blank precision and recall, the accuracy under
    ``f1-score`` and the number of rows as support (the reference's ``DataFrame(report).T`` repeated the
    accuracy in every column, support included).
    """
    rows: dict[str, list[float]] = {}
    total = next((float(v["support"]) for k, v in report.items() if k == "macro avg"), math.nan)
    for name, value in report.items():
        if name == "accuracy":
            rows[name] = [math.nan, math.nan, float(value), total]
        else:
            rows[name] = [float(value[column]) for column in METRIC_COLUMNS]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(METRIC_COLUMNS))
    frame["support"] = frame["support"].round().astype("Int64")
    frame.index.name = "label"
    return frame


def cohen_kappa(confusion: Confusion) -> float:
    """Cohen's kappa between truth and prediction (``sklearn.metrics.cohen_kappa_score``); NaN if undefined.

    kappa = 1 - observed disagreement / disagreement expected by chance, computed from the margins in
    O(K): sum(w * expected) = (n^2 - sum(rows * columns)) / n for the unweighted w = 1 - I.
    """
    n = float(confusion.n)
    if n == 0:
        return math.nan
    rows = confusion.true_counts.astype(np.float64)
    cols = confusion.pred_counts.astype(np.float64)
    expected_disagreement = (n * n - float(np.dot(rows, cols))) / n
    if expected_disagreement == 0:
        return math.nan
    observed_disagreement = n - confusion.correct
    return float(1.0 - observed_disagreement / expected_disagreement)


# --------------------------------------------------------------------------------- confusion views


def top_confusions(confusion: Confusion, limit: int | None = 20) -> pd.DataFrame:
    """The most frequent off-diagonal (true, predicted) pairs: count and share of the true label's rows."""
    off = confusion.matrix.copy()
    np.fill_diagonal(off, 0)
    true_idx, pred_idx = np.nonzero(off)
    counts = off[true_idx, pred_idx]
    labels = np.asarray(confusion.labels, dtype=object)
    frame = pd.DataFrame(
        {
            "true": labels[true_idx],
            "predicted": labels[pred_idx],
            "count": counts.astype(np.int64),
            "share_of_true": _divide(counts, confusion.true_counts[true_idx]),
        }
    )
    frame = frame.sort_values(["count", "true", "predicted"], ascending=[False, True, True], kind="stable")
    if limit is not None:
        frame = frame.head(limit)
    return frame.reset_index(drop=True)


def _confused_with(confusion: Confusion, top: int = 3) -> list[dict[str, int]]:
    """Per true label, its ``top`` most frequent wrong predictions with counts > 0 (ties: label order)."""
    off = confusion.matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=1, kind="stable")[:, :top]
    result = []
    for i, row in enumerate(order):
        result.append({confusion.labels[j]: int(off[i, j]) for j in row if off[i, j] > 0})
    return result


def intent_report_json(confusion: Confusion, report: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Rasa's ``intent_report.json``: per intent precision/recall/f1-score/support and ``confused_with``
    (its top-3 wrong predictions with counts), then ``accuracy``, ``macro avg`` and ``weighted avg``."""
    report = report if report is not None else classification_report(confusion)
    confused = dict(zip(confusion.labels, _confused_with(confusion), strict=True))
    out: dict[str, Any] = {}
    for name, value in report.items():
        if isinstance(value, Mapping):
            entry = {k: (int(v) if k == "support" else v) for k, v in value.items()}
            if name in confused:
                entry["confused_with"] = confused[name]
            out[name] = entry
        else:
            out[name] = value
    return out


# ------------------------------------------------------------------------------------ alias, groups


def apply_alias(
    labels: pd.Series | np.ndarray | Sequence[str], alias: Mapping[str, Sequence[str]] | None
) -> np.ndarray:
    """Rename every label listed under an alias to that alias (spec 5.1): ``{alias: [label, ...]}``."""
    values = _as_array(labels)
    if not alias:
        return values
    mapping = {str(label): str(name) for name, members in alias.items() for label in members}
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    renamed = np.asarray([mapping.get(str(u), u) for u in uniques] + [None], dtype=object)
    return renamed[codes]  # code -1 (missing) picks the trailing None


def category_name(key: str) -> str:
    """Group keys as the reference stores them: ``smalltalk_intents`` → ``smalltalk`` (spec 5.1)."""
    short = re.sub(r"[-_]?intent(s)?", "", key, flags=re.IGNORECASE)
    return short or key


def unique_members(members: Iterable[Any]) -> tuple[list[str], list[str]]:
    """A group's labels as text, each once in first-seen order, and the labels that were listed again.

    Why: a label listed twice would be a row twice in the report and its support would be summed twice
    into the averages (a support larger than the number of turns).
    """
    seen: dict[str, None] = {}
    repeated: list[str] = []
    for label in members:
        text = str(label)
        if text in seen:
            repeated.append(text)
        else:
            seen[text] = None
    return list(seen), repeated


def group_reports(confusion: Confusion, groups: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """One classification report per group, restricted to (and ordered as) the group's labels.

    The averages are over the group's labels only, always under ``micro avg`` (never ``accuracy``, even
    for a group that covers every label: the docs promise one shape). A label listed twice in a group
    counts once (logged). eevee's implicit ``in_scope`` group (all other labels) is not produced: the
    reference dropped it before storing (spec 5.1).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, members in groups.items():
        labels, repeated = unique_members(members)
        if repeated:
            log.warning(
                "group %r lists %d label(s) more than once (%s): each counts once",
                str(name),
                len(repeated),
                ", ".join(sorted(set(repeated))),
            )
        out[str(name)] = classification_report(confusion, labels=labels, micro_avg=True)
    return out


# ----------------------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class LayersSpec:
    """Layers YAML (spec 5.1): true-side sub-layers and predicted-side layers, each ``{layer: [labels]}``.

    The first predicted layer is the one the true sub-layers are compared with (e.g. acoustic_oos and
    lexical_oos truths vs an ``oos`` prediction).
    """

    true_layers: dict[str, list[str]]
    pred_layers: dict[str, list[str]]

    @property
    def predicted_layer(self) -> str:
        return next(iter(self.pred_layers))


def _binary_scores(truth: np.ndarray, pred: np.ndarray, label: str) -> list[float]:
    is_true, is_pred = truth == label, pred == label
    tp = float(np.count_nonzero(is_true & is_pred))
    true_n, pred_n = float(np.count_nonzero(is_true)), float(np.count_nonzero(is_pred))
    return [
        float(_divide(tp, pred_n)),
        float(_divide(tp, true_n)),
        float(_divide(2 * tp, true_n + pred_n)),
        true_n,
    ]


Labels = Sequence[str] | np.ndarray | pd.Series


def _layer_views(
    y_true: Labels, y_pred: Labels, layers: LayersSpec
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per layer, the (truth, prediction) labels as that layer sees them (see :func:`layers_report`)."""
    truth = _as_array(y_true)
    pred = apply_alias(_as_array(y_pred), layers.pred_layers)
    true_alias = apply_alias(truth, layers.true_layers)
    top = layers.predicted_layer
    views: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for sub_layer in layers.true_layers:
        views[sub_layer] = (true_alias, np.where(pred == top, sub_layer, pred))
    views[top] = (np.where(np.isin(true_alias, list(layers.true_layers)), top, true_alias), pred)
    return views


def layers_report(y_true: Labels, y_pred: Labels, layers: LayersSpec) -> pd.DataFrame:
    """eevee's ``intent_layers_report`` (no breakdown): one row ``layer-<name>`` per true sub-layer and one
    for the predicted layer, each with precision, recall, F1 and support of that layer.

    Predictions listed under a predicted layer become that layer; truths listed under a true sub-layer
    become the sub-layer. A sub-layer row counts a prediction of the predicted layer as a prediction of
    that sub-layer; the predicted-layer row folds every true sub-layer into the predicted layer.
    """
    rows = {
        f"layer-{layer}": _binary_scores(truth, pred, layer)
        for layer, (truth, pred) in _layer_views(y_true, y_pred, layers).items()
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(METRIC_COLUMNS))
    frame["support"] = frame["support"].astype(np.int64)
    frame.index.name = "layer"
    return frame


def layer_breakdowns(y_true: Labels, y_pred: Labels, layers: LayersSpec) -> dict[str, dict[str, Any]]:
    """The full breakdown of each layer (eevee's layers report with ``breakdown``): per ``layer-<name>``,
    the whole classification report of the dataset as that layer sees it.

    Why: a layer row says how well, say, acoustic out-of-scope is recognised; the breakdown shows what it
    is confused with and how every other intent fares once the layer is folded. The layer's own row in
    its breakdown equals its row in :func:`layers_report`.
    """
    return {
        f"layer-{layer}": classification_report(confusion_counts(truth, pred))
        for layer, (truth, pred) in _layer_views(y_true, y_pred, layers).items()
    }
