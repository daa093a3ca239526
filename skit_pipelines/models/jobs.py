"""Train and predict from artifact URIs: the work of the ``train_intent_model`` and ``predict_intents`` steps.

Plain Python (no kfp): fetch the dataset from the artifact store, run :mod:`~skit_pipelines.models.train` or
:mod:`~skit_pipelines.models.predict`, store the model archive or the predictions CSV, and return the URIs
and a Slack-ready message. Tests call these functions directly; components only forward parameters.

``storage_options`` is kept from the reference (spec 2.5): JSON ``{"type": "s3", "bucket": "b"}`` makes a
path without a scheme a key in that bucket (``dataset_path="data/x.csv"`` → ``s3://b/data/x.csv``).
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
from skit_pipelines.models.archive import open_model, save_model, sha256_of, upload_model
from skit_pipelines.models.checkpoint import require_ml_extra
from skit_pipelines.models.predict import predict_intents
from skit_pipelines.models.train import TrainConfig, TrainingDataError, train_intent_classifier

log = logging.getLogger(__name__)


def apply_storage_options(path: str, storage_options: str, parameter: str) -> str:
    """``path`` as a URI: bucket keys resolved with the reference's ``storage_options`` JSON."""
    if not storage_options or not storage_options.strip() or not path or "://" in path:
        return path
    try:
        options = json.loads(storage_options)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'storage_options must be JSON such as {{"type": "s3", "bucket": "b"}}, '
            f"got {storage_options!r} ({exc.msg})"
        ) from exc
    if not isinstance(options, dict):
        raise ValueError(f"storage_options must be a JSON object, got {storage_options!r}")
    kind = str(options.get("type", "s3")).lower()
    bucket = str(options.get("bucket", "")).strip()
    if kind != "s3" or not bucket:
        raise ValueError(f"storage_options {storage_options!r}: expected type 's3' and a bucket")
    resolved = f"s3://{bucket}/{path.lstrip('/')}"
    log.info("%s %r resolved with storage_options to %s", parameter, path, resolved)
    return resolved


def read_dataset(uri: str, workdir: Path, what: str = "dataset") -> tuple[pd.DataFrame, str]:
    """The CSV at ``uri`` (every cell text, empty cells missing) and its sha256."""
    from skit_pipelines.metrics.tagged import InvalidDatasetError, read_tagged_csv

    if not uri or not uri.strip():
        raise ValueError(f"{what} path is empty: give the URI of a tagged CSV")
    local = storage.download_file(uri, workdir / f"{what.replace(' ', '-')}.csv")
    try:
        frame = read_tagged_csv(local)
    except InvalidDatasetError as exc:
        raise TrainingDataError(f"{what} {uri}: {exc}") from exc
    return frame, sha256_of(local)


@dataclass
class TrainJobResult:
    model_uri: str
    labels: int
    train_rows: int
    validation_rows: int
    epochs_run: int
    best_epoch: int
    final_train_loss: float
    device: str
    message: str
    download_command: str


def train_job(
    *,
    dataset_path: str,
    model_path: str = "",
    version: str = "",
    org_id: str = "",
    use_state: bool = False,
    model_name: str = "xlm-roberta-base",
    num_train_epochs: int = 10,
    learning_rate: float = 4e-5,
    max_seq_length: int = 128,
    batch_size: int = 16,
    seed: int = 42,
    use_early_stopping: bool = False,
    early_stopping_patience: int = 3,
    early_stopping_delta: float = 0.0,
    validation_split: float = 0.0,
    validation_dataset_path: str = "",
    freeze_embeddings: bool = False,
    storage_options: str = "",
    model_type: str = "xlmroberta",
) -> TrainJobResult:
    """Train on the tagged CSV at ``dataset_path``; store the archive at ``model_path`` or a generated key.

    ``model_type`` is accepted for compatibility with the reference and not used: the message and the
    metadata name the architecture of the checkpoint actually loaded.
    """
    require_ml_extra("training")
    dataset_uri = apply_storage_options(dataset_path, storage_options, "dataset_path")
    validation_uri = apply_storage_options(
        validation_dataset_path, storage_options, "validation_dataset_path"
    )
    output_path = apply_storage_options(model_path, storage_options, "model_path")
    config = TrainConfig(
        model_name=model_name,
        num_train_epochs=int(num_train_epochs),
        learning_rate=float(learning_rate),
        max_seq_length=int(max_seq_length),
        batch_size=int(batch_size),
        seed=int(seed),
        use_state=use_state,
        use_early_stopping=use_early_stopping,
        early_stopping_patience=int(early_stopping_patience),
        early_stopping_delta=float(early_stopping_delta),
        validation_split=float(validation_split),
        freeze_embeddings=freeze_embeddings,
    )
    config.validate(has_validation_frame=bool(validation_uri))  # before any download
    with tempfile.TemporaryDirectory(prefix="skit-train-") as scratch:
        work = Path(scratch)
        frame, digest = read_dataset(dataset_uri, work)
        dataset_meta: dict[str, Any] = {"uri": dataset_uri, "sha256": digest, "rows": len(frame)}
        validation_frame = None
        extra: dict[str, Any] = {"dataset": dataset_meta, "version": version, "org_id": org_id}
        if validation_uri:
            validation_frame, val_digest = read_dataset(validation_uri, work, "validation dataset")
            extra["validation_dataset"] = {
                "uri": validation_uri,
                "sha256": val_digest,
                "rows": len(validation_frame),
            }
        trained = train_intent_classifier(frame, config, validation_frame=validation_frame)
        folder = save_model(trained, work / "model", extra_metadata=extra)
        reference = "-".join(part for part in (org_id, version) if part) or "intent-model"
        model_uri = upload_model(folder, reference=reference, output_path=output_path)
    last = trained.history[-1]
    skipped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in trained.skipped.items() if n)
    model = trained.checkpoint.model
    lines = [
        f"Trained {Path(model_name).name or model_name} ({type(model).__name__}, model type "
        f"{getattr(model.config, 'model_type', '') or 'unknown'}) on {trained.train_rows:,} rows, "
        f"{len(trained.labels)} intents, {len(trained.history)} epochs on {trained.device} "
        f"(final train loss {last.train_loss:.4f}"
        + (f", best epoch {trained.best_epoch} by validation loss" if trained.best_epoch else "")
        + ").",
    ]
    if skipped:
        lines.append(f"Rows left out: {skipped}.")
    lines.append("Download binaries:")
    return TrainJobResult(
        model_uri=model_uri,
        labels=len(trained.labels),
        train_rows=trained.train_rows,
        validation_rows=trained.validation_rows,
        epochs_run=len(trained.history),
        best_epoch=trained.best_epoch or 0,
        final_train_loss=last.train_loss,
        device=trained.device,
        message="\n".join(lines),
        download_command=storage.download_command(model_uri),
    )


@dataclass
class PredictJobResult:
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
