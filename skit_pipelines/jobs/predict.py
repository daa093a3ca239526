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
from skit_pipelines.models.checkpoint import require_ml_extra
from skit_pipelines.models.predict import predict_intents

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


def predict_job(
    *,
    data_path: str,
    model_path: str,
    org_id: str = "",
    use_state: bool | None = None,
    batch_size: int = 32,
    top_k: int = 3,
    true_label_column: str = "intent_y",
) -> PredictJobResult:
    """Predict every row of the CSV at ``data_path`` with the archive at ``model_path``; store the CSV.

    The features follow the archive's ``use_state`` (how the model was trained); a different ``use_state``
    argument is reported and not applied, because features unlike training make every prediction wrong.
    """
    require_ml_extra("prediction")
    if not model_path or not model_path.strip():
        raise ValueError("model_path is empty: give the URI of a model archive written by training")
    with tempfile.TemporaryDirectory(prefix="skit-predict-") as scratch:
        work = Path(scratch)
        archive = open_model(model_path, work / "model")
        notes = []
        if use_state is not None and use_state != archive.use_state:
            notes.append(
                f"use_state={use_state} ignored: the model was trained with use_state={archive.use_state}"
            )
            log.warning(notes[-1])
        frame, _digest = read_dataset(data_path, work)
        result = predict_intents(
            frame, archive, batch_size=int(batch_size), top_k=int(top_k), true_label_column=true_label_column
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
    message = f"Predicted {result.rows:,} rows on {result.device} ({result.rows_per_second:.0f} rows/s)." + (
        " " + "; ".join(notes) + "." if notes else ""
    )
    return PredictJobResult(
        predictions_uri=uri,
        rows=result.rows,
        empty_text_rows=result.empty_text_rows,
        unseen_truth_rows=unseen,
        device=result.device,
        message=message,
    )
