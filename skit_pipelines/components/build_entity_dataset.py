"""Component ``build_entity_dataset``: a tagged CSV → the tagged entity CSV (truth and predicted entities)."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def build_entity_dataset(
    dataset_uri: str,
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    message_prefix: str = "",
) -> NamedTuple(
    "BuildEntityDatasetOutput",
    [
        ("entity_dataset_uri", str),
        ("rows", int),
        ("truth_entities", int),
        ("predicted_entities", int),
        ("problems", int),
        ("message", str),
        ("download_command", str),
    ],
):
    """Parse the annotators' span labels and the production entities into ``{type, value, text, start, end}``.

    Uses the in-process entity parser, or Duckling when SKIT_DUCKLING_URL is set.
    """
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("eer_from_tog", locals())

    import logging

    from skit_pipelines.annotation.entity_dataset import build_entity_dataset as run_build

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ids = [part.strip() for part in f"{labelstudio_project_id},{job_id}".split(",") if part.strip()]
    reference = f"{org_id or 'org'}_{'_'.join(dict.fromkeys(ids)) or 'none'}"
    result = run_build(dataset_uri, org_id=org_id, reference=reference, duckling_url=settings.duckling_url)
    message = f"{message_prefix}\n{result.message}" if message_prefix else result.message
    print(message)
    counts = result.counts
    return (
        result.uri,
        counts.rows,
        counts.truth_entities,
        counts.predicted_entities,
        counts.problems,
        message,
        result.download_command,
    )
