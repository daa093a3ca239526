"""What a compliance judge is: redacted transcripts in, one verdict per call out.

Two judges implement :class:`Judge`: ``rules`` (:mod:`skit_pipelines.compliance.rules_judge`, deterministic,
the embedded default) and ``llm`` (any OpenAI-compatible chat-completions server). The pipeline, the
report and the table see only :class:`JudgeVerdict`, so either judge can be swapped in, and a judge that
could not decide says so in ``judge_error`` instead of dropping the call (the reference skipped it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class JudgeVerdict:
    """One call's verdict.

    ``is_breach`` is None exactly when ``judge_error`` says why no verdict was reached. ``evidence_turn`` is
    the 1-based transcript line that triggered the verdict (see ``transcripts.transcript_lines``), None when
    no line did. ``tokens`` is what the verdict cost (0 for the rules judge); ``output`` is the judge's raw
    answer (the LLM's text), kept for the audit trail.
    """

    is_breach: bool | None
    explanation: str
    evidence_turn: int | None = None
    judge_error: str = ""
    tokens: int = 0
    output: str = ""

    def __post_init__(self) -> None:
        if (self.is_breach is None) != bool(self.judge_error):
            raise ValueError("a verdict has either is_breach or judge_error, not both nor neither")


@runtime_checkable
class Judge(Protocol):
    """A compliance judge. ``name`` is ``rules`` or ``llm``; ``model`` and ``prompt_version`` identify what
    decided (they are part of a stored verdict's key, so a new prompt or model adds rows, not overwrites)."""

    name: str
    model: str
    prompt_version: str

    def judge(self, transcripts: Sequence[str]) -> list[JudgeVerdict]:
        """One verdict per redacted transcript, in order; never fewer."""
        ...
