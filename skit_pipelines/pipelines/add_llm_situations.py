"""Register situations for LLM-generated conversations: ``add_llm_situations`` (issue 15, spec 8.2)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.validate_and_add_situations_to_db import validate_and_add_situations_to_db
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs

AddLlmSituationsOutput = NamedTuple(
    "AddLlmSituationsOutput",
    [
        ("situation_ids", str),
        ("situations_uri", str),
        ("situations_count", int),
        ("added", int),
        ("reused", int),
    ],
)


@dsl.pipeline(name="add-llm-situations")
@with_parameter_docs
def add_llm_situations(
    situations: str = "",
    situations_path: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> AddLlmSituationsOutput:
    """Add situation::scenario::CATEGORY entries to situation_scenario_mapper and return their ids
    (an existing valid identical situation is reused)."""
    added = validate_and_add_situations_to_db(
        situations=situations, situations_path=situations_path
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        added.outputs["message"],
        added.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return AddLlmSituationsOutput(
        situation_ids=added.outputs["situation_ids"],
        situations_uri=added.outputs["situations_uri"],
        situations_count=added.outputs["situations_count"],
        added=added.outputs["added"],
        reused=added.outputs["reused"],
    )
