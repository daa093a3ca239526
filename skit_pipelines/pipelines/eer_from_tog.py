"""Annotated Dataset Entity Evaluation: ``eer_from_tog`` (spec 4.9)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.entity_dataset_source import entity_dataset_source
from skit_pipelines.components.gen_eer_metrics import gen_eer_metrics
from skit_pipelines.components.slack_notification import slack_notification

EerFromTogOutput = NamedTuple(
    "EerFromTogOutput",
    [
        ("report_uri", str),
        ("fp_uri", str),
        ("fn_uri", str),
        ("mm_uri", str),
        ("all_entities_uri", str),
        ("span_metrics_uri", str),
        ("html_uri", str),
        ("summary_uri", str),
        ("turns", int),
        ("skipped_rows", int),
        ("entity_error_rate", float),
        ("strict_f1", float),
        ("partial_f1", float),
        ("metrics_rows_written", int),
    ],
)


@dsl.pipeline(name="eer-from-tog")
def eer_from_tog(
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "Asia/Kolkata",
    mlwr: bool = False,
    slu_project_name: str = "",
    dataset_path: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> EerFromTogOutput:
    """Entity error report of an annotated dataset: first-entity report, all-entities and span scores.

    Args:
        org_id: Organisation id; names the artifacts (reference part of their keys).
        job_id: Annotation job id whose tagged entity data is evaluated (needs the annotation download).
        labelstudio_project_id: Label Studio project id whose tagged entity data is evaluated.
        start_date: First annotation day to download, YYYY-MM-DD (ignored with dataset_path).
        end_date: Last annotation day to download, YYYY-MM-DD (ignored with dataset_path).
        start_date_offset: Days added to start_date (ignored with dataset_path).
        end_date_offset: Days added to end_date (ignored with dataset_path).
        timezone: IANA timezone of the dates and of naive timestamps in the dataset.
        mlwr: Also write one row per entity type (and an overall row) to the entity_metrics table.
        slu_project_name: SLU project name stored with the entity_metrics rows.
        dataset_path: A tagged entity dataset already downloaded (CSV or Parquet; any artifact URI or path)
            with data_id, truth_entities and predicted_entities.
        notify: Comma list of Slack user ids to cc; non-empty posts a Slack message.
        channel: Slack channel for the notification.
        slack_thread: Slack thread timestamp to reply in.
    """
    source = entity_dataset_source(
        dataset_path=dataset_path, job_id=job_id, labelstudio_project_id=labelstudio_project_id,
        start_date=start_date, end_date=end_date, start_date_offset=start_date_offset,
        end_date_offset=end_date_offset,
    ).set_caching_options(enable_caching=False)
    metrics = gen_eer_metrics(
        dataset_uri=source.outputs["dataset_uri"], org_id=org_id, job_id=job_id,
        labelstudio_project_id=labelstudio_project_id, timezone=timezone, mlwr=mlwr,
        slu_project_name=slu_project_name, note=source.outputs["note"],
    ).set_caching_options(enable_caching=False)
    with dsl.If(notify != "", name="notify"):
        slack_notification(
            message=metrics.outputs["message"], code_block=metrics.outputs["download_command"],
            channel=channel, cc=notify, thread_id=slack_thread,
        ).set_caching_options(enable_caching=False)
    return EerFromTogOutput(
        report_uri=metrics.outputs["report_uri"],
        fp_uri=metrics.outputs["fp_uri"],
        fn_uri=metrics.outputs["fn_uri"],
        mm_uri=metrics.outputs["mm_uri"],
        all_entities_uri=metrics.outputs["all_entities_uri"],
        span_metrics_uri=metrics.outputs["span_metrics_uri"],
        html_uri=metrics.outputs["html_uri"],
        summary_uri=metrics.outputs["summary_uri"],
        turns=metrics.outputs["turns"],
        skipped_rows=metrics.outputs["skipped_rows"],
        entity_error_rate=metrics.outputs["entity_error_rate"],
        strict_f1=metrics.outputs["strict_f1"],
        partial_f1=metrics.outputs["partial_f1"],
        metrics_rows_written=metrics.outputs["metrics_rows_written"],
    )
