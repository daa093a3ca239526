"""Load a transformers checkpoint for sequence classification, offline by default, and pick a device.

Why offline by default: pipelines run on machines that often cannot reach a model hub, and a download in
the middle of a training step is a slow, unreproducible surprise. ``model_name`` may be a local directory
(anything written by ``save_pretrained``: config.json, weights, tokenizer files) or a hub name that is
already in the Hugging Face cache. Downloads happen only when the environment says so explicitly with
``HF_HUB_OFFLINE=0``. A name that cannot be loaded gets an error that says how to point ``model_name`` at
a local checkpoint instead of transformers' generic connection message.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skit_pipelines.errors import SkitPipelinesError

log = logging.getLogger(__name__)


class ModelLoadError(SkitPipelinesError, ValueError):
    """``model_name`` could not be loaded; the message says why and how to use a local checkpoint."""


ML_EXTRA_INSTALL = "pip install 'skit-pipelines[ml]' (or make install-dev)"


class MissingMLExtraError(SkitPipelinesError, ImportError):
    """torch or transformers is not installed: the ``ml`` extra is missing. The message says how to add it."""


def require_ml_extra(task: str) -> None:
    """Fail with an install hint when the ``ml`` extra is missing, before any download or data work.

    Why: torch and transformers are optional (heavy) dependencies, imported lazily where a model is used;
    without this check a user who installed the base package gets a bare ``No module named 'torch'`` from
    deep inside a training step.
    """
    for module in ("torch", "transformers"):
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingMLExtraError(
                f"{task} needs the ml extra ({module} is not installed: {exc}): {ML_EXTRA_INSTALL}",
                name=module,
            ) from exc


@dataclass
class Checkpoint:
    """A tokenizer and a classification model ready to train or predict."""

    tokenizer: Any
    model: Any
    name: str


def downloads_allowed() -> bool:
    """True only when ``HF_HUB_OFFLINE`` is explicitly ``0``/``false`` (read at call time, not import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"0", "false", "no", "off"}


def pick_device(prefer: str = "auto") -> str:
    """``cuda`` when a GPU is visible (or ``prefer`` names one), else ``cpu``."""
    import torch

    if prefer and prefer != "auto":
        if prefer.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} requested but torch sees no CUDA GPU")
        return prefer
    return "cuda" if torch.cuda.is_available() else "cpu"


def _quiet_transformers() -> None:
    """No per-shard progress bars in step logs (they are noise next to our own epoch lines)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _explain(model_name: str, exc: Exception) -> ModelLoadError:
    cause = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    path = Path(model_name).expanduser()
    if path.is_dir():
        present = ", ".join(sorted(p.name for p in path.iterdir())[:15]) or "(empty)"
        return ModelLoadError(
            f"model_name {model_name!r} is a directory but not a loadable transformers checkpoint ({cause}); "
            f"it holds: {present}. Expected the files save_pretrained writes: config.json, the weights "
            "(model.safetensors or pytorch_model.bin) and the tokenizer files (tokenizer.json or "
            "tokenizer_config.json with its vocabulary)."
        )
    return ModelLoadError(
        f"model_name {model_name!r} cannot be loaded offline: it is not a local directory and not in the "
        "Hugging Face cache. Point model_name at a local checkpoint directory, i.e. one written by "
        "save_pretrained (for example `huggingface-cli download xlm-roberta-base --local-dir /models/xlmr` "
        "on a machine with network, then copy /models/xlmr to where the step runs), or pre-fill the cache "
        "(HF_HOME) and keep the name. HF_HUB_OFFLINE=0 allows downloads from the hub. "
        f"({cause})"
    )


def _source(model_name: str) -> str:
    if not model_name or not str(model_name).strip():
        raise ModelLoadError("model_name is empty: give a local checkpoint directory or a cached hub name")
    path = Path(model_name).expanduser()
    if path.is_dir():  # the read policy was applied by the job (jobs.train_model), where inputs are read
        return str(path)
    return model_name


def load_tokenizer(model_name: str) -> Any:
    """The tokenizer of ``model_name`` (offline unless ``HF_HUB_OFFLINE=0``)."""
    from transformers import AutoTokenizer

    _quiet_transformers()
    try:
        return AutoTokenizer.from_pretrained(_source(model_name), local_files_only=not downloads_allowed())
    except (OSError, ValueError, KeyError) as exc:
        raise _explain(model_name, exc) from exc


def load_classifier(model_name: str, labels: list[str] | None = None) -> Any:
    """``AutoModelForSequenceClassification`` of ``model_name``.

    With ``labels`` the classification head is sized for them (a head of another size in the checkpoint is
    replaced, which is what fine-tuning a previously trained intent model needs) and the label names are
    stored in the model config. Without ``labels`` the checkpoint's own head is kept (prediction).
    """
    from transformers import AutoModelForSequenceClassification

    _quiet_transformers()
    kwargs: dict[str, Any] = {"local_files_only": not downloads_allowed()}
    if labels is not None:
        kwargs.update(
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            ignore_mismatched_sizes=True,
        )
    try:
        model = AutoModelForSequenceClassification.from_pretrained(_source(model_name), **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise _explain(model_name, exc) from exc
    log.info(
        "loaded %s (%s, %s parameters)",
        model_name,
        type(model).__name__,
        f"{sum(p.numel() for p in model.parameters()):,}",
    )
    return model


def load_checkpoint(model_name: str, labels: list[str] | None = None) -> Checkpoint:
    """Tokenizer and classification model of ``model_name`` (see :func:`load_classifier`)."""
    tokenizer = load_tokenizer(model_name)
    return Checkpoint(tokenizer=tokenizer, model=load_classifier(model_name, labels), name=model_name)
