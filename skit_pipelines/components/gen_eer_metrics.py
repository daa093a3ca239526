"""Component ``gen_eer_metrics``: entity evaluation of a tagged dataset → reports, artifacts, metrics rows."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def gen_eer_metrics(
    dataset_uri: str,
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    timezone: str = "",
    mlwr: bool = False,
    slu_project_name: str = "",
    note: str = "",
    normalise_labels: bool = False,
    prediction_uri: str = "",
    id_column: str = "",
) -> NamedTuple(
    "EerMetricsOutput",
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
        ("message", str),
        ("download_command", str),
    ],
):
    """Evaluate, upload every artifact, write ``entity_metrics`` rows when ``mlwr``; outputs URIs, headline
    numbers and a Slack-ready message, which ends with ``note`` (where the dataset came from: the download's
    counts, or parameters that did not apply). ``normalise_labels`` strips entity types before comparing
    them (the reference kept them as given). ``prediction_uri``: a file of predicted entities per id joined
    to the dataset on ``id_column``; rows left out by the join are counted in the notes. The output type is
    spelled inline: kfp copies only this source."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("eer_from_tog", locals())

    import logging

    from skit_pipelines.jobs.entity_eval import run_entity_evaluation

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = run_entity_evaluation(
        dataset_uri=dataset_uri,
        org_id=org_id,
        job_id=job_id,
        labelstudio_project_id=labelstudio_project_id,
        timezone=timezone,
        mlwr=mlwr,
        slu_project_name=slu_project_name,
        note=note,
        normalise_labels=normalise_labels,
        prediction_uri=prediction_uri,
        id_column=id_column,
    )
    message = result.message
    print(message)
    uris, headline = result.uris, result.headline
    return (
        uris["report"],
        uris["fp"],
        uris["fn"],
        uris["mm"],
        uris["all_entities"],
        uris["categorical"],
        uris["spans"],
        uris.get("html", ""),
        uris["summary"],
        int(headline["turns"]),
        int(headline["skipped_rows"]),
        float(headline["entity_error_rate"]),
        float(headline["strict_f1"]),
        float(headline["partial_f1"]),
        int(result.metrics_rows_written),
        message,
        result.download_commands,
    )
