"""Invalidate situations in DB for LLM: ``invalidate_llm_situations_in_db`` (spec 4.12, 8.2; issue 15)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.invalidate_situations_in_db import invalidate_situations_in_db
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs

InvalidateLlmSituationsOutput = NamedTuple(
    "InvalidateLlmSituationsOutput",
    [
        ("invalidated", int),
        ("already_invalid", int),
        ("not_found", int),
        ("outcomes", str),
    ],
)


@dsl.pipeline(name="invalidate-llm-situations-in-db")
@with_parameter_docs
def invalidate_llm_situations_in_db(
    situation_id_list: str = "",
    reason: str = "",
    ignore_missing: bool = False,
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> InvalidateLlmSituationsOutput:
    """Set is_valid to False for situations of situation_scenario_mapper, in one audited transaction."""
    invalidated = invalidate_situations_in_db(
        situation_id_list=situation_id_list,
        reason=reason,
        ignore_missing=ignore_missing,
        notify=notify,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        invalidated.outputs["message"],
        "",
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return InvalidateLlmSituationsOutput(
        invalidated=invalidated.outputs["invalidated"],
        already_invalid=invalidated.outputs["already_invalid"],
        not_found=invalidated.outputs["not_found"],
        outcomes=invalidated.outputs["outcomes"],
    )
