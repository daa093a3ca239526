"""Component ``validate_and_add_situations_to_db``: register LLM situations (the ``add_llm_situations`` step).

The reference's component name (spec 8.2). Writes ``situation_scenario_mapper`` in the metrics database
(``SKIT_DATABASE_URL``, read here and passed down) and a CSV of the ids to the artifact store.
"""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def validate_and_add_situations_to_db(
    situations: str = "",
    situations_path: str = "",
) -> NamedTuple(
    "AddSituationsOutput",
    [
        ("situation_ids", str),
        ("situations_uri", str),
        ("situations_count", int),
        ("added", int),
        ("reused", int),
        ("message", str),
        ("download_command", str),
    ],
):
    """Each normalised situation's id (an existing valid identical row reused, else a new row), and the CSV
    ``{situation_id, situation, scenario, scenario_category, new}``; ``situation_ids`` is a comma list."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("add_llm_situations", locals())

    from skit_pipelines import storage
    from skit_pipelines.jobs.situations import add_llm_situations

    result = add_llm_situations(situations, situations_path, database_url=settings.effective_database_url)
    print(result.message)
    return (
        result.ids,
        result.uri,
        len(result.situations),
        result.added,
        result.reused,
        result.message,
        storage.download_command(result.uri),
    )
