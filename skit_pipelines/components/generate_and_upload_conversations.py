"""Component ``generate_and_upload_conversations``: the step of ``generate_and_tag_conversations``.

Reads the settings a step needs (the metrics database, the LLM endpoint, Label Studio) and hands them with
one checked :class:`~skit_pipelines.conversations.request.GenerationRequest` to the job
(:mod:`skit_pipelines.jobs.generate_conversations`).
"""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def generate_and_upload_conversations(
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
) -> NamedTuple(
    "GenerateConversationsOutput",
    [
        ("generated", int),
        ("valid", int),
        ("invalid", int),
        ("uploaded", int),
        ("skipped_duplicates", int),
        ("rows_added", int),
        ("generator", str),
        ("conversations_uri", str),
        ("summary", str),
        ("message", str),
        ("download_command", str),
    ],
):
    """Generate n_iter × n_choice conversations per valid situation (the configured LLM, else the labelled
    template generator), validate, store, record and upload them. Reads SKIT_DATABASE_URL, SKIT_LLM_* and
    SKIT_LABELSTUDIO_URL / SKIT_LABELSTUDIO_TOKEN."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("generate_and_tag_conversations", locals())

    import json
    import logging

    from skit_pipelines import storage
    from skit_pipelines.conversations.request import generation_request_from
    from skit_pipelines.jobs.generate_conversations import generate_and_tag

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    request = generation_request_from(
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
    )
    result = generate_and_tag(
        request,
        llm=settings.llm(),
        labelstudio_url=settings.labelstudio_url,
        labelstudio_token=settings.labelstudio_token.get_secret_value(),
        database_url=settings.effective_database_url,
    )
    print(result.message)
    return (
        len(result.outputs),
        len(result.valid),
        len(result.invalid),
        result.uploaded,
        result.skipped_duplicates,
        result.rows_added,
        result.generator,
        result.folder_uri,
        json.dumps(result.summary()),
        result.message,
        storage.download_command(result.folder_uri, recursive=True),
    )
