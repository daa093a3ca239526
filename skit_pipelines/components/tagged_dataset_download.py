"""Component ``tagged_dataset_download``: stand-in for downloading a tagged dataset from Label Studio.

The download (``fetch_tagged_dataset`` of the annotation module) is not wired in yet. Pipelines call this
step in the branch where no ``dataset_path`` is given, with the parameters the download takes, so that
replacing it is a one-line change; until then it fails with a message that says what to do instead.
"""

from skit_pipelines.components import component


@component
def tagged_dataset_download(
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "",
) -> str:
    """Fails: names the missing input, or says that downloading needs the annotation module."""
    if not (job_id.strip() or labelstudio_project_id.strip()):
        raise ValueError(
            "no dataset to evaluate: give dataset_path (a tagged CSV), or job_id / labelstudio_project_id "
            "to download one"
        )
    source = (f"labelstudio_project_id={labelstudio_project_id}" if labelstudio_project_id.strip()
              else f"job_id={job_id}")
    raise RuntimeError(
        f"downloading the tagged dataset of {source} from Label Studio needs the annotation module "
        "(skit_pipelines.annotation, fetch_tagged_dataset), which is not wired into this pipeline yet: "
        "download the dataset and pass it as dataset_path"
    )
