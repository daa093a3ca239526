"""Component ``evaluate_slu_from_repo``: an SLU branch's model against production on the same test rows."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def evaluate_slu_from_repo(
    repo_name: str,
    repo_branch: str = "master",
    test_dataset_path: str = "",
    job_ids: str = "",
    labelstudio_project_ids: str = "",
    job_start_date: str = "",
    job_end_date: str = "",
    timezone: str = "",
    remove_intents: str = "",
    alias_yaml_path: str = "",
    compare_branch: str = "",
) -> NamedTuple(
    "EvaluateSluOutput",
    [
        ("comparison_classification_report", str),
        ("comparison_confusion_matrix", str),
        ("comparison_markdown", str),
        ("comparison_html", str),
        ("test_rows", int),
        ("accuracy", float),
        ("production_accuracy", float),
        ("message", str),
        ("download_commands", str),
    ],
):
    """Evaluate the model of ``repo_branch`` and of ``compare_branch`` (default: the repo's default branch)
    on the given test data, else the branch's test.csv; nothing is committed. ``production_accuracy`` is -1
    when ``compare_branch`` has no model."""
    arguments = dict(locals())
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    check_step("evaluate_slu", arguments)  # the last line of defence, for a YAML submitted to a cluster

    import logging

    from skit_pipelines.jobs.retrain_slu import evaluate_branch, retrain_request_from
    from skit_pipelines.jobs.slu_repo import slu_connections_from

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = evaluate_branch(retrain_request_from(arguments), slu_connections_from(settings))
    print(result.message)
    return (
        result.comparison_classification_report,
        result.comparison_confusion_matrix,
        result.comparison_markdown,
        result.comparison_html,
        result.test_rows,
        result.accuracy,
        result.production_accuracy,
        result.message,
        result.download_commands,
    )
