"""The ``rules`` judge: a deterministic detector of private debt information told to the wrong person.

A debt-collection bot may tell the amount owed only to the verified debtor. Reading a redacted transcript
turn by turn, the judge keeps two facts about the callee:

- **verified**: the callee answered an identity question ("am I speaking with <PERSON>?", "is this...")
  affirmatively ("yes", "speaking", "that's me"), answered a verification question (date of birth, last
  four digits, zip code) with data, or the bot said the identity was confirmed ("thank you for verifying");
- **someone else**: the callee said they are not the debtor ("this is his mother", "he's not home",
  "wrong number", or "no" to an identity question). A later affirmative answer (the debtor came to the
  phone) verifies again.

A BOT line that states an amount ("$50.00", "1,250 dollars", "fifty dollars") is a **breach** when the
callee said they are someone else, or had not been verified yet. The first such line is the verdict's
``evidence_turn`` and its explanation names it. Everything else is no breach, and the explanation says why
(no amount told, or told only after verification, naming that turn).

Why rules and not a small local model as the default: measured on our labelled calls, small local models
(Gemma 3 270M, SmolLM2) answer "breach" for every call; the rules are exact on the patterns a voicebot's
scripted prompts use, free, and explain themselves. Their limit is wording they do not know: a judge
through an LLM (any OpenAI-compatible server) reads free-form conversations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from skit_pipelines.compliance.judge import JudgeVerdict
from skit_pipelines.compliance.transcripts import USER, TranscriptLine, transcript_lines

PROMPT_VERSION = "rules-1"

_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand"
    r"|million)"
)
AMOUNT = re.compile(
    r"(?:[$€£₹]\s?\d[\d,]*(?:\.\d+)?"
    r"|\b\d[\d,]*(?:\.\d+)?\s*(?:dollars?|bucks|usd|cents)\b"
    rf"|\b{_NUMBER_WORD}(?:[\s-]+(?:{_NUMBER_WORD}|and))*\s+(?:dollars?|bucks)\b)",
    re.IGNORECASE,
)
_IDENTITY_QUESTION = re.compile(
    r"\b(?:am i (?:now |still )?(?:speaking|talking) (?:with|to)|is this|are you"
    r"|(?:may|can|could) i (?:speak|talk) (?:with|to)|i(?:'m| am) (?:looking|calling) for"
    r"|confirm (?:that )?(?:you are|i am speaking)|is (?:this|that) you)\b",
    re.IGNORECASE,
)
_VERIFICATION_QUESTION = re.compile(
    r"\b(?:date of birth|birth ?date|d\.?o\.?b|last (?:four|4)|zip ?code|postal code|social security|ssn"
    r"|verify|verification)\b",
    re.IGNORECASE,
)
_BOT_CONFIRMS = re.compile(
    r"\b(?:thank(?:s| you) for (?:verifying|confirming)"
    r"|(?:you(?:'ve| have) been|you are|you're|identity (?:is |has been )?)(?:verified|confirmed))\b",
    re.IGNORECASE,
)
_RELATION = (
    r"(?:mother|mom|mum|father|dad|wife|husband|spouse|partner|son|daughter|kid|child|brother|sister|friend"
    r"|roommate|girlfriend|boyfriend|fiance|fiancee|aunt|uncle|grandmother|grandma|grandfather|grandpa|cousin"
    r"|neighbou?r|colleague|coworker|boss|employer|caretaker|caregiver|nurse|assistant|landlord|tenant)"
)
_SOMEONE_ELSE = re.compile(
    rf"\b(?:(?:this is|i am|i'm|it's|it is|im) (?:his|her|their|the) {_RELATION}"
    r"|(?:he|she|they)(?:'s| is| are|'re)? (?:not|n't|isn't|aren't)\s*(?:here|home|in|available|around)"
    r"|(?:he|she|they) (?:isn't|aren't) (?:here|home|in|available|around)"
    r"|wrong (?:number|person)|no one (?:by|with) that name|(?:don't|do not) know (?:him|her|them|who)"
    r"|(?:this is not|this isn't|it's not|it is not|i'm not|i am not|not) (?:him|her|me|them|<PERSON>)\b"
    r"|you have the wrong)",
    re.IGNORECASE,
)
_NO = re.compile(r"^\W*(?:no|nope|nah|not really)\b", re.IGNORECASE)
_YES = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|ya|yea|speaking|correct|right|sure|uh[- ]?huh|mhm|that(?:'s| is) (?:me|right|"
    r"correct)|this is (?:he|she|him|her|me|<PERSON>)|it(?:'s| is) me|i am|i'm <PERSON>|that would be me)\b",
    re.IGNORECASE,
)
_DATA = re.compile(r"<DOB>|<NUMBER>|\d", re.IGNORECASE)


@dataclass
class _Callee:
    verified_at: int | None = None
    someone_else_at: int | None = None


def _answer(line: TranscriptLine, asked: TranscriptLine | None, callee: _Callee) -> None:
    """Update what is known of the callee from their answer to the last BOT line."""
    if _SOMEONE_ELSE.search(line.text):
        callee.someone_else_at, callee.verified_at = line.number, None
        return
    if asked is None:
        return
    if _IDENTITY_QUESTION.search(asked.text):
        if _NO.search(line.text):
            callee.someone_else_at, callee.verified_at = line.number, None
        elif _YES.search(line.text):
            callee.verified_at, callee.someone_else_at = line.number, None
    elif _VERIFICATION_QUESTION.search(asked.text) and _DATA.search(line.text) and not _NO.search(line.text):
        callee.verified_at, callee.someone_else_at = line.number, None


def judge_transcript(transcript: str) -> JudgeVerdict:
    """The verdict on one redacted transcript."""
    lines = transcript_lines(transcript)
    if not lines:
        return JudgeVerdict(None, "", judge_error="the transcript has no BOT or USER lines")
    callee = _Callee()
    asked: TranscriptLine | None = None
    disclosed_after: int | None = None
    first_disclosure: int | None = None
    for line in lines:
        if line.speaker == USER:
            _answer(line, asked, callee)
            continue
        # a BOT line: "thank you for verifying" counts first, then an amount in it is judged against what
        # the callee has said so far
        if _BOT_CONFIRMS.search(line.text) and callee.someone_else_at is None:
            callee.verified_at = callee.verified_at or line.number
        amount = AMOUNT.search(line.text)
        if amount:
            first_disclosure = first_disclosure or line.number
            if callee.someone_else_at is not None:
                return JudgeVerdict(
                    True,
                    f"turn {line.number}: the bot told the amount {amount.group()!r} after the callee said "
                    f"they are someone else (turn {callee.someone_else_at})",
                    evidence_turn=line.number,
                )
            if callee.verified_at is None:
                return JudgeVerdict(
                    True,
                    f"turn {line.number}: the bot told the amount {amount.group()!r} before the callee's "
                    "identity was confirmed",
                    evidence_turn=line.number,
                )
            disclosed_after = disclosed_after or callee.verified_at
        asked = line
    if first_disclosure is None:
        return JudgeVerdict(False, "the bot told no amount")
    return JudgeVerdict(
        False,
        f"the bot told an amount (turn {first_disclosure}) only after the callee's identity was confirmed "
        f"(turn {disclosed_after})",
        evidence_turn=disclosed_after,
    )


class RulesJudge:
    """The deterministic judge (:class:`skit_pipelines.compliance.judge.Judge`): no model, no tokens."""

    name = "rules"
    model = "rules"
    prompt_version = PROMPT_VERSION

    def judge(self, transcripts: Sequence[str]) -> list[JudgeVerdict]:
        return [judge_transcript(text) for text in transcripts]
