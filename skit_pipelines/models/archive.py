"""Model archives: a trained intent classifier as one folder or ``.tar.gz``, written and read back locally.

Layout (one folder, ``model/`` at the top of the tarball)::

    model/config.json, model.safetensors   save_pretrained of the classifier (label names in config too)
    model/tokenizer.json, tokenizer_config.json, ...   save_pretrained of its tokenizer
    model/labels.json     {"labels": [...]} in class-index order: plain JSON, never a pickle
    model/metadata.json   how it was made: dataset sha256, parameters, per-epoch loss and validation
                          metrics, label counts, skipped rows, library versions, device, timings, and
                          ``out_of_scope``: the fallback intent and the recommended confidence threshold

Why JSON labels: the reference pickled a scikit-learn LabelEncoder, which ties an archive to one
scikit-learn version and executes code on load. Why search on extraction: the reference expected
``data/`` at the tarball root and broke when a directory was tarred with another path (spec 14 item 17);
we accept any tarball (or folder) with exactly one folder holding ``labels.json`` and ``config.json``.
Extraction uses tarfile's ``data`` filter, so a hostile archive cannot write outside the scratch folder.
Uploading to and fetching from the artifact store is :mod:`skit_pipelines.jobs.model_archive`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import tarfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.localfiles import atomic_open

log = logging.getLogger(__name__)

LABELS_FILE = "labels.json"
METADATA_FILE = "metadata.json"
FILE_TYPE = "intent_classifier_xlmr"
ARCHIVE_FORMAT = 1
DEFAULT_FALLBACK_INTENT = "_oos_"
_LIBRARIES = (
    "skit-pipelines",
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "numpy",
    "pandas",
    "scikit-learn",
)


class ArchiveError(SkitPipelinesError, ValueError):
    """A model archive is missing or malformed; the message names the archive and what is wrong."""


@dataclass
class ModelArchive:
    """An extracted archive: the folder to load with ``from_pretrained``, its labels and metadata."""

    path: Path
    labels: list[str]
    metadata: dict[str, Any]

    @property
    def use_state(self) -> bool:
        return bool(self.metadata.get("use_state", False))

    @property
    def fallback_intent(self) -> str:
        """The intent a prediction below the threshold becomes (training's choice, else ``_oos_``)."""
        stored = self.metadata.get("out_of_scope", {}).get("fallback_intent")
        return str(stored or self.metadata.get("fallback_intent") or DEFAULT_FALLBACK_INTENT)

    @property
    def confidence_threshold(self) -> float | None:
        """The threshold training recommended on validation data; None where none was (or could be) chosen."""
        stored = self.metadata.get("out_of_scope", {}).get("confidence_threshold")
        return None if stored is None else float(stored)


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _write_json(path: Path, payload: Any) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False, default=str)


def save_model(
    trained: Any, directory: str | os.PathLike[str], extra_metadata: dict[str, Any] | None = None
) -> Path:
    """Write a :class:`~skit_pipelines.models.train.TrainedModel` as an archive folder; return the folder."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no per-shard bars in step logs
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    trained.checkpoint.model.save_pretrained(folder)
    trained.checkpoint.tokenizer.save_pretrained(folder)
    _write_json(folder / LABELS_FILE, {"labels": list(trained.labels)})
    meta = {
        "format": ARCHIVE_FORMAT,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **trained.metadata(),
        "libraries": library_versions(),
        **(extra_metadata or {}),
    }
    _write_json(folder / METADATA_FILE, meta)
    return folder


def pack_archive(folder: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Tar.gz the archive ``folder`` as ``model/`` into ``destination``; the folder must hold labels.json."""
    folder = Path(folder)
    if not (folder / LABELS_FILE).is_file():
        raise ArchiveError(f"{folder} has no {LABELS_FILE}: not a model archive folder")
    # Level 1: weights hardly compress, and level 9 costs minutes on a 1 GB XLM-R archive.
    with tarfile.open(destination, "w:gz", compresslevel=1) as tar:
        tar.add(folder, arcname="model")
    return Path(destination)


def extract_archive(fetched: Path, work: Path, source: str) -> Path:
    """The folder to search for the model: ``fetched`` itself, or where its tar(.gz) was extracted.

    tarfile's ``data`` filter keeps a hostile archive from writing outside ``work``; the tarball is removed
    once extracted (a 1 GB archive would otherwise sit twice on disk).
    """
    if fetched.is_dir():
        return fetched
    if not tarfile.is_tarfile(fetched):
        raise ArchiveError(f"model archive {source} is neither a tar(.gz) file nor a folder")
    root = work / "extracted"
    root.mkdir(exist_ok=True)
    with tarfile.open(fetched) as tar:
        tar.extractall(root, filter="data")
    fetched.unlink()
    return root


def _find_model_folder(root: Path, source: str) -> Path:
    folders = sorted({p.parent for p in root.rglob(LABELS_FILE)})
    if not folders:
        legacy = ""
        if any(root.rglob("labelencoder.pkl")):
            legacy = (
                " (it holds labelencoder.pkl: a reference simpletransformers archive, whose pickled "
                "labels we do not load; retrain with train_voicebot_intent_model_xlmr)"
            )
        raise ArchiveError(f"model archive {source} has no {LABELS_FILE}{legacy}")
    if len(folders) > 1:
        raise ArchiveError(
            f"model archive {source} holds {len(folders)} folders with {LABELS_FILE}: "
            f"{', '.join(str(f.relative_to(root)) for f in folders[:5])}; expected one model"
        )
    folder = folders[0]
    if not (folder / "config.json").is_file():
        raise ArchiveError(
            f"model archive {source}: {folder.relative_to(root)} has {LABELS_FILE} but no "
            "config.json (save_pretrained output)"
        )
    return folder


def _read_labels(folder: Path, source: str) -> list[str]:
    try:
        payload = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchiveError(f"model archive {source}: {LABELS_FILE} is not valid JSON ({exc})") from exc
    labels = payload.get("labels") if isinstance(payload, dict) else payload
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise ArchiveError(
            f'model archive {source}: {LABELS_FILE} must hold {{"labels": [two or more '
            f"strings]}}, got a {type(labels).__name__}"
            + (f" of {len(labels)}" if isinstance(labels, list) else "")
        )
    return labels


def read_archive(root: Path, source: str) -> ModelArchive:
    """The one model folder under ``root`` (a folder or an extracted tarball), its labels and metadata."""
    folder = _find_model_folder(root, source)
    labels = _read_labels(folder, source)
    meta_path = folder / METADATA_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    log.info(
        "opened model archive %s: %d labels, trained from %s",
        source,
        len(labels),
        meta.get("model_name", "an unknown checkpoint"),
    )
    return ModelArchive(path=folder, labels=labels, metadata=meta)
