"""Component ``upload_for_annotation``: untagged turns (and call-level rows) → Label Studio projects.

The upload step of the ``tag_calls`` and ``fetch_n_tag_calls`` pipelines (the reference's ``tag_calls``
component; renamed because a kfp pipeline and one of its components must not share a name).
"""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def upload_for_annotation(
    s3_path: str,
    org_id: str = "",
    data_label: str = "",
    labelstudio_project_id: str = "",
    job_ids: str = "",
    call_project_id: str = "",
    lang: str = "",
    project_title: str = "",
    call_project_title: str = "",
    taxonomy_uri: str = "",
    entity_types: str = "",
    model_version: str = "production",
    batch_size: int = 500,
    call_link_template: str = "",
    message_prefix: str = "",
) -> NamedTuple(
    "TagCallsOutput",
    [
        ("uploaded", int),
        ("skipped_duplicates", int),
        ("failed", int),
        ("invalid_rows", int),
        ("df_sizes", str),
        ("errors", str),
        ("summary", str),
        ("call_level_uri", str),
        ("message", str),
        ("download_command", str),
    ],
):
    """Idempotent, batched upload; outputs the per-project summary (JSON) and a Slack-ready message.

    ``message_prefix`` is put before the message (the fetch step's own message in fetch_n_tag_calls).
    Reads SKIT_LABELSTUDIO_URL and SKIT_LABELSTUDIO_TOKEN.
    """
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("tag_calls", locals())

    import json
    import logging

    from skit_pipelines import storage
    from skit_pipelines.annotation.upload import tag_calls as run_upload

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result = run_upload(
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
        url=settings.labelstudio_url,
        token=settings.labelstudio_token.get_secret_value(),
    )
    message = f"{message_prefix}\n{result.message}" if message_prefix else result.message
    print(message)
    return (
        result.uploaded,
        result.skipped_duplicates,
        result.failed,
        len(result.invalid_rows),
        result.df_sizes,
        "\n".join(result.errors),
        json.dumps(result.summary()),
        result.call_level_uri,
        message,
        storage.download_command(s3_path),
    )
