"""Component ``fetch_calls``: sample calls from the warehouse into a CSV artifact."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def fetch_calls(
    lang: str,
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    start_time_offset: int = 0,
    end_time_offset: int = 0,
    timezone: str = "",
    client_id: str = "",
    flow_ids: str = "",
    flow_name: str = "",
    template_id: str = "",
    use_case: str = "",
    call_type: str = "",
    ignore_callers: str = "",
    reported: bool = False,
    min_duration: str = "",
    asr_provider: str = "",
    states: str = "",
    intents: str = "",
    call_quantity: int = 200,
    remove_empty_audios: bool = False,
    random_seed: int = -1,
) -> NamedTuple(
    "FetchCallsOutput",
    [
        ("calls_uri", str),
        ("matching_calls", int),
        ("sampled_calls", int),
        ("turns", int),
        ("dropped_audio_turns", int),
        ("random_seed", int),
        ("message", str),
        ("download_command", str),
    ],
):
    """Sample calls from the warehouse; outputs the CSV's artifact URI, counts, and a Slack-ready message.

    The output type is spelled inline because kfp copies only this function's source into each step.
    """
    arguments = dict(locals())
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("fetch_calls_pipeline", arguments)

    import logging

    from skit_pipelines.warehouse.fetch import fetch_calls as run_fetch
    from skit_pipelines.warehouse.filters import call_filters_from

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # kfp needs every filter in the signature above; below it they travel as one validated CallFilters.
    result = run_fetch(
        call_filters_from(arguments),
        call_quantity=call_quantity,
        remove_empty_audios=remove_empty_audios,
        random_seed=random_seed,
        warehouse_url=settings.effective_warehouse_url,
    )
    print(result.message)
    return (
        result.calls_uri,
        result.matching_calls,
        result.sampled_calls,
        result.turns,
        result.dropped_audio_turns,
        result.random_seed,
        result.message,
        result.download_command,
    )
