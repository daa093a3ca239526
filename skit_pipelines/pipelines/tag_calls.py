"""Upload for annotation: ``tag_calls`` (spec 4.4)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.upload_for_annotation import upload_for_annotation
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs

TagCallsPipelineOutput = NamedTuple(
    "TagCallsPipelineOutput",
    [
        ("uploaded", int),
        ("skipped_duplicates", int),
        ("failed", int),
        ("invalid_rows", int),
        ("summary", str),
        ("call_level_uri", str),
    ],
)


@dsl.pipeline(name="tag-calls")
@with_parameter_docs
def tag_calls(
    org_id: str,
    s3_path: str,
    data_label: str = "",
    job_ids: str = "",
    labelstudio_project_id: str = "",
    call_project_id: str = "",
    lang: str = "",
    project_title: str = "",
    call_project_title: str = "",
    taxonomy_uri: str = "",
    entity_types: str = "",
    model_version: str = "production",
    batch_size: int = 500,
    call_link_template: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> TagCallsPipelineOutput:
    """Upload a CSV of untagged turns to Label Studio for annotation, without creating duplicate tasks."""
    tagged = upload_for_annotation(
        s3_path=s3_path,
        org_id=org_id,
        data_label=data_label,
        labelstudio_project_id=labelstudio_project_id,
        job_ids=job_ids,
        call_project_id=call_project_id,
        lang=lang,
        project_title=project_title,
        call_project_title=call_project_title,
        taxonomy_uri=taxonomy_uri,
        entity_types=entity_types,
        model_version=model_version,
        batch_size=batch_size,
        call_link_template=call_link_template,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        tagged.outputs["message"],
        tagged.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return TagCallsPipelineOutput(
        uploaded=tagged.outputs["uploaded"],
        skipped_duplicates=tagged.outputs["skipped_duplicates"],
        failed=tagged.outputs["failed"],
        invalid_rows=tagged.outputs["invalid_rows"],
        summary=tagged.outputs["summary"],
        call_level_uri=tagged.outputs["call_level_uri"],
    )
