"""Component ``invalidate_situations_in_db``: mark LLM situations invalid (spec 4.12, 8.2; issue 15).

The reference's component name. Validation first (the ids, before the database is opened), then one
transaction in the metrics database (``SKIT_DATABASE_URL``, read here and passed down).
"""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def invalidate_situations_in_db(
    situation_id_list: str = "",
    reason: str = "",
    ignore_missing: bool = False,
    notify: str = "",
) -> NamedTuple(
    "InvalidateSituationsOutput",
    [
        ("invalidated", int),
        ("already_invalid", int),
        ("not_found", int),
        ("outcomes", str),
        ("message", str),
    ],
):
    """Per id: invalidated, already invalid or not found (``outcomes``: JSON ``{id: outcome}``). Unknown
    ids fail the step with nothing changed unless ``ignore_missing``. ``notify`` (who asked) is recorded in
    ``invalidated_by``."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("invalidate_llm_situations_in_db", locals())

    from skit_pipelines.jobs.situations import invalidate_llm_situations, invalidate_request_from
    from skit_pipelines.situations import InvalidationOutcome

    request = invalidate_request_from(situation_id_list, reason, notify, ignore_missing)
    result = invalidate_llm_situations(request, database_url=settings.effective_database_url)
    print(result.message)
    return (
        result.count(InvalidationOutcome.INVALIDATED),
        result.count(InvalidationOutcome.ALREADY_INVALID),
        result.count(InvalidationOutcome.NOT_FOUND),
        result.outcomes_json(),
        result.message,
    )
