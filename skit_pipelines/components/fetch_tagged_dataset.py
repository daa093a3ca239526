"""Component ``fetch_tagged_dataset``: Label Studio projects → the tagged CSV artifact (+ counts).

Reusable by any pipeline that needs annotated data (evaluation, retraining): pass the projects and the
annotation-time window, read ``dataset_uri``.
"""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def fetch_tagged_dataset(
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "",
    task_type: str = "conversation",
    all_annotations: bool = False,
    include_cancelled: bool = False,
    include_unannotated: bool = False,
    empty_possible: bool = False,
) -> NamedTuple(
    "FetchTaggedDatasetOutput",
    [
        ("dataset_uri", str),
        ("rows", int),
        ("tasks", int),
        ("annotations", int),
        ("unannotated_tasks", int),
        ("cancelled_annotations", int),
        ("outside_window", int),
        ("superseded", int),
        ("without_intent", int),
        ("message", str),
        ("download_command", str),
    ],
):
    """Export the projects through the Label Studio API and store the flattened tagged CSV.

    ``job_id`` is an alias of ``labelstudio_project_id`` (comma lists, merged). Reads SKIT_LABELSTUDIO_URL and
    SKIT_LABELSTUDIO_TOKEN.
    """
    arguments = dict(locals())
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("fetch_tagged_calls_dataset", arguments)

    import logging

    from skit_pipelines.annotation.download import download_request_from
    from skit_pipelines.annotation.download import fetch_tagged_dataset as run_fetch

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # kfp needs every parameter in the signature above; below it they travel as one DownloadRequest.
    result = run_fetch(
        download_request_from(arguments),
        org_id=org_id,
        url=settings.labelstudio_url,
        token=settings.labelstudio_token.get_secret_value(),
    )
    print(result.message)
    counts = result.counts
    return (
        result.uri,
        counts.rows,
        counts.tasks,
        counts.annotations,
        counts.unannotated_tasks,
        counts.cancelled_annotations,
        counts.outside_window,
        counts.superseded,
        counts.without_intent,
        result.message,
        result.download_command,
    )
