"""Model archives in the artifact store: upload a trained model's folder, fetch and open an archive.

Why a job: :mod:`skit_pipelines.models.archive` writes, packs, extracts and reads archives on the local
disk; fetching them from (and storing them in) the artifact store is I/O, under the read policy.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from skit_pipelines import storage
from skit_pipelines.models.archive import (
    FILE_TYPE,
    ArchiveError,
    ModelArchive,
    extract_archive,
    pack_archive,
    read_archive,
)
from skit_pipelines.readpolicy import check_readable

log = logging.getLogger(__name__)

__all__ = ["open_model", "upload_model"]


def upload_model(directory: str | os.PathLike[str], *, reference: str, output_path: str = "") -> str:
    """Tar.gz the archive folder into the artifact store; ``output_path`` overrides the generated key."""
    with tempfile.TemporaryDirectory(prefix="skit-model-") as scratch:
        archive = pack_archive(directory, Path(scratch) / "model.tar.gz")
        return storage.upload_file(
            archive, reference=reference, file_type=FILE_TYPE, ext=".tar.gz", output_path=output_path
        )


def open_model(uri: str, workdir: str | os.PathLike[str]) -> ModelArchive:
    """Fetch and extract the archive ``uri`` (a .tar.gz/.tar artifact or a folder) into ``workdir``."""
    if not uri or not uri.strip():
        raise ArchiveError("model archive path is empty")
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    local = None if storage.is_remote(uri) else Path(uri.removeprefix("file://")).expanduser()
    if local is not None and local.is_dir():
        check_readable(uri)  # read in place, not through storage: same policy
        root = local
    else:
        try:
            fetched = storage.download_file(uri, work / "archive")
        except storage.ArtifactNotFoundError:
            if local is None and storage.exists(uri):  # an S3 prefix holding an archive folder
                fetched = storage.download_directory(uri, work / "archive-folder")
            else:
                raise
        root = extract_archive(fetched, work, uri)
    return read_archive(root, uri)
