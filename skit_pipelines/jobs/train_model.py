"""Train an intent classifier from artifact URIs: the work of the ``train_intent_model`` step.

Why a job: :mod:`skit_pipelines.models.train` trains on frames in memory; this module fetches the
datasets from the artifact store, saves and uploads the model archive, and returns its URI and a
Slack-ready message. Tests call :func:`train_job` directly; the component only forwards parameters.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skit_pipelines import storage
from skit_pipelines.jobs.model_archive import upload_model
from skit_pipelines.jobs.model_inputs import apply_storage_options, read_dataset
from skit_pipelines.models.archive import save_model
from skit_pipelines.models.checkpoint import require_ml_extra
from skit_pipelines.models.train import TrainConfig, train_intent_classifier
from skit_pipelines.readpolicy import check_readable

log = logging.getLogger(__name__)

__all__ = ["TrainJobResult", "train_job"]


def check_checkpoint_readable(model_name: str) -> None:
    """A local checkpoint folder is an input like any other: the read policy applies (hub names do not).

    Why here and not where the checkpoint is loaded: the policy is I/O configuration, read at the edge;
    :mod:`skit_pipelines.models.checkpoint` only loads what it is given.
    """
    if model_name and model_name.strip() and Path(model_name).expanduser().is_dir():
        check_readable(model_name, parameter="model_name")


@dataclass
class TrainJobResult:
    """What training produced: the archive URI, the training summary and the message."""

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
    check_checkpoint_readable(model_name)
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
