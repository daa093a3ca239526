"""Component ``retrain_slu_from_repo``: validate, or retrain an SLU project repo and open its MR."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def retrain_slu_from_repo(
    repo_name: str,
    repo_branch: str = "master",
    job_ids: str = "",
    dataset_path: str = "",
    custom_test_dataset_path: str = "",
    labelstudio_project_ids: str = "",
    job_start_date: str = "",
    job_end_date: str = "",
    timezone: str = "",
    remove_intents: str = "",
    alias_yaml_path: str = "",
    initial_training: bool = False,
    use_previous_dataset: bool = True,
    epochs: int = 0,
    train_split_percent: int = 85,
    stratify: bool = False,
    target_mr_branch: str = "sandbox",
    production_branch: str = "",
    use_gpu: bool = False,
    validate_setup: bool = False,
) -> NamedTuple(
    "RetrainSluOutput",
    [
        ("branch", str),
        ("mr_url", str),
        ("comparison_classification_report", str),
        ("comparison_confusion_matrix", str),
        ("comparison_markdown", str),
        ("comparison_html", str),
        ("new_rows", int),
        ("train_rows", int),
        ("test_rows", int),
        ("intents", int),
        ("accuracy", float),
        ("production_accuracy", float),
        ("message", str),
        ("download_commands", str),
    ],
):
    """Steps 1-8 of Retrain SLU (docs/pipelines/retrain_slu.md); ``validate_setup``: steps 1-4 only.

    The validation run (the reference's "Validate Training Setup") checks the repository, branches, DVC
    state, datasets, alias YAML and that an intent is left, and returns empty outputs; ``production_accuracy``
    is -1 when there is no production model yet. The output type is spelled inline because kfp copies only
    this function's source into each step.
    """
    arguments = dict(locals())
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    check_step("retrain_slu", arguments)  # the last line of defence, for a YAML submitted to a cluster

    import logging

    from skit_pipelines.jobs.retrain_slu import retrain_request_from, retrain_slu, validate_retraining
    from skit_pipelines.jobs.slu_repo import slu_connections_from

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    request = retrain_request_from(arguments)  # built once; the job takes the request
    connections = slu_connections_from(settings)
    if validate_setup:
        report = validate_retraining(request, connections)
        print(report)
        return ("", "", "", "", "", "", 0, 0, 0, 0, 0.0, -1.0, report, "")
    result = retrain_slu(request, connections)
    print(result.message)
    return (
        result.branch,
        result.mr_url,
        result.comparison_classification_report,
        result.comparison_confusion_matrix,
        result.comparison_markdown,
        result.comparison_html,
        result.new_rows,
        result.train_rows,
        result.test_rows,
        result.intents,
        result.accuracy,
        result.production_accuracy,
        result.message,
        result.download_commands,
    )
