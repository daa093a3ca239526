"""The pipeline registry: every public pipeline, by its reference name.

The CLI, the compiler and the HTTP API all discover pipelines here, so adding a pipeline means adding one
file in this package (its function under ``@dsl.pipeline`` and ``@with_parameter_docs``), one line in
:data:`PIPELINES`, and a description in :mod:`skit_pipelines.pipelines.parameter_docs` for each parameter
the table does not know yet.
"""

from __future__ import annotations

from typing import Any

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.pipelines.add_llm_situations import add_llm_situations
from skit_pipelines.pipelines.eer_from_tog import eer_from_tog
from skit_pipelines.pipelines.eval_voicebot_xlmr_pipeline import eval_voicebot_xlmr_pipeline
from skit_pipelines.pipelines.evaluate_slu import evaluate_slu
from skit_pipelines.pipelines.fetch_calls_pipeline import fetch_calls_pipeline
from skit_pipelines.pipelines.fetch_n_tag_calls import fetch_n_tag_calls
from skit_pipelines.pipelines.fetch_tagged_calls_dataset import fetch_tagged_calls_dataset
from skit_pipelines.pipelines.fetch_tagged_entity_dataset import fetch_tagged_entity_dataset
from skit_pipelines.pipelines.generate_and_tag_conversations import generate_and_tag_conversations
from skit_pipelines.pipelines.invalidate_llm_situations_in_db import invalidate_llm_situations_in_db
from skit_pipelines.pipelines.irr_from_tog import irr_from_tog
from skit_pipelines.pipelines.publish_compliance_breaches import publish_compliance_breaches
from skit_pipelines.pipelines.retrain_slu import retrain_slu
from skit_pipelines.pipelines.tag_calls import tag_calls
from skit_pipelines.pipelines.train_voicebot_intent_model_xlmr import train_voicebot_intent_model_xlmr

PIPELINES: dict[str, Any] = {
    "fetch_calls_pipeline": fetch_calls_pipeline,
    "tag_calls": tag_calls,
    "fetch_n_tag_calls": fetch_n_tag_calls,
    "fetch_tagged_calls_dataset": fetch_tagged_calls_dataset,
    "fetch_tagged_entity_dataset": fetch_tagged_entity_dataset,
    "irr_from_tog": irr_from_tog,
    "eer_from_tog": eer_from_tog,
    "train_voicebot_intent_model_xlmr": train_voicebot_intent_model_xlmr,
    "eval_voicebot_xlmr_pipeline": eval_voicebot_xlmr_pipeline,
    "add_llm_situations": add_llm_situations,
    "invalidate_llm_situations_in_db": invalidate_llm_situations_in_db,
    "generate_and_tag_conversations": generate_and_tag_conversations,
    "retrain_slu": retrain_slu,
    "evaluate_slu": evaluate_slu,
    "publish_compliance_breaches": publish_compliance_breaches,
}


class UnknownPipelineError(SkitPipelinesError, KeyError):
    """No pipeline of that name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable.
        return str(self.args[0])


def normalise_name(name: str) -> str:
    """``Fetch-Calls-Pipeline`` and ``fetch_calls_pipeline`` name the same pipeline."""
    return name.strip().strip("/").lower().replace("-", "_").replace(" ", "_")


def get_pipeline(name: str) -> Any:
    """The kfp pipeline (a ``GraphComponent``) registered as ``name`` (kebab or snake case)."""
    key = normalise_name(name)
    try:
        return PIPELINES[key]
    except KeyError:
        known = ", ".join(sorted(PIPELINES)) or "(none)"
        raise UnknownPipelineError(f"unknown pipeline {name!r}; known pipelines: {known}") from None
