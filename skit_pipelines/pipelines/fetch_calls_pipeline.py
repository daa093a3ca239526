"""Random sample calls: ``fetch_calls_pipeline``."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.fetch_calls import fetch_calls
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.parameters import component_arguments

FetchCallsPipelineOutput = NamedTuple(
    "FetchCallsPipelineOutput",
    [
        ("calls_uri", str),
        ("sampled_calls", int),
        ("matching_calls", int),
        ("turns", int),
        ("random_seed", int),
    ],
)


@dsl.pipeline(name="fetch-calls-pipeline")
@with_parameter_docs
def fetch_calls_pipeline(
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
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> FetchCallsPipelineOutput:
    """Randomly sample calls from the call warehouse and store every turn of them as a CSV."""
    fetched = fetch_calls(**component_arguments(fetch_calls, locals())).set_caching_options(
        enable_caching=False
    )
    notify_in_slack(
        fetched.outputs["message"],
        fetched.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return FetchCallsPipelineOutput(
        calls_uri=fetched.outputs["calls_uri"],
        sampled_calls=fetched.outputs["sampled_calls"],
        matching_calls=fetched.outputs["matching_calls"],
        turns=fetched.outputs["turns"],
        random_seed=fetched.outputs["random_seed"],
    )
