"""The ``llm`` judge: any OpenAI-compatible chat-completions server reads each redacted transcript.

Why over :class:`~skit_pipelines.llm.client.ChatClient` and a versioned
:class:`~skit_pipelines.llm.prompts.PromptTemplate`: the client already asks for JSON at temperature 0,
retries 429/5xx/timeouts, bounds concurrency and returns one result per request; the template makes every
stored verdict traceable to the exact prompt (``prompt_version``). What this module adds is the verdict:

- the transcript is sent with **numbered lines** (``1. BOT: ...``), the numbers of
  :func:`~skit_pipelines.compliance.transcripts.transcript_lines`, so the model's ``evidence_turn`` points
  into the text that is stored and shown in the report;
- the answer must be a JSON object with a boolean ``is_breach`` (the reference's ``breach`` key is read
  too); anything else (no JSON, no boolean, an HTTP failure after the retries) is that call's
  ``judge_error`` (``parse: ...``, ``rate_limited: ...``), never a dropped call, with the raw answer kept;
- a transcript longer than :data:`DEFAULT_MAX_CHARS` is **truncated**, not split: its first lines are sent
  (identity and verification come first in a call, so they are always seen), followed by a note saying how
  many lines were left out; the explanation then says the verdict covers the first N lines only. Why not
  split: a breach depends on what the callee said earlier, which a later chunk would not see.
- tokens are what the server's ``usage`` reports for the call (0 when it reports none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from skit_pipelines.compliance.judge import JudgeVerdict
from skit_pipelines.compliance.transcripts import CLOSE, OPEN, TranscriptLine, transcript_lines
from skit_pipelines.llm.client import ChatClient, ChatResult
from skit_pipelines.llm.prompts import PromptTemplate, PromptTemplateError

PROMPT_NAME = "compliance_judge"

#: Characters of numbered transcript sent per call (~6k tokens of English): a 10-minute call fits, and a
#: model with an 8k context keeps room for the prompt and the answer.
DEFAULT_MAX_CHARS = 24_000

_TRUE = {"true", "yes", "breach"}
_FALSE = {"false", "no", "no breach", "none"}


def numbered_transcript(
    lines: Sequence[TranscriptLine], max_chars: int = DEFAULT_MAX_CHARS
) -> tuple[str, int]:
    """The transcript as sent: ``<call>``, ``N. SPEAKER: text`` lines, ``</call>``; and how many lines it
    holds. Lines past ``max_chars`` are left out and a note says how many (at least one line is sent)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        text = f"{line.number}. {line.speaker}: {line.text}"
        if kept and size + len(text) + 1 > max_chars:
            break
        kept.append(text)
        size += len(text) + 1
    left_out = len(lines) - len(kept)
    if left_out:
        kept.append(
            f"[transcript truncated: the last {left_out} of {len(lines)} lines are not shown; judge only the "
            "lines above]"
        )
    return "\n".join([OPEN, *kept, CLOSE]), len(lines) - left_out


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _as_turn(value: Any, lines: int) -> int | None:
    """A line number the transcript has, else None (a model may answer 0, a string, or a line it invented)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= lines else None


def verdict_of(result: ChatResult, lines: int, sent: int) -> JudgeVerdict:
    """The verdict in one answer; a failed request or an answer without a boolean verdict is a judge_error.

    ``lines`` is how many lines the transcript has, ``sent`` how many were sent (fewer when truncated).
    """
    tokens = result.total_tokens
    if result.error:
        return JudgeVerdict(None, "", judge_error=result.error, tokens=tokens, output=result.content)
    parsed = result.parsed or {}
    key = "is_breach" if "is_breach" in parsed else "breach"
    is_breach = _as_bool(parsed.get(key))
    if is_breach is None:
        return JudgeVerdict(
            None,
            "",
            judge_error=f"parse: the answer has no true/false is_breach (got {parsed.get(key)!r})"[:300],
            tokens=tokens,
            output=result.content,
        )
    explanation = str(parsed.get("explanation") or parsed.get("reason") or "").strip()
    if sent < lines:
        explanation = f"{explanation} (judged on the first {sent} of {lines} lines: transcript truncated)"
    return JudgeVerdict(
        is_breach,
        explanation.strip(),
        evidence_turn=_as_turn(parsed.get("evidence_turn"), sent),
        tokens=tokens,
        output=result.content,
    )


class LLMJudge:
    """The LLM judge (:class:`skit_pipelines.compliance.judge.Judge`) over one client and one prompt."""

    name = "llm"

    def __init__(
        self, client: ChatClient, prompt: PromptTemplate, *, max_chars: int = DEFAULT_MAX_CHARS
    ) -> None:
        if max_chars < 200:
            raise ValueError(f"max_chars must be at least 200, got {max_chars}")
        if "transcript" not in prompt.placeholders:
            raise PromptTemplateError(
                f"prompt {prompt.name!r} ({prompt.source}) has no $transcript placeholder"
            )
        prompt.render(transcript="")  # a template that cannot render (a lone "$") fails here, not per call
        self.client = client
        self.prompt = prompt
        self.max_chars = max_chars
        self.model = client.endpoint.model
        self.prompt_version = prompt.version

    def __repr__(self) -> str:
        return f"LLMJudge(model={self.model!r}, prompt_version={self.prompt_version!r})"

    def judge(self, transcripts: Sequence[str]) -> list[JudgeVerdict]:
        verdicts: list[JudgeVerdict | None] = [None] * len(transcripts)
        batch: list[list[dict[str, str]]] = []
        sizes: list[tuple[int, int, int]] = []  # (index, lines, lines sent)
        for index, transcript in enumerate(transcripts):
            lines = transcript_lines(transcript)
            if not lines:
                verdicts[index] = JudgeVerdict(
                    None, "", judge_error="the transcript has no BOT or USER lines"
                )
                continue
            text, sent = numbered_transcript(lines, self.max_chars)
            batch.append(self.prompt.render(transcript=text))
            sizes.append((index, len(lines), sent))
        for (index, lines, sent), result in zip(sizes, self.client.complete_json_batch(batch), strict=True):
            verdicts[index] = verdict_of(result, lines, sent)
        return [v for v in verdicts if v is not None]

    def close(self) -> None:
        self.client.close()
