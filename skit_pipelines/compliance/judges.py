"""Which judge decides: ``select_judge(kind, endpoint, prompt_file)``, the one place that chooses.

Why one function: the pipeline step, the benchmark and tests choose the same way. ``kind`` is

- ``auto`` (the default): the ``llm`` judge when an LLM is configured (``endpoint.configured``: a model and
  a server or an API key), else the deterministic ``rules`` judge;
- ``llm``: the LLM judge, or a clear error when no LLM is configured (never a silent fall back: someone who
  asked for the LLM wants its verdicts);
- ``rules``: the rules judge, whatever is configured.

``prompt_file`` replaces the packaged prompt of the LLM judge (``llm/prompts/compliance_judge.yaml``); it
has no meaning for the rules judge, so ``rules`` with a prompt file is an error, and ``auto`` without an LLM
ignores it (the result's ``judge`` says which judge ran).
"""

from __future__ import annotations

from skit_pipelines.compliance.judge import Judge
from skit_pipelines.compliance.llm_judge import PROMPT_NAME, LLMJudge
from skit_pipelines.compliance.rules_judge import RulesJudge
from skit_pipelines.llm.client import ChatClient
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.llm.prompts import load_prompt
from skit_pipelines.parameters import InvalidParameterError

JUDGE_KINDS = ("auto", "llm", "rules")

NO_LLM = (
    "judge: 'llm' needs an LLM, and none is configured: set SKIT_LLM_MODEL and SKIT_LLM_BASE_URL (any "
    "OpenAI-compatible server), or SKIT_LLM_MODEL and SKIT_LLM_API_KEY for the OpenAI API; or use "
    "judge=rules"
)


def judge_kind(kind: str) -> str:
    """``kind`` normalised (``" LLM "`` → ``llm``; empty → ``auto``), or an error naming the parameter."""
    value = (kind or "").strip().lower() or "auto"
    if value not in JUDGE_KINDS:
        raise InvalidParameterError("judge", f"judge: {kind!r} is not one of {', '.join(JUDGE_KINDS)}")
    return value


def check_judge(judge: str, prompt_file: str = "") -> None:
    """The checks that need no settings (the pipeline's parameter check): a known kind; no prompt file for
    the rules judge."""
    if judge_kind(judge) == "rules" and (prompt_file or "").strip():
        raise InvalidParameterError(
            "prompt_file", "prompt_file: a prompt is for the llm judge; judge=rules takes none"
        )


def select_judge(kind: str, endpoint: LLMEndpoint | None, prompt_file: str = "") -> Judge:
    """The judge of ``kind`` (``auto``, ``llm`` or ``rules``) for ``endpoint`` (None: no LLM).

    ``prompt_file`` is a local path to a prompt template named ``compliance_judge`` (empty: the packaged
    one). The LLM judge holds a :class:`ChatClient`; call its ``close()`` when done.
    """
    check_judge(kind, prompt_file)
    wanted = judge_kind(kind)
    configured = endpoint is not None and endpoint.configured
    if wanted == "rules" or (wanted == "auto" and not configured):
        return RulesJudge()
    if not configured or endpoint is None:
        raise InvalidParameterError("judge", NO_LLM)
    prompt = load_prompt(PROMPT_NAME, prompt_file or None)
    return LLMJudge(ChatClient(endpoint), prompt)
