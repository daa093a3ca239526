"""Annotated Dataset Intent Evaluation: ``irr_from_tog`` (spec 4.7)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.gen_irr_metrics import gen_irr_metrics
from skit_pipelines.pipelines.notify import notify_in_slack
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
        timezone: IANA timezone of the download's dates and times, and of naive timestamps in the dataset;
            empty means SKIT_TIMEZONE.
        true_label_column: Column with the true intent; derived from the raw tag JSON when absent.
        pred_label_column: Column with the predicted intent (production SLU: raw.intent).
        mlwr: Also write one row per category (overall, groups, layers) to the intent_metrics table.
        slu_project_name: SLU project name stored with the intent_metrics rows.
        eevee_intent_alias_yaml_github_path: Alias YAML {alias: [intents]}: local path, artifact URI or URL.
        eevee_intent_groups_yaml_github_path: Groups YAML {group: [intents]}: one report per group.
        eevee_intent_layers_yaml_github_path: Layers YAML {intent_x: {layer: [intents]}, intent_y: {...}}.
        notify: Comma list of Slack user ids to cc; non-empty posts a Slack message.
        channel: Slack channel for the notification; non-empty posts even without notify.
        slack_thread: Slack thread timestamp to reply in.
        dataset_path: A tagged dataset CSV already downloaded (path or artifact URI); skips the download.
        normalise_labels: Compare intents as stripped text (" greet" = "greet", 5 = "5"); default false:
            labels as given, as the reference compared them.
        prediction_path: A CSV of predictions (pred_label_column per id), e.g. a model's, evaluated against
            the dataset's truth: joined on id_column (the reference's truth + prediction files). Ids on
            one side only are left out and counted in data_notes.
        id_column: Column joining the dataset and prediction_path; default id, else data_id (each side).
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
