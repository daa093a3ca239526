"""Component ``check_download_source``: before downloading an evaluation's dataset, check there is a project.

A step of its own (milliseconds) so that a run given neither ``dataset_path`` nor a project fails with the
evaluation's message, which names all three parameters, instead of the download's, which cannot know that
a ``dataset_path`` would have done.
"""

from skit_pipelines.components import component


@component
def check_download_source(job_id: str = "", labelstudio_project_id: str = "") -> str:
    """The Label Studio project ids to download (``labelstudio_project_id`` and ``job_id`` merged), as a comma
    list; fails when there is none, naming dataset_path too, or when an id is not a project id."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.jobs.dataset_source import download_project_ids

    ids = download_project_ids(job_id=job_id, labelstudio_project_id=labelstudio_project_id)
    joined = ",".join(str(i) for i in ids)
    print(f"downloading the tagged dataset of Label Studio project(s) {joined}")
    return joined
