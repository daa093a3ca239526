"""The inputs of the model steps: dataset URIs (with the reference's ``storage_options``) read into frames.

Why apart: training, prediction, the pipelines' checks and the API's location checks all resolve
``storage_options`` the same way. The reference's JSON ``{"type": "s3", "bucket": "b"}`` (spec 2.5) makes a
path without a scheme a key in that bucket (``dataset_path="data/x.csv"`` → ``s3://b/data/x.csv``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from skit_pipelines import storage
from skit_pipelines.metrics.tagged import InvalidDatasetError, read_tagged_csv
from skit_pipelines.models.archive import sha256_of
from skit_pipelines.models.train import TrainingDataError

log = logging.getLogger(__name__)

__all__ = ["apply_storage_options", "read_dataset"]


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
    if not uri or not uri.strip():
        raise ValueError(f"{what} path is empty: give the URI of a tagged CSV")
    local = storage.download_file(uri, workdir / f"{what.replace(' ', '-')}.csv")
    try:
        frame = read_tagged_csv(local)
    except InvalidDatasetError as exc:
        raise TrainingDataError(f"{what} {uri}: {exc}") from exc
    return frame, sha256_of(local)
