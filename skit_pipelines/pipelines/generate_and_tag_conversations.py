"""Generate and tag conversations: ``generate_and_tag_conversations`` (issue 15, spec 8.2)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.generate_and_upload_conversations import generate_and_upload_conversations
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs

GenerateAndTagConversationsOutput = NamedTuple(
    "GenerateAndTagConversationsOutput",
    [
        ("generated", int),
        ("valid", int),
        ("invalid", int),
        ("uploaded", int),
        ("skipped_duplicates", int),
        ("rows_added", int),
        ("generator", str),
        ("conversations_uri", str),
    ],
)


@dsl.pipeline(name="generate-and-tag-conversations")
@with_parameter_docs
def generate_and_tag_conversations(
    situation_id_list: str = "",
    scenario_category: str = "",
    n_iter: int = 1,
    n_choice: int = 2,
    model: str = "",
    prompt_file_path: str = "",
    client_id: str = "",
    template_id: str = "",
    project_name: str = "",
    labelstudio_project_id: str = "",
    project_title: str = "",
    data_label: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> GenerateAndTagConversationsOutput:
    """Generate synthetic debt-collection conversations for registered situations (the configured LLM, else
    a labelled offline template generator), validate them and upload the valid ones to Label Studio."""
    generated = generate_and_upload_conversations(
        situation_id_list=situation_id_list,
        scenario_category=scenario_category,
        n_iter=n_iter,
        n_choice=n_choice,
        model=model,
        prompt_file_path=prompt_file_path,
        client_id=client_id,
        template_id=template_id,
        project_name=project_name,
        labelstudio_project_id=labelstudio_project_id,
        project_title=project_title,
        data_label=data_label,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        generated.outputs["message"],
        generated.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return GenerateAndTagConversationsOutput(
        generated=generated.outputs["generated"],
        valid=generated.outputs["valid"],
        invalid=generated.outputs["invalid"],
        uploaded=generated.outputs["uploaded"],
        skipped_duplicates=generated.outputs["skipped_duplicates"],
        rows_added=generated.outputs["rows_added"],
        generator=generated.outputs["generator"],
        conversations_uri=generated.outputs["conversations_uri"],
    )
