"""Component ``gen_irr_metrics``: intent evaluation of a tagged dataset (reports, artifacts, metrics rows)."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def gen_irr_metrics(
    dataset_uri: str,
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    timezone: str = "",
    true_label_column: str = "intent_y",
    pred_label_column: str = "raw.intent",
    mlwr: bool = False,
    slu_project_name: str = "",
    alias_yaml: str = "",
    groups_yaml: str = "",
    layers_yaml: str = "",
    note: str = "",
    normalise_labels: bool = False,
    prediction_uri: str = "",
    id_column: str = "",
    out_of_scope: str = "",
    write_predictions: bool = False,
) -> NamedTuple(
    "IrrMetricsOutput",
    [
        ("report_uri", str),
        ("confusion_matrix_uri", str),
        ("intent_report_uri", str),
        ("errors_uri", str),
        ("predictions_uri", str),
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
        ("message", str),
        ("download_commands", str),
    ],
):
    """Evaluate truth vs prediction of a tagged CSV; with ``mlwr`` also write the intent_metrics rows.

    ``kappa`` is Cohen's kappa; where it is undefined (every turn has one and the same label on both
    sides, a perfect agreement) the output is 1.0 and the report says "undefined" (kfp outputs hold no NaN).
    ``note`` says where the dataset came from (the download's counts); it goes into the message.
    ``normalise_labels`` compares labels as stripped text (the reference kept them as given).
    ``prediction_uri``: a CSV of predictions (``pred_label_column`` per id) joined to the dataset on
    ``id_column`` (default ``id``, else ``data_id``); ids on one side only are counted in ``data_notes``.
    ``out_of_scope``: JSON from a prediction step (fallback intent, threshold, the model's intents): adds
    the out-of-scope scores and the threshold sweep. ``write_predictions``: store every evaluated turn as
    ``predictions_uri`` (else it is empty).
    """
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("irr_from_tog", locals())

    import logging
    import math

    from skit_pipelines.jobs.intent_eval import evaluate_tagged_dataset

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = evaluate_tagged_dataset(
        dataset_uri,
        true_label_column=true_label_column,
        pred_label_column=pred_label_column,
        alias_yaml=alias_yaml,
        groups_yaml=groups_yaml,
        layers_yaml=layers_yaml,
        normalise_labels=normalise_labels,
        prediction_uri=prediction_uri,
        id_column=id_column,
        timezone=timezone,
        reference=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        slu_project_name=slu_project_name,
        mlwr=mlwr,
        note=note,
        out_of_scope=out_of_scope,
        write_predictions=write_predictions,
    )
    print(result.message)
    names = [
        "report_uri",
        "confusion_matrix_uri",
        "intent_report_uri",
        "errors_uri",
        "predictions_uri",
        "breakdowns_uri",
        "heatmap_uri",
        "top_confusions_uri",
        "html_report_uri",
    ]
    kappa = 1.0 if math.isnan(result.kappa) else result.kappa
    return (
        *[result.artifacts.get(name, "") for name in names],
        result.n,
        result.accuracy,
        result.weighted_f1,
        kappa,
        "; ".join(result.issues),
        result.metrics_rows,
        result.message,
        result.download_commands,
    )
