"""Component ``entity_dataset_source``: where the tagged entity dataset of an evaluation comes from."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def entity_dataset_source(
    dataset_path: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
) -> NamedTuple("EntityDatasetSource", [("dataset_uri", str), ("note", str)]):
    """Resolve ``dataset_path`` (checked to exist); job/project ids alone fail with a clear error until the
    annotation download is wired in. A separate step so that the download can replace it later."""
    import collections
    import logging

    from skit_pipelines.metrics.entity_eval import resolve_dataset_source

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uri, note = resolve_dataset_source(
        dataset_path=dataset_path, job_id=job_id, labelstudio_project_id=labelstudio_project_id,
        start_date=start_date, end_date=end_date, start_date_offset=start_date_offset,
        end_date_offset=end_date_offset,
    )
    if note:
        print(note)
    return collections.namedtuple("EntityDatasetSource", ["dataset_uri", "note"])(uri, note)
