"""Upload for annotation: ``tag_calls`` (spec 4.4)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.upload_for_annotation import upload_for_annotation
from skit_pipelines.pipelines.notify import notify_in_slack

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
    """Upload a CSV of untagged turns to Label Studio for annotation, without creating duplicate tasks.

    Args:
        org_id: Organisation id of the calls (required); shown in messages and usable in call_link_template.
        s3_path: Artifact URI (local path, file:// or s3://) of an untagged turns CSV, e.g. the fetch_calls
            output.
        data_label: Source of the data: Client, Ops, UAT or Live; empty means Live.
        job_ids: Comma list of Label Studio project ids (alias of labelstudio_project_id, merged with it).
        labelstudio_project_id: Comma list of Label Studio project ids that get one task per turn.
        call_project_id: Comma list of Label Studio project ids that get one task per call (call-level rows).
        lang: Language code written into the call-level rows (empty keeps each call's language).
        project_title: Turn project to find by title, or to create with our label config if none has it.
        call_project_title: Call project to find by title, or to create with our call-level label config.
        taxonomy_uri: Intent list for a new turn project (JSON list or one name per line); empty uses the
            intents in the data.
        entity_types: Comma list of extra entity labels for a new turn project (date, time, ... are
            always in).
        model_version: Model version of the production predictions attached as pre-annotations.
        batch_size: Tasks per import request.
        call_link_template: Link of a call, with {org_id} and CSV columns such as {call_uuid}; empty uses the
            call recording URL.
        notify: Comma list of Slack user ids to cc; non-empty posts a Slack message.
        channel: Slack channel for the notification; non-empty posts even without notify.
        slack_thread: Slack thread timestamp to reply in.
    """
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
