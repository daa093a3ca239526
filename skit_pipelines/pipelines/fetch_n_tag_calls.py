"""Random sample and tag calls: ``fetch_n_tag_calls`` (spec 4.2)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.fetch_calls import fetch_calls
from skit_pipelines.components.upload_for_annotation import upload_for_annotation
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.parameters import component_arguments

FetchNTagCallsOutput = NamedTuple(
    "FetchNTagCallsOutput",
    [
        ("calls_uri", str),
        ("sampled_calls", int),
        ("turns", int),
        ("random_seed", int),
        ("uploaded", int),
        ("skipped_duplicates", int),
        ("failed", int),
        ("summary", str),
        ("call_level_uri", str),
    ],
)


@dsl.pipeline(name="fetch-n-tag-calls")
@with_parameter_docs
def fetch_n_tag_calls(
    org_id: str,
    lang: str,
    client_id: str = "",
    data_label: str = "",
    start_date: str = "",
    end_date: str = "",
    job_ids: str = "",
    labelstudio_project_id: str = "",
    call_project_id: str = "",
    ignore_callers: str = "",
    template_id: str = "",
    use_case: str = "",
    flow_name: str = "",
    flow_ids: str = "",
    min_duration: str = "",
    asr_provider: str = "",
    intents: str = "",
    states: str = "",
    reported: bool = False,
    call_quantity: int = 200,
    call_type: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    start_time_offset: int = 0,
    end_time_offset: int = 0,
    timezone: str = "",
    remove_empty_audios: bool = False,
    random_seed: int = -1,
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
) -> FetchNTagCallsOutput:
    """Randomly sample calls from the warehouse and upload their turns to Label Studio for annotation."""
    fetched = fetch_calls(**component_arguments(fetch_calls, locals())).set_caching_options(
        enable_caching=False
    )
    tagged = upload_for_annotation(
        s3_path=fetched.outputs["calls_uri"],
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
        message_prefix=fetched.outputs["message"],
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        tagged.outputs["message"],
        tagged.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return FetchNTagCallsOutput(
        calls_uri=fetched.outputs["calls_uri"],
        sampled_calls=fetched.outputs["sampled_calls"],
        turns=fetched.outputs["turns"],
        random_seed=fetched.outputs["random_seed"],
        uploaded=tagged.outputs["uploaded"],
        skipped_duplicates=tagged.outputs["skipped_duplicates"],
        failed=tagged.outputs["failed"],
        summary=tagged.outputs["summary"],
        call_level_uri=tagged.outputs["call_level_uri"],
    )
