"""Download tagged entity dataset: ``fetch_tagged_entity_dataset`` (spec 4.8)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.build_entity_dataset import build_entity_dataset
from skit_pipelines.components.fetch_tagged_dataset import fetch_tagged_dataset
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.parameters import component_arguments

FetchTaggedEntityDatasetOutput = NamedTuple(
    "FetchTaggedEntityDatasetOutput",
    [
        ("entity_dataset_uri", str),
        ("dataset_uri", str),
        ("rows", int),
        ("truth_entities", int),
        ("predicted_entities", int),
        ("problems", int),
    ],
)


@dsl.pipeline(name="fetch-tagged-entity-dataset")
@with_parameter_docs
def fetch_tagged_entity_dataset(
    org_id: str,
    job_id: str = "",
    labelstudio_project_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "",
    task_type: str = "conversation",
    all_annotations: bool = False,
    include_cancelled: bool = False,
    include_unannotated: bool = False,
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> FetchTaggedEntityDatasetOutput:
    """Download annotated turns with their entities: tagged spans with values, and normalised predictions."""
    fetched = fetch_tagged_dataset(**component_arguments(fetch_tagged_dataset, locals())).set_caching_options(
        enable_caching=False
    )
    entities = build_entity_dataset(
        dataset_uri=fetched.outputs["dataset_uri"],
        org_id=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        message_prefix=fetched.outputs["message"],
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        entities.outputs["message"],
        entities.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return FetchTaggedEntityDatasetOutput(
        entity_dataset_uri=entities.outputs["entity_dataset_uri"],
        dataset_uri=fetched.outputs["dataset_uri"],
        rows=entities.outputs["rows"],
        truth_entities=entities.outputs["truth_entities"],
        predicted_entities=entities.outputs["predicted_entities"],
        problems=entities.outputs["problems"],
    )
