"""The categorical entity report: per ``type/value`` precision, recall and F1 (eevee's categorical report).

Why: the first-entity report says how often a categorical entity (``product_kind``) is missed or has the
wrong value; it does not say *which* values are confused. The reference's metric library had a report for
that (a classification report over ``type/value`` strings) which its pipelines never produced (spec 5.2).

Rules:

- a *categorical* entity is one whose value is text and whose type is not a date/time or number type
  (``date``, ``time``, ``datetime``, ``number``, ``people``): ``{"type": "product_kind", "value":
  "credit_card"}`` or the legacy ``"product_kind/credit_card"``;
- each turn is one label per side: ``<type>/<value>`` of its **first** categorical entity, or ``_`` (no
  entity) when it has none; later categorical entities of the turn are not compared (as the reference
  compared only first entities);
- the report is sklearn's ``classification_report`` (``zero_division=0``) over those labels, with one row
  per ``type/value`` and the ``micro avg``, ``macro avg`` and ``weighted avg`` over them: the ``_`` row and
  its turns are left out of the averages (a turn without an entity on both sides is no success), but a
  value predicted for a turn without one still lowers that value's precision, and a missed value its
  recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from skit_pipelines.metrics.entity.values import DATE_TIME_TYPES, INTEGER_TYPES, ComparedEntity
from skit_pipelines.metrics.intent import scores as intents
from skit_pipelines.metrics.tags import MISSING_LABEL

__all__ = ["NO_ENTITY", "categorical_label", "categorical_report", "categorical_table"]

NO_ENTITY = MISSING_LABEL
_NOT_CATEGORICAL = DATE_TIME_TYPES | INTEGER_TYPES


def categorical_label(entities: Sequence[ComparedEntity]) -> str:
    """``<type>/<value>`` of the first categorical entity of a turn, or ``_`` when it has none."""
    for entity in entities:
        if entity.type not in _NOT_CATEGORICAL and isinstance(entity.value, str) and entity.value != "":
            return f"{entity.type}/{entity.value}"
    return NO_ENTITY


def categorical_report(
    truth: Sequence[Sequence[ComparedEntity]], pred: Sequence[Sequence[ComparedEntity]]
) -> dict[str, Any]:
    """The classification report over ``type/value`` labels (see the module docstring); ``{}`` when no
    turn has a categorical entity on either side (there is nothing to report)."""
    if len(truth) != len(pred):
        raise ValueError(f"truth has {len(truth)} turns but pred has {len(pred)}")
    if not truth:
        return {}
    y_true = [categorical_label(ents) for ents in truth]
    y_pred = [categorical_label(ents) for ents in pred]
    confusion = intents.confusion_counts(y_true, y_pred)
    labels = [label for label in confusion.labels if label != NO_ENTITY]
    if not labels:
        return {}
    return intents.classification_report(confusion, labels=labels, micro_avg=True)


def categorical_table(report: dict[str, Any]) -> pd.DataFrame:
    """The report as the CSV table (one row per ``type/value``, then the averages); empty without rows."""
    if not report:
        return pd.DataFrame(columns=list(intents.METRIC_COLUMNS)).rename_axis("label")
    return intents.report_frame(report)
