"""A truth file and a prediction file joined on an id: the reference's ``intent_report(true, pred)`` input.

Why a module of its own: the reference evaluated two frames ``(id, label)`` inner-joined on ``id`` (a model's
predictions against a tagged dataset, spec 5.1). Joining is where rows get lost or multiplied without anyone
noticing, so every rule is here, once:

- the id column is ``id_column``, or by default ``id`` and else ``data_id`` on each side (the reference's
  fallback); ids are compared as text, exactly;
- the prediction file's ``pred_label_column`` (and its confidence columns, when it has them) replaces the
  truth file's: the evaluated prediction and its confidence come from the same file;
- an inner join, as the reference's: rows whose id is only on one side are left out **and counted** (the
  counts are data notes of the evaluation), never dropped silently; rows without an id likewise;
- a duplicate id on either side is an error (a join would count those turns several times), as is a join
  that matches nothing. Errors name the file, the column and row numbers, never cell contents.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from skit_pipelines.metrics.tagged import (
    ID_COLUMNS,
    PREDICTION_JSON_COLUMNS,
    SCORE_COLUMNS,
    InvalidDatasetError,
)

log = logging.getLogger(__name__)

__all__ = ["JoinCounts", "JoinedPredictions", "join_predictions"]

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class JoinCounts:
    """What the join kept and left out (row counts)."""

    joined: int
    only_in_truth: int
    only_in_predictions: int
    truth_without_id: int
    predictions_without_id: int

    def issues(self) -> dict[str, int]:
        """Data notes (reason → rows) for what was left out; empty when every row was joined."""
        reasons = {
            "in the dataset but not in the prediction file (left out: no prediction)": self.only_in_truth,
            "in the prediction file but not in the dataset (left out: no truth)": self.only_in_predictions,
            "of the dataset have no id (left out of the join)": self.truth_without_id,
            "of the prediction file have no id (left out of the join)": self.predictions_without_id,
        }
        return {reason: count for reason, count in reasons.items() if count}


def _id_column(frame: pd.DataFrame, id_column: str, side: str, candidates: Sequence[str]) -> str:
    if id_column:
        if id_column not in frame.columns:
            raise InvalidDatasetError(f"the {side} has no column {id_column!r} (id_column)")
        return id_column
    found = next((c for c in candidates if c in frame.columns), None)
    if found is None:
        raise InvalidDatasetError(
            f"the {side} has no id column: expected {' or '.join(map(repr, candidates))}, "
            "or name one with id_column"
        )
    return found


def _ids(frame: pd.DataFrame, column: str, side: str) -> pd.Series:
    """The ids as text (missing ones as None); a duplicate id is an error naming its rows."""
    ids = frame[column].astype("string").astype(object).where(frame[column].notna(), None)
    ids = ids.where(ids != "", None)
    present = ids.dropna()
    duplicated = present[present.duplicated(keep=False)]
    if len(duplicated):
        rows = ", ".join(str(int(i) + 2) for i in duplicated.index[:EXAMPLE_ROWS])  # +2: header, 1-based
        raise InvalidDatasetError(
            f"the {side} repeats ids in column {column!r}: {len(duplicated)} rows share an id (CSV lines "
            f"{rows}{', ...' if len(duplicated) > EXAMPLE_ROWS else ''}); a join would count those turns "
            "several times"
        )
    return ids


@dataclass(frozen=True)
class JoinedPredictions:
    """The joined frame, the name of its prediction column, and the counts of the join."""

    frame: pd.DataFrame
    pred_column: str
    counts: JoinCounts


def join_predictions(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    true_label_column: str,
    pred_label_column: str,
    id_column: str = "",
    id_candidates: Sequence[str] = ID_COLUMNS,
) -> JoinedPredictions:
    """The truth frame restricted to the ids both files have, its prediction taken from ``predictions``.

    The joined frame keeps every truth column except the prediction and confidence columns, which come
    from the prediction file, in the truth file's row order. When both files name their label column alike
    (``intent`` and ``intent``), the prediction is the column ``<name> (prediction file)``. Without
    ``id_column`` each side's id is the first of ``id_candidates`` it has.
    """
    truth = truth.reset_index(drop=True)
    predictions = predictions.reset_index(drop=True)
    truth_id = _id_column(truth, id_column, "dataset", id_candidates)
    pred_id = _id_column(predictions, id_column, "prediction file", id_candidates)
    if pred_label_column not in predictions.columns:
        raise InvalidDatasetError(
            f"the prediction file has no column {pred_label_column!r} (pred_label_column: the predicted "
            "label of each id)"
        )
    truth_ids = _ids(truth, truth_id, "dataset")
    pred_ids = _ids(predictions, pred_id, "prediction file")

    carried = [pred_label_column] + [
        c
        for c in (*SCORE_COLUMNS, *PREDICTION_JSON_COLUMNS)
        if c in predictions.columns and c != pred_label_column
    ]
    pred_column = pred_label_column
    if pred_label_column == true_label_column:
        pred_column = f"{pred_label_column} (prediction file)"
    replaced = [pred_column, *SCORE_COLUMNS, *PREDICTION_JSON_COLUMNS]
    left = truth.drop(
        columns=[c for c in replaced if c in truth.columns and c not in (truth_id, true_label_column)]
    )
    left = left.assign(_join_id=truth_ids)
    right = predictions[carried].rename(columns={pred_label_column: pred_column})
    right = right.assign(_join_id=pred_ids).dropna(subset=["_join_id"])
    joined = left.dropna(subset=["_join_id"]).merge(right, on="_join_id", how="inner", validate="one_to_one")
    joined = joined.drop(columns="_join_id").reset_index(drop=True)

    known_truth, known_pred = set(truth_ids.dropna()), set(pred_ids.dropna())
    counts = JoinCounts(
        joined=len(joined),
        only_in_truth=len(known_truth - known_pred),
        only_in_predictions=len(known_pred - known_truth),
        truth_without_id=int(truth_ids.isna().sum()),
        predictions_without_id=int(pred_ids.isna().sum()),
    )
    if not len(joined):
        raise InvalidDatasetError(
            f"the dataset ({truth_id!r}, {len(known_truth)} ids) and the prediction file ({pred_id!r}, "
            f"{len(known_pred)} ids) share no id: nothing to evaluate (is id_column right?)"
        )
    for reason, count in counts.issues().items():
        log.warning("%d rows %s", count, reason)
    return JoinedPredictions(frame=joined, pred_column=pred_column, counts=counts)
