"""Download tagged dataset: ``fetch_tagged_calls_dataset`` (spec 4.3)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.fetch_tagged_dataset import fetch_tagged_dataset
from skit_pipelines.pipelines.notify import notify_in_slack

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
    """Download the annotations of Label Studio projects as one tagged CSV (one row per annotation).

    Args:
        org_id: Organisation id (required); names the artifact and the message.
        job_id: Comma list of Label Studio project ids (alias of labelstudio_project_id, merged with it).
        labelstudio_project_id: Comma list of Label Studio project ids to download.
        start_date: First annotation day, YYYY-MM-DD in `timezone`; empty (with a zero offset) means no
            lower bound.
        end_date: Last annotation day (inclusive), YYYY-MM-DD in `timezone`; empty (with a zero offset)
            means no upper bound.
        start_date_offset: Days added to start_date (empty start_date: to today).
        end_date_offset: Days added to end_date (empty end_date: to today).
        timezone: IANA timezone of the dates and of the reftime and tagged_time columns; empty means
            SKIT_TIMEZONE.
        task_type: Task type of the projects: conversation, simulated_call, audio_segment, dict,
            call_transcription or data_generation.
        all_annotations: One row per annotation instead of the latest annotation of each task.
        include_cancelled: Keep cancelled (skipped) annotations as rows (always counted).
        include_unannotated: Add a row with empty answers for each task without annotations (always counted).
        notify: Comma list of Slack user ids to cc; non-empty posts a Slack message.
        channel: Slack channel for the notification; non-empty posts even without notify.
        slack_thread: Slack thread timestamp to reply in.
    """
    fetched = fetch_tagged_dataset(
        org_id=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        start_date=start_date,
        end_date=end_date,
        start_date_offset=start_date_offset,
        end_date_offset=end_date_offset,
        timezone=timezone,
        task_type=task_type,
        all_annotations=all_annotations,
        include_cancelled=include_cancelled,
        include_unannotated=include_unannotated,
    ).set_caching_options(enable_caching=False)
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
