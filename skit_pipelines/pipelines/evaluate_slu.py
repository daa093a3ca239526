"""Evaluate SLU: ``evaluate_slu`` (spec 7.6; issue 13): a branch's model against production, no training.

Steps 1-2 and 5-6 of ``retrain_slu`` on an existing branch of an SLU project repository: the branch's model
and the model at ``compare_branch`` evaluated on the same rows, compared as CSV, Markdown and HTML. Nothing
is committed or pushed.
"""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.evaluate_slu_from_repo import evaluate_slu_from_repo
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs

EvaluateSluOutput = NamedTuple(
    "EvaluateSluOutput",
    [
        ("comparison_classification_report", str),
        ("comparison_confusion_matrix", str),
        ("comparison_markdown", str),
        ("comparison_html", str),
        ("test_rows", int),
        ("accuracy", float),
        ("production_accuracy", float),
    ],
)


@dsl.pipeline(name="evaluate-slu")
@with_parameter_docs
def evaluate_slu(
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
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> EvaluateSluOutput:
    """Evaluate an SLU project branch's model and the production model on the same test set, side by side."""
    evaluation = evaluate_slu_from_repo(
        repo_name=repo_name,
        repo_branch=repo_branch,
        test_dataset_path=test_dataset_path,
        job_ids=job_ids,
        labelstudio_project_ids=labelstudio_project_ids,
        job_start_date=job_start_date,
        job_end_date=job_end_date,
        timezone=timezone,
        remove_intents=remove_intents,
        alias_yaml_path=alias_yaml_path,
        compare_branch=compare_branch,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        evaluation.outputs["message"],
        evaluation.outputs["download_commands"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return EvaluateSluOutput(
        comparison_classification_report=evaluation.outputs["comparison_classification_report"],
        comparison_confusion_matrix=evaluation.outputs["comparison_confusion_matrix"],
        comparison_markdown=evaluation.outputs["comparison_markdown"],
        comparison_html=evaluation.outputs["comparison_html"],
        test_rows=evaluation.outputs["test_rows"],
        accuracy=evaluation.outputs["accuracy"],
        production_accuracy=evaluation.outputs["production_accuracy"],
    )
