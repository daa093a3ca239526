"""Annotated Dataset Intent Evaluation: ``irr_from_tog`` (spec 4.7)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.gen_irr_metrics import gen_irr_metrics
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.tagged_source import tagged_dataset_source

IrrFromTogOutput = NamedTuple(
    "IrrFromTogOutput",
    [
        ("report_uri", str),
        ("confusion_matrix_uri", str),
        ("intent_report_uri", str),
        ("errors_uri", str),
        ("breakdowns_uri", str),
        ("heatmap_uri", str),
        ("top_confusions_uri", str),
        ("html_report_uri", str),
        ("n", int),
        ("accuracy", float),
        ("weighted_f1", float),
        ("kappa", float),
        ("data_notes", str),
        ("metrics_rows_written", int),
    ],
)


@dsl.pipeline(name="irr-from-tog")
@with_parameter_docs
def irr_from_tog(
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "",
    true_label_column: str = "intent_y",
    pred_label_column: str = "raw.intent",
    mlwr: bool = False,
    slu_project_name: str = "",
    eevee_intent_alias_yaml_github_path: str = "",
    eevee_intent_groups_yaml_github_path: str = "",
    eevee_intent_layers_yaml_github_path: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
    dataset_path: str = "",
    normalise_labels: bool = False,
    prediction_path: str = "",
    id_column: str = "",
) -> IrrFromTogOutput:
    """Intent evaluation of an annotated dataset: classification report, confusion matrix, agreement, HTML.

    The dataset is dataset_path when given, else the annotations of the Label Studio projects
    (labelstudio_project_id / job_id) downloaded first; the message gives the download's counts.
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
    )
    metrics = gen_irr_metrics(
        dataset_uri=dataset.dataset_uri,
        note=dataset.note,
        org_id=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        timezone=timezone,
        true_label_column=true_label_column,
        pred_label_column=pred_label_column,
        mlwr=mlwr,
        slu_project_name=slu_project_name,
        alias_yaml=eevee_intent_alias_yaml_github_path,
        groups_yaml=eevee_intent_groups_yaml_github_path,
        layers_yaml=eevee_intent_layers_yaml_github_path,
        normalise_labels=normalise_labels,
        prediction_uri=prediction_path,
        id_column=id_column,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        metrics.outputs["message"],
        metrics.outputs["download_commands"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return IrrFromTogOutput(
        report_uri=metrics.outputs["report_uri"],
        confusion_matrix_uri=metrics.outputs["confusion_matrix_uri"],
        intent_report_uri=metrics.outputs["intent_report_uri"],
        errors_uri=metrics.outputs["errors_uri"],
        breakdowns_uri=metrics.outputs["breakdowns_uri"],
        heatmap_uri=metrics.outputs["heatmap_uri"],
        top_confusions_uri=metrics.outputs["top_confusions_uri"],
        html_report_uri=metrics.outputs["html_report_uri"],
        n=metrics.outputs["n"],
        accuracy=metrics.outputs["accuracy"],
        weighted_f1=metrics.outputs["weighted_f1"],
        kappa=metrics.outputs["kappa"],
        data_notes=metrics.outputs["data_notes"],
        metrics_rows_written=metrics.outputs["metrics_rows_written"],
    )
