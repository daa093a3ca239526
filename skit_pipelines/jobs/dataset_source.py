"""Where an evaluation's tagged dataset comes from: a ``dataset_path`` already downloaded, or Label Studio.

Shared by ``irr_from_tog`` and ``eer_from_tog``. The download itself is the annotation module's
``fetch_tagged_dataset`` (plus ``build_entity_dataset`` for entities); this module only checks the choice,
so that each branch of the pipelines fails first and clearly. A job because it asks the artifact store
whether the dataset exists:

- ``dataset_path`` given: it must exist; it wins over ``job_id`` / ``labelstudio_project_id``, and the date
  parameters (which select what to download) are ignored, which the note says instead of silently;
- otherwise ``job_id`` and/or ``labelstudio_project_id`` name the Label Studio projects (comma lists,
  merged: ``job_id`` is the reference's alias); neither of the three is one error that names all of them.
"""

from __future__ import annotations

from skit_pipelines import storage
from skit_pipelines.parameters import InvalidParameterError, parse_project_ids

__all__ = ["NO_DATASET", "DatasetSourceError", "download_project_ids", "given_dataset"]

NO_DATASET = (
    "no dataset to evaluate: give dataset_path (a tagged dataset already downloaded: local path or artifact "
    "URI), or job_id / labelstudio_project_id (Label Studio project ids) to download one"
)


class DatasetSourceError(InvalidParameterError):
    """Neither a dataset nor a project to download it from was given (``parameter`` is ``dataset_path``)."""

    def __init__(self, message: str = NO_DATASET) -> None:
        super().__init__("dataset_path", message)


def given_dataset(
    dataset_path: str,
    *,
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
) -> tuple[str, str]:
    """``(uri, note)`` of a given dataset: the URI checked to exist; the note names the date parameters
    that were set but do not apply (empty when none was)."""
    uri = (dataset_path or "").strip()
    if not uri:
        raise DatasetSourceError()
    if not storage.exists(uri):
        raise storage.ArtifactNotFoundError(
            uri, "dataset_path does not exist: expected a tagged dataset (local path, file:// or s3:// URI)"
        )
    dates = (
        ("start_date", start_date),
        ("end_date", end_date),
        ("start_date_offset", start_date_offset),
        ("end_date_offset", end_date_offset),
    )
    ignored = [name for name, value in dates if value]
    note = (
        f"{', '.join(ignored)} ignored: the date filters select what to download, and dataset_path is "
        "already a downloaded dataset"
        if ignored
        else ""
    )
    return uri, note


def download_project_ids(*, job_id: str = "", labelstudio_project_id: str = "") -> list[int]:
    """The Label Studio projects to download (``labelstudio_project_id`` first, then ``job_id``); an error
    when there is none, or when an id is not a positive integer (naming the parameter)."""
    ids = parse_project_ids(labelstudio_project_id, parameter="labelstudio_project_id")
    ids += [i for i in parse_project_ids(job_id, parameter="job_id") if i not in ids]
    if not ids:
        raise DatasetSourceError()
    return ids
