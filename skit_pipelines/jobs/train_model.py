"""Train an intent classifier from artifact URIs: the work of the ``train_intent_model`` step.

Why a job: :mod:`skit_pipelines.models.train` trains on frames in memory; this module fetches the
datasets from the artifact store, saves and uploads the model archive, and returns its URI and a
Slack-ready message. The component builds one :class:`TrainRequest` from its parameters
(:func:`train_request_from`) and hands it over; tests build the same request.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from skit_pipelines import storage
from skit_pipelines.jobs.model_archive import upload_model
from skit_pipelines.jobs.model_inputs import apply_storage_options, read_dataset
from skit_pipelines.metrics.intent.oos import ThresholdChoice, choose_threshold
from skit_pipelines.models.archive import save_model
from skit_pipelines.models.checkpoint import require_ml_extra
from skit_pipelines.models.train import TrainConfig, TrainedModel, train_intent_classifier
from skit_pipelines.progress_lines import ProgressCallback, ProgressPrinter
from skit_pipelines.readpolicy import check_readable

log = logging.getLogger(__name__)

__all__ = ["TrainJobResult", "TrainRequest", "recommend_threshold", "train_job", "train_request_from"]


def check_checkpoint_readable(model_name: str) -> None:
    """A local checkpoint folder is an input like any other: the read policy applies (hub names do not).

    Why here and not where the checkpoint is loaded: the policy is I/O configuration, read at the edge;
    :mod:`skit_pipelines.models.checkpoint` only loads what it is given.
    """
    if model_name and model_name.strip() and Path(model_name).expanduser().is_dir():
        check_readable(model_name, parameter="model_name")


@dataclass(frozen=True)
class TrainRequest:
    """One training run: where the data comes from and the model goes, and how to train (``config``).

    Why one object: kfp needs the step's parameters spelled out in its signature; below the step they travel
    as this request, built once by :func:`train_request_from`, instead of being listed again at every call.
    """

    dataset_path: str
    config: TrainConfig = field(default_factory=TrainConfig)
    model_path: str = ""
    validation_dataset_path: str = ""
    storage_options: str = ""
    version: str = ""
    org_id: str = ""
    model_type: str = "xlmroberta"
    """Accepted for compatibility with the reference and not used (the checkpoint says what it is)."""


_CONFIG_FIELDS = {item.name: item for item in fields(TrainConfig)}
_REQUEST_FIELDS = {item.name for item in fields(TrainRequest)} - {"config"}


def train_request_from(parameters: Mapping[str, Any]) -> TrainRequest:
    """The train step's parameters (the names of its signature) as one :class:`TrainRequest`.

    Names of :class:`TrainConfig` go to ``config`` (numbers coerced to the field's type, as a YAML or CLI
    value may arrive as text); the rest are the request's own. An unknown name is a ``TypeError`` naming it,
    so a renamed parameter cannot be dropped silently.
    """
    unknown = sorted(set(parameters) - _REQUEST_FIELDS - set(_CONFIG_FIELDS))
    if unknown:
        raise TypeError(f"train_request_from: unknown parameter(s) {', '.join(unknown)}")
    config_values: dict[str, Any] = {}
    for name, value in parameters.items():
        if name in _CONFIG_FIELDS:
            default = _CONFIG_FIELDS[name].default
            coerce = type(default) if type(default) in (int, float) else None
            config_values[name] = coerce(value) if coerce is not None else value
    own = {name: value for name, value in parameters.items() if name in _REQUEST_FIELDS}
    return TrainRequest(config=TrainConfig(**config_values), **own)


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
    confidence_threshold: float | None = None


def recommend_threshold(trained: TrainedModel) -> ThresholdChoice:
    """The confidence threshold recommended on the validation rows (the archive stores it), or why none.

    Why here and not in training: the criterion is a metric (:mod:`skit_pipelines.metrics.intent.oos`),
    which the model code does not import; training leaves every validation row's scores behind for it.
    """
    scored = trained.validation_outputs
    if scored is None:
        return ThresholdChoice(
            None, reason="no validation data (validation_split or validation_dataset_path)"
        )
    return choose_threshold(
        scored.truth,
        scored.predicted,
        scored.confidence,
        fallback_intent=trained.config.fallback_intent,
        known_labels=trained.labels,
    )


def _threshold_line(choice: ThresholdChoice, fallback_intent: str) -> str:
    if choice.confidence_threshold is None:
        return f"No confidence threshold recommended: {choice.reason}."
    return (
        f"Recommended confidence threshold {choice.confidence_threshold:g} (below it: {fallback_intent!r}); "
        f"on {choice.in_scope_rows:,} in-scope and {choice.oos_rows:,} out-of-scope validation rows: "
        f"in-scope accuracy {choice.in_scope_accuracy:.3f}, OOS recall {choice.oos_recall:.3f}."
    )


def train_job(request: TrainRequest, on_progress: ProgressCallback | None = None) -> TrainJobResult:
    """Train on the tagged CSV of ``request``; keep the archive at its ``model_path`` (or a new key).

    Progress goes to ``on_progress``; by default it is printed as progress lines on stdout (the step's
    output), which the local runner turns into the CLI's progress bars and the API's ``progress`` field.
    """
    require_ml_extra("training")
    check_checkpoint_readable(request.config.model_name)
    options = request.storage_options
    dataset_uri = apply_storage_options(request.dataset_path, options, "dataset_path")
    validation_uri = apply_storage_options(
        request.validation_dataset_path, options, "validation_dataset_path"
    )
    output_path = apply_storage_options(request.model_path, options, "model_path")
    config = request.config
    config.validate(has_validation_frame=bool(validation_uri))  # before any download
    with tempfile.TemporaryDirectory(prefix="skit-train-") as scratch:
        work = Path(scratch)
        frame, digest = read_dataset(dataset_uri, work)
        dataset_meta: dict[str, Any] = {"uri": dataset_uri, "sha256": digest, "rows": len(frame)}
        validation_frame = None
        version, org_id = request.version, request.org_id
        extra: dict[str, Any] = {"dataset": dataset_meta, "version": version, "org_id": org_id}
        if validation_uri:
            validation_frame, val_digest = read_dataset(validation_uri, work, "validation dataset")
            extra["validation_dataset"] = {
                "uri": validation_uri,
                "sha256": val_digest,
                "rows": len(validation_frame),
            }
        trained = train_intent_classifier(
            frame,
            config,
            validation_frame=validation_frame,
            on_progress=on_progress or ProgressPrinter(sys.stdout),
        )
        choice = recommend_threshold(trained)
        extra["out_of_scope"] = choice.as_metadata(config.fallback_intent)
        log.info(_threshold_line(choice, config.fallback_intent))
        folder = save_model(trained, work / "model", extra_metadata=extra)
        reference = "-".join(part for part in (org_id, version) if part) or "intent-model"
        model_uri = upload_model(folder, reference=reference, output_path=output_path)
    last = trained.history[-1]
    skipped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in trained.skipped.items() if n)
    model = trained.checkpoint.model
    lines = [
        f"Trained {Path(config.model_name).name or config.model_name} ({type(model).__name__}, model type "
        f"{getattr(model.config, 'model_type', '') or 'unknown'}) on {trained.train_rows:,} rows, "
        f"{len(trained.labels)} intents, {len(trained.history)} epochs on {trained.device} "
        f"(final train loss {last.train_loss:.4f}"
        + (f", best epoch {trained.best_epoch} by validation loss" if trained.best_epoch else "")
        + ").",
    ]
    if skipped:
        lines.append(f"Rows left out: {skipped}.")
    lines.append(_threshold_line(choice, config.fallback_intent))
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
        confidence_threshold=choice.confidence_threshold,
    )
