"""Annotated Dataset Entity Evaluation: ``eer_from_tog`` (spec 4.9)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.gen_eer_metrics import gen_eer_metrics
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.tagged_source import tagged_dataset_source

EerFromTogOutput = NamedTuple(
    "EerFromTogOutput",
    [
        ("report_uri", str),
        ("fp_uri", str),
        ("fn_uri", str),
        ("mm_uri", str),
        ("all_entities_uri", str),
        ("categorical_uri", str),
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
    timezone: str = "",
    mlwr: bool = False,
    slu_project_name: str = "",
    dataset_path: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
    normalise_labels: bool = False,
    prediction_path: str = "",
    id_column: str = "",
) -> EerFromTogOutput:
    """Entity error report of an annotated dataset: first-entity report, all-entities and span scores.

    The dataset is dataset_path when given, else the annotations of the Label Studio projects
    (labelstudio_project_id / job_id) downloaded and turned into an entity dataset first (tagged spans with
    parsed values, production entities normalised); the message gives the download's counts.

    Args:
        org_id: Organisation id; names the artifacts (reference part of their keys).
        job_id: Comma list of Label Studio project ids to download and evaluate (the reference's name;
            alias of labelstudio_project_id, merged with it). Ignored with dataset_path.
        labelstudio_project_id: Comma list of Label Studio project ids to download and evaluate (latest
            annotation of each task; unannotated tasks and cancelled annotations left out, and counted).
            Ignored with dataset_path.
        start_date: First annotation day to download, YYYY-MM-DD in `timezone`; empty (with a zero offset)
            means no lower bound. Ignored with dataset_path.
        end_date: Last annotation day to download (inclusive), YYYY-MM-DD in `timezone`; empty (with a zero
            offset) means no upper bound. Ignored with dataset_path.
        start_date_offset: Days added to start_date (empty start_date: to today). Ignored with dataset_path.
        end_date_offset: Days added to end_date (empty end_date: to today). Ignored with dataset_path.
        timezone: IANA timezone of the download's dates and times (dates said in a turn are resolved in
            it), and of naive timestamps in the dataset; empty means SKIT_TIMEZONE.
        mlwr: Also write one row per entity type (and an overall row) to the entity_metrics table.
        slu_project_name: SLU project name stored with the entity_metrics rows.
        dataset_path: A tagged entity dataset already downloaded (CSV or Parquet; any artifact URI or path)
            with data_id, truth_entities and predicted_entities; skips the download.
        notify: Comma list of Slack user ids to cc; non-empty posts a Slack message.
        channel: Slack channel for the notification; non-empty posts even without notify.
        slack_thread: Slack thread timestamp to reply in.
        normalise_labels: Strip entity types before comparing them ("product kind " = "product kind");
            default false: types as given (lower-cased), as the reference compared them.
        prediction_path: A file (CSV or Parquet) of predicted entities per id (predicted_entities), e.g. a
            model's, evaluated against the dataset's truth: joined on id_column. Ids on one side only are
            left out and counted in the notes.
        id_column: Column joining the dataset and prediction_path; default data_id, id or
            conversation_uuid (each side).
    """
    dataset = tagged_dataset_source(
        dataset_path=dataset_path,
        org_id=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        start_date=start_date,
        end_date=end_date,
        start_date_offset=start_date_offset,
        end_date_offset=end_date_offset,
        timezone=timezone,
        entities=True,
    )
    metrics = gen_eer_metrics(
        dataset_uri=dataset.dataset_uri,
        note=dataset.note,
        org_id=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        timezone=timezone,
        mlwr=mlwr,
        slu_project_name=slu_project_name,
        normalise_labels=normalise_labels,
        prediction_uri=prediction_path,
        id_column=id_column,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        metrics.outputs["message"],
        metrics.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return EerFromTogOutput(
        report_uri=metrics.outputs["report_uri"],
        fp_uri=metrics.outputs["fp_uri"],
        fn_uri=metrics.outputs["fn_uri"],
        mm_uri=metrics.outputs["mm_uri"],
        all_entities_uri=metrics.outputs["all_entities_uri"],
        categorical_uri=metrics.outputs["categorical_uri"],
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
