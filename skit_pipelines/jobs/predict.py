"""Predict intents from artifact URIs: the work of the ``predict_intents`` step.

Why a job: :mod:`skit_pipelines.models.predict` predicts a frame with an opened archive; this module
fetches the archive and the dataset, stores the predictions CSV, and returns its URI and a message.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from skit_pipelines import storage
from skit_pipelines.jobs.model_archive import open_model
from skit_pipelines.jobs.model_inputs import read_dataset
from skit_pipelines.metrics.intent.oos import OutOfScopeSpec
from skit_pipelines.models.checkpoint import require_ml_extra
from skit_pipelines.models.predict import (
    CONFIDENCE_COLUMN,
    MODEL_PREDICTION_COLUMN,
    PREDICTION_COLUMN,
    Predictions,
    predict_intents,
)
from skit_pipelines.parameters import parse_optional_bool, parse_optional_fraction

log = logging.getLogger(__name__)

__all__ = ["PredictJobResult", "predict_job"]


@dataclass
class PredictJobResult:
    """What prediction produced: the predictions URI, row counts and the message."""

    predictions_uri: str
    rows: int
    empty_text_rows: int
    unseen_truth_rows: int
    device: str
    message: str
    out_of_scope: str = ""
    """JSON :class:`~skit_pipelines.metrics.intent.oos.OutOfScopeSpec`: how out of scope was decided."""


def predict_job(
    *,
    data_path: str,
    model_path: str,
    org_id: str = "",
    use_state: bool | str | None = None,
    batch_size: int = 32,
    top_k: int = 3,
    true_label_column: str = "intent_y",
    confidence_threshold: float | str | None = None,
    fallback_intent: str = "",
) -> PredictJobResult:
    """Predict every row of the CSV at ``data_path`` with the archive at ``model_path``; store the CSV.

    The features follow the archive's ``use_state`` (how the model was trained); a different ``use_state``
    argument is reported and not applied, because features unlike training make every prediction wrong.
    Empty (None) ``use_state``, ``confidence_threshold`` and ``fallback_intent`` are the archive's.
    """
    require_ml_extra("prediction")
    wanted_state = parse_optional_bool(use_state, "use_state")
    threshold = parse_optional_fraction(confidence_threshold, "confidence_threshold")
    if not model_path or not model_path.strip():
        raise ValueError("model_path is empty: give the URI of a model archive written by training")
    with tempfile.TemporaryDirectory(prefix="skit-predict-") as scratch:
        work = Path(scratch)
        archive = open_model(model_path, work / "model")
        notes = []
        if wanted_state is not None and wanted_state != archive.use_state:
            notes.append(
                f"use_state={wanted_state} ignored: the model was trained with use_state={archive.use_state}"
            )
            log.warning(notes[-1])
        frame, _digest = read_dataset(data_path, work)
        result = predict_intents(
            frame,
            archive,
            batch_size=int(batch_size),
            top_k=int(top_k),
            true_label_column=true_label_column,
            confidence_threshold=threshold,
            fallback_intent=fallback_intent,
        )
        reference = org_id or "intent-predictions"
        uri = storage.upload_bytes(
            result.frame.to_csv(index=False).encode("utf-8"),
            reference=reference,
            file_type="xlmr-predictions",
            ext=".csv",
        )
    if result.empty_text_rows:
        notes.append(f"{result.empty_text_rows} rows had no ASR text")
    unseen = sum(result.unseen_truth_labels.values())
    if unseen:
        notes.append(
            f"{unseen} rows have true intents the model never saw in training "
            f"({', '.join(sorted(result.unseen_truth_labels)[:10])})"
        )
    message = (
        f"Predicted {result.rows:,} rows on {result.device} ({result.rows_per_second:.0f} rows/s). "
        + _threshold_sentence(result)
        + (" " + "; ".join(notes) + "." if notes else "")
    )
    spec = OutOfScopeSpec(
        fallback_intent=result.fallback_intent,
        confidence_threshold=result.confidence_threshold,
        threshold_source=result.threshold_source,
        known_labels=tuple(archive.labels),
        model_prediction_column=MODEL_PREDICTION_COLUMN,
        confidence_column=CONFIDENCE_COLUMN,
    )
    return PredictJobResult(
        predictions_uri=uri,
        rows=result.rows,
        empty_text_rows=result.empty_text_rows,
        unseen_truth_rows=unseen,
        device=result.device,
        message=message,
        out_of_scope=spec.to_json(),
    )


def _threshold_sentence(result: Predictions) -> str:
    """What the confidence threshold did, in words (where it came from, how many rows it sent away)."""
    if result.confidence_threshold is None:
        return (
            "No confidence threshold (none given, none stored in the model): "
            f"{PREDICTION_COLUMN} is always the model's best intent."
        )
    origin = "given" if result.threshold_source == "argument" else "recommended by training"
    return (
        f"Confidence threshold {result.confidence_threshold:g} ({origin}): {result.fallback_rows:,} rows "
        f"below it predicted {result.fallback_intent!r}."
    )
