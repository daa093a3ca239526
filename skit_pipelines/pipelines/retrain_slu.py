"""SLU retraining Pipeline: ``retrain_slu`` (spec 4.10, 7; issue 13).

Two steps as in the reference: "Validate Training Setup" (cheap, on a CPU: repository, branches, DVC state,
datasets, alias YAML, an intent left) and, after it, the retraining (a GPU-requesting copy under
``dsl.If(use_gpu)``, a plain one under ``dsl.Else``, as in ``train_voicebot_intent_model_xlmr``). Then the
Slack message "Finished training {repo_name} SLU, please review <mr_url|this MR>" with the comparison
reports. ``core_slu_repo_*`` and ``customization_repo_*`` are accepted for compatibility and unused: this
product's trainer replaces the reference's ``slu`` CLI and customization service.
"""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.retrain_slu_from_repo import retrain_slu_from_repo
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.placement import on_gpu_or_cpu

RetrainSluOutput = NamedTuple(
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
    ],
)


@dsl.pipeline(name="retrain-slu")
@with_parameter_docs
def retrain_slu(
    repo_name: str,
    repo_branch: str = "master",
    job_ids: str = "",
    dataset_path: str = "",
    custom_test_dataset_path: str = "",
    labelstudio_project_ids: str = "",
    job_start_date: str = "",
    job_end_date: str = "",
    remove_intents: str = "",
    alias_yaml_path: str = "",
    initial_training: bool = False,
    use_previous_dataset: bool = True,
    epochs: int = 0,
    train_split_percent: int = 85,
    stratify: bool = False,
    target_mr_branch: str = "sandbox",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
    core_slu_repo_name: str = "core-slu-service",
    core_slu_repo_branch: str = "master",
    customization_repo_name: str = "customization",
    customization_repo_branch: str = "master",
    production_branch: str = "",
    timezone: str = "",
    use_gpu: bool = False,
) -> RetrainSluOutput:
    """Retrain an SLU project's intent model on new annotations, compare it with production, open an MR."""
    arguments = dict(
        repo_name=repo_name,
        repo_branch=repo_branch,
        job_ids=job_ids,
        dataset_path=dataset_path,
        custom_test_dataset_path=custom_test_dataset_path,
        labelstudio_project_ids=labelstudio_project_ids,
        job_start_date=job_start_date,
        job_end_date=job_end_date,
        timezone=timezone,
        remove_intents=remove_intents,
        alias_yaml_path=alias_yaml_path,
        initial_training=initial_training,
        use_previous_dataset=use_previous_dataset,
        epochs=epochs,
        train_split_percent=train_split_percent,
        stratify=stratify,
        target_mr_branch=target_mr_branch,
        production_branch=production_branch,
        use_gpu=use_gpu,
    )
    validation = (
        retrain_slu_from_repo(**arguments, validate_setup=True)
        .set_display_name("Validate Training Setup")
        .set_caching_options(enable_caching=False)
    )
    either = on_gpu_or_cpu(
        use_gpu,
        lambda: (
            retrain_slu_from_repo(**arguments).after(validation).set_caching_options(enable_caching=False)
        ),
    )

    notify_in_slack(
        either("message"),
        either("download_commands"),
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return RetrainSluOutput(
        branch=either("branch"),
        mr_url=either("mr_url"),
        comparison_classification_report=either("comparison_classification_report"),
        comparison_confusion_matrix=either("comparison_confusion_matrix"),
        comparison_markdown=either("comparison_markdown"),
        comparison_html=either("comparison_html"),
        new_rows=either("new_rows"),
        train_rows=either("train_rows"),
        test_rows=either("test_rows"),
        intents=either("intents"),
    )
