"""Annotated Dataset Entity Evaluation: ``eer_from_tog`` (spec 4.9)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.gen_eer_metrics import gen_eer_metrics
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
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
@with_parameter_docs
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
