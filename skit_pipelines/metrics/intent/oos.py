"""Out-of-scope (fallback) detection: scores, the threshold sweep and the recommended threshold. Pure.

Why: a voice bot must answer "sorry, I didn't get that" instead of guessing. The classifier always names
one of the intents it was trained on; a prediction whose confidence is below ``confidence_threshold``
becomes the ``fallback_intent`` instead (``_oos_`` by default). These definitions are the contract every
caller shares (training picks a threshold, prediction applies it, evaluation reports it):

- **out-of-scope truth** — a row whose true label is the fallback intent, or an intent the model was never
  trained on (not in ``known_labels``). Every other labelled row is **in scope**. Rows whose truth is
  missing (``ignore``) are neither.
- **predicted out of scope** — the final prediction is the fallback intent (below the threshold, or the
  model's own best label is the fallback, when the training data had a fallback class).
- **in-scope accuracy** — share of in-scope rows whose final prediction is their true intent (a row sent
  to the fallback is wrong). **OOS recall / precision / F1** — the binary scores of "out of scope"
  (sklearn's ``precision_recall_fscore_support(average="binary")`` semantics, ``zero_division=0``).
- **the recommended threshold** — on the validation rows, the threshold of :data:`THRESHOLD_GRID`
  (0.00 to 1.00 by 0.01) that maximises *in-scope accuracy + OOS recall*: the two numbers the CLINC150
  benchmark (Larson et al., 2019) reports, weighted equally. Where several thresholds reach the maximum, the
  middle grid point of the first run of them is taken (the flat top of the curve, not its edge, so that a
  model whose confidences move a little on new data keeps the same behaviour). Without out-of-scope rows (or
  without in-scope rows) in validation there is nothing to trade off: no threshold is recommended.

numpy only (sklearn is the reference the tests compare against, as for the other intent metrics).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines.errors import SkitPipelinesError

__all__ = [
    "CRITERION",
    "THRESHOLD_GRID",
    "OutOfScopeEvaluation",
    "OutOfScopeScores",
    "OutOfScopeSpec",
    "ThresholdChoice",
    "apply_threshold",
    "choose_threshold",
    "evaluate_out_of_scope",
    "out_of_scope_scores",
    "out_of_scope_truth",
    "threshold_sweep",
]

CRITERION = "maximise in-scope accuracy + OOS recall on the validation rows"
THRESHOLD_GRID = np.round(np.arange(0, 101) / 100, 2)
SWEEP_COLUMNS = ("threshold", "in_scope_accuracy", "oos_recall", "oos_precision", "oos_f1", "accuracy")


class OutOfScopeSpecError(SkitPipelinesError, ValueError):
    """The ``out_of_scope`` description handed to an evaluation is malformed; the message names the key."""


def _labels(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


def out_of_scope_truth(
    y_true: Sequence[Any] | np.ndarray,
    *,
    fallback_intent: str,
    known_labels: Collection[str] | None = None,
    ignore: Collection[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """``(is_oos, scored)`` boolean masks: out-of-scope truths, and the rows that count at all.

    ``known_labels`` None: every label but the fallback is in scope (nothing is known about the model).
    """
    truth = _labels(y_true)
    scored = ~np.isin(truth, list(ignore)) if ignore else np.ones(len(truth), dtype=bool)
    is_oos = truth == fallback_intent
    if known_labels is not None:
        known = [label for label in known_labels if label != fallback_intent]
        is_oos |= ~np.isin(truth, known)
    return is_oos & scored, scored


def apply_threshold(
    predicted: Sequence[Any] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    threshold: float | None,
    fallback_intent: str,
) -> np.ndarray:
    """The final predictions: ``fallback_intent`` where ``confidence < threshold`` (None: unchanged).

    A missing confidence (NaN) is never below a threshold: without a score nothing is overruled.
    """
    labels = _labels(predicted).copy()
    if threshold is None:
        return labels
    scores = np.asarray(confidence, dtype=np.float64)
    labels[scores < threshold] = fallback_intent
    return labels


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass(frozen=True)
class OutOfScopeScores:
    """In-scope accuracy and the binary out-of-scope scores of one set of final predictions."""

    in_scope_rows: int
    oos_rows: int
    predicted_oos_rows: int
    in_scope_accuracy: float
    oos_precision: float
    oos_recall: float
    oos_f1: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def out_of_scope_scores(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    *,
    fallback_intent: str,
    known_labels: Collection[str] | None = None,
    ignore: Collection[str] = (),
) -> OutOfScopeScores:
    """Scores of final predictions ``y_pred`` (after any threshold) against ``y_true`` (module docstring)."""
    truth, pred = _labels(y_true), _labels(y_pred)
    is_oos, scored = out_of_scope_truth(
        truth, fallback_intent=fallback_intent, known_labels=known_labels, ignore=ignore
    )
    in_scope = scored & ~is_oos
    predicted_oos = scored & (pred == fallback_intent)
    hits = int((predicted_oos & is_oos).sum())
    precision = _ratio(hits, int(predicted_oos.sum()))
    recall = _ratio(hits, int(is_oos.sum()))
    return OutOfScopeScores(
        in_scope_rows=int(in_scope.sum()),
        oos_rows=int(is_oos.sum()),
        predicted_oos_rows=int(predicted_oos.sum()),
        in_scope_accuracy=_ratio(int((in_scope & (pred == truth)).sum()), int(in_scope.sum())),
        oos_precision=precision,
        oos_recall=recall,
        oos_f1=_f1(precision, recall),
    )


def _at_or_above(sorted_scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many of ``sorted_scores`` are >= each threshold (i.e. not sent to the fallback)."""
    return len(sorted_scores) - np.searchsorted(sorted_scores, thresholds, side="left")


