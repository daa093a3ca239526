"""Download tagged dataset: ``fetch_tagged_calls_dataset`` (spec 4.3)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.fetch_tagged_dataset import fetch_tagged_dataset
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.parameters import component_arguments

FetchTaggedCallsDatasetOutput = NamedTuple(
    "FetchTaggedCallsDatasetOutput",
    [
        ("dataset_uri", str),
        ("rows", int),
        ("tasks", int),
        ("annotations", int),
        ("unannotated_tasks", int),
        ("cancelled_annotations", int),
    ],
)


@dsl.pipeline(name="fetch-tagged-calls-dataset")
@with_parameter_docs
def fetch_tagged_calls_dataset(
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
) -> FetchTaggedCallsDatasetOutput:
    """Download the annotations of Label Studio projects as one tagged CSV (one row per annotation)."""
    fetched = fetch_tagged_dataset(**component_arguments(fetch_tagged_dataset, locals())).set_caching_options(
        enable_caching=False
    )
    notify_in_slack(
        fetched.outputs["message"],
        fetched.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return FetchTaggedCallsDatasetOutput(
        dataset_uri=fetched.outputs["dataset_uri"],
        rows=fetched.outputs["rows"],
        tasks=fetched.outputs["tasks"],
        annotations=fetched.outputs["annotations"],
        unannotated_tasks=fetched.outputs["unannotated_tasks"],
        cancelled_annotations=fetched.outputs["cancelled_annotations"],
    )
