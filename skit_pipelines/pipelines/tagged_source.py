"""The first steps of the evaluation pipelines: a given ``dataset_path``, or a download from Label Studio.

``irr_from_tog`` and ``eer_from_tog`` start alike, so one function adds these tasks to the pipeline being
built (kfp collects the tasks created while a pipeline function runs, wherever they are created), and both
download the same way: a new download option is wired once. Not a pipeline: nothing here is registered.

- ``dataset_path`` given → ``check-tagged-dataset`` (it exists; the date parameters are noted as ignored);
- otherwise → ``check-download-source`` (a project id is given: else one error naming all three
  parameters) → ``fetch-tagged-dataset`` (the annotation module's reusable component) → with ``entities``
  also ``build-entity-dataset`` (truth and predicted entities).

Either way the caller gets the dataset's URI and a note (the download's counts, or what was ignored) as
``dsl.OneOf`` channels, to pass to its evaluation step.
"""

from typing import Any, NamedTuple

from kfp import dsl

from skit_pipelines.components.build_entity_dataset import build_entity_dataset
from skit_pipelines.components.check_download_source import check_download_source
from skit_pipelines.components.check_tagged_dataset import check_tagged_dataset
from skit_pipelines.components.fetch_tagged_dataset import fetch_tagged_dataset


class TaggedSource(NamedTuple):
    """Channels of the dataset to evaluate: its artifact URI, and a note for the message."""

    dataset_uri: Any
    note: Any


def tagged_dataset_source(
    *,
    dataset_path: Any,
    org_id: Any,
    job_id: Any,
    labelstudio_project_id: Any,
    start_date: Any,
    end_date: Any,
    start_date_offset: Any,
    end_date_offset: Any,
    timezone: Any,
    entities: bool = False,
) -> TaggedSource:
    """Add the dataset steps to the pipeline being built (arguments are its parameter channels);
    ``entities`` (decided when compiling) adds the entity dataset step to the download."""
    with dsl.If(dataset_path != "", name="given-dataset"):
        given = check_tagged_dataset(
            dataset_path=dataset_path,
            start_date=start_date,
            end_date=end_date,
            start_date_offset=start_date_offset,
            end_date_offset=end_date_offset,
        ).set_caching_options(enable_caching=False)
    with dsl.Else(name="download-dataset"):
        source = check_download_source(
            job_id=job_id,
            labelstudio_project_id=labelstudio_project_id,
        ).set_caching_options(enable_caching=False)
        fetched = fetch_tagged_dataset(  # the checked ids: labelstudio_project_id and job_id merged
            org_id=org_id,
            labelstudio_project_id=source.output,
            start_date=start_date,
            end_date=end_date,
            start_date_offset=start_date_offset,
            end_date_offset=end_date_offset,
            timezone=timezone,
        ).set_caching_options(enable_caching=False)
        downloaded, note = fetched.outputs["dataset_uri"], fetched.outputs["message"]
        if entities:
            built = build_entity_dataset(
                dataset_uri=downloaded,
                org_id=org_id,
                job_id=job_id,
                labelstudio_project_id=labelstudio_project_id,
                message_prefix=note,
            ).set_caching_options(enable_caching=False)
            downloaded, note = built.outputs["entity_dataset_uri"], built.outputs["message"]
    return TaggedSource(
        dataset_uri=dsl.OneOf(given.outputs["dataset_uri"], downloaded),
        note=dsl.OneOf(given.outputs["note"], note),
    )