def threshold_sweep(
    y_true: Sequence[Any] | np.ndarray,
    y_model: Sequence[Any] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    *,
    fallback_intent: str,
    known_labels: Collection[str] | None = None,
    ignore: Collection[str] = (),
    thresholds: Sequence[float] | np.ndarray = THRESHOLD_GRID,
) -> pd.DataFrame:
    """One row per threshold: in-scope accuracy, OOS recall/precision/F1 and accuracy of all scored rows.

    ``y_model`` is the model's own best label (before any threshold) and ``confidence`` its score; a row
    is sent to the fallback where its confidence is below the threshold. Counting with sorted scores keeps
    this O(n log n) whatever the number of thresholds. Rows without a confidence (NaN) are never sent.
    """
    truth, model = _labels(y_true), _labels(y_model)
    scores = np.asarray(confidence, dtype=np.float64)
    scores = np.where(np.isnan(scores), np.inf, scores)
    grid = np.asarray(thresholds, dtype=np.float64)
    is_oos, scored = out_of_scope_truth(
        truth, fallback_intent=fallback_intent, known_labels=known_labels, ignore=ignore
    )
    in_scope = scored & ~is_oos
    model_oos = model == fallback_intent
    # in scope and right before the threshold: right after it unless sent to the fallback
    in_scope_right = _at_or_above(np.sort(scores[in_scope & (model == truth)]), grid)
    # out of scope: found when the model says fallback itself, or when sent there by the threshold
    oos_found = int((is_oos & model_oos).sum()) + (
        int((is_oos & ~model_oos).sum()) - _at_or_above(np.sort(scores[is_oos & ~model_oos]), grid)
    )
    predicted_oos = int((scored & model_oos).sum()) + (
        int((scored & ~model_oos).sum()) - _at_or_above(np.sort(scores[scored & ~model_oos]), grid)
    )
    n_in, n_oos, n = int(in_scope.sum()), int(is_oos.sum()), int(scored.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy_in = np.where(n_in > 0, in_scope_right / max(n_in, 1), 0.0)
        recall = np.where(n_oos > 0, oos_found / max(n_oos, 1), 0.0)
        precision = np.where(predicted_oos > 0, oos_found / np.maximum(predicted_oos, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        accuracy = np.where(n > 0, (in_scope_right + oos_found) / max(n, 1), 0.0)
    return pd.DataFrame(
        {
            "threshold": grid,
            "in_scope_accuracy": accuracy_in,
            "oos_recall": recall,
            "oos_precision": precision,
            "oos_f1": f1,
            "accuracy": accuracy,
        },
        columns=list(SWEEP_COLUMNS),
    )


@dataclass(frozen=True)
class ThresholdChoice:
    """The recommended threshold (None: none could be chosen, ``reason`` says why) and what it scored."""

    confidence_threshold: float | None
    criterion: str = CRITERION
    in_scope_rows: int = 0
    oos_rows: int = 0
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None
    reason: str = ""

    def as_metadata(self, fallback_intent: str) -> dict[str, Any]:
        """What a model archive's ``metadata.json`` records under ``out_of_scope``."""
        return {"fallback_intent": fallback_intent, **asdict(self)}


def choose_threshold(
    y_true: Sequence[Any] | np.ndarray,
    y_model: Sequence[Any] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    *,
    fallback_intent: str,
    known_labels: Collection[str] | None = None,
) -> ThresholdChoice:
    """The threshold of :data:`THRESHOLD_GRID` maximising in-scope accuracy + OOS recall (see the module)."""
    is_oos, scored = out_of_scope_truth(y_true, fallback_intent=fallback_intent, known_labels=known_labels)
    n_oos, n_in = int(is_oos.sum()), int((scored & ~is_oos).sum())
    if not n_oos or not n_in:
        missing = "out-of-scope" if not n_oos else "in-scope"
        return ThresholdChoice(
            None,
            in_scope_rows=n_in,
            oos_rows=n_oos,
            reason=f"no {missing} rows in the validation data (out of scope: label {fallback_intent!r} "
            "or an intent not in the training data): no threshold recommended",
        )
    sweep = threshold_sweep(
        y_true, y_model, confidence, fallback_intent=fallback_intent, known_labels=known_labels
    )
    score = (sweep["in_scope_accuracy"] + sweep["oos_recall"]).to_numpy()
    best = np.flatnonzero(np.isclose(score, score.max(), rtol=0, atol=1e-12))
    run_end = best[0]
    while run_end + 1 < len(score) and run_end + 1 in best:
        run_end += 1
    at = sweep.iloc[int(best[0] + (run_end - best[0]) // 2)]  # the middle grid point of the run
    return ThresholdChoice(
        round(float(at["threshold"]), 4),
        in_scope_rows=n_in,
        oos_rows=n_oos,
        in_scope_accuracy=round(float(at["in_scope_accuracy"]), 6),
        oos_recall=round(float(at["oos_recall"]), 6),
    )


# ------------------------------------------------------------------------------- in an evaluation


@dataclass(frozen=True)
class OutOfScopeSpec:
    """How a prediction step decided out of scope, handed to the evaluation as JSON (``out_of_scope``).

    ``known_labels``: the model's intents (None: every truth but the fallback is in scope).
    ``model_prediction_column`` and ``confidence_column``: the model's own best label and its score, for
    the threshold sweep (empty: no sweep).
    """

    fallback_intent: str
    confidence_threshold: float | None = None
    threshold_source: str = ""
    known_labels: tuple[str, ...] | None = None
    model_prediction_column: str = ""
    confidence_column: str = ""

    def to_json(self) -> str:
        payload = asdict(self)
        payload["known_labels"] = None if self.known_labels is None else list(self.known_labels)
        return json.dumps(payload, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, parameter: str = "out_of_scope") -> OutOfScopeSpec | None:
        """The spec of a JSON object; empty text is None (no out-of-scope evaluation)."""
        if not text or not text.strip():
            return None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OutOfScopeSpecError(f"{parameter} is not JSON ({exc.msg})") from None
        if not isinstance(payload, Mapping):
            raise OutOfScopeSpecError(f"{parameter} must be a JSON object, got {type(payload).__name__}")
        unknown = sorted(set(payload) - set(cls.__dataclass_fields__))
        if unknown:
            raise OutOfScopeSpecError(f"{parameter}: unknown key(s) {', '.join(unknown)}")
        fallback = payload.get("fallback_intent")
        if not isinstance(fallback, str) or not fallback.strip():
            raise OutOfScopeSpecError(f"{parameter}.fallback_intent must be a non-empty string")
        threshold = payload.get("confidence_threshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not (0 <= threshold <= 1)
        ):
            raise OutOfScopeSpecError(f"{parameter}.confidence_threshold must be null or in [0, 1]")
        known = payload.get("known_labels")
        if known is not None and (not isinstance(known, list) or not all(isinstance(x, str) for x in known)):
            raise OutOfScopeSpecError(f"{parameter}.known_labels must be null or a list of strings")
        return cls(
            fallback_intent=fallback,
            confidence_threshold=None if threshold is None else float(threshold),
            threshold_source=str(payload.get("threshold_source", "")),
            known_labels=None if known is None else tuple(known),
            model_prediction_column=str(payload.get("model_prediction_column", "")),
            confidence_column=str(payload.get("confidence_column", "")),
        )


@dataclass
class OutOfScopeEvaluation:
    """The out-of-scope part of one evaluation: the spec, the scores at its threshold, the sweep."""

    spec: OutOfScopeSpec
    scores: OutOfScopeScores
    sweep: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        threshold = self.spec.confidence_threshold
        return {
            "fallback intent": self.spec.fallback_intent,
            "confidence threshold": "none" if threshold is None else threshold,
            "threshold from": self.spec.threshold_source or "",
            "in-scope turns": self.scores.in_scope_rows,
            "out-of-scope turns": self.scores.oos_rows,
            "in-scope accuracy": self.scores.in_scope_accuracy,
            "OOS precision": self.scores.oos_precision,
            "OOS recall": self.scores.oos_recall,
            "OOS F1": self.scores.oos_f1,
        }


def evaluate_out_of_scope(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    source: pd.DataFrame,
    rows: np.ndarray,
    spec: OutOfScopeSpec,
    *,
    ignore: Collection[str] = (),
) -> OutOfScopeEvaluation:
    """Scores of the final predictions, and the sweep when ``source`` (the dataset) has the model's columns.

    ``rows``: the dataset row of each prediction (the sweep reads the model's label and score there).
    """
    known = spec.known_labels
    scores = out_of_scope_scores(
        y_true, y_pred, fallback_intent=spec.fallback_intent, known_labels=known, ignore=ignore
    )
    result = OutOfScopeEvaluation(spec=spec, scores=scores)
    columns = (spec.model_prediction_column, spec.confidence_column)
    if all(columns) and all(c in source.columns for c in columns):
        model = source[spec.model_prediction_column].to_numpy(dtype=object)[rows]
        confidence = pd.to_numeric(source[spec.confidence_column].iloc[rows], errors="coerce").to_numpy()
        result.sweep = threshold_sweep(
            y_true, model, confidence, fallback_intent=spec.fallback_intent, known_labels=known, ignore=ignore
        )
    elif any(columns):
        missing = [c for c in columns if c and c not in source.columns]
        result.notes.append(f"no threshold sweep: the dataset has no {', '.join(missing)} column")
    if not scores.oos_rows:
        result.notes.append(
            f"no out-of-scope turns (true label {spec.fallback_intent!r} or an intent the model does not "
            "know): OOS recall is 0 by definition"
        )
    return result
