"""The deterministic compliance judge on hand-written (redacted) transcripts: each case of issue 14."""

from __future__ import annotations

import pytest

from skit_pipelines.compliance.judge import Judge, JudgeVerdict
from skit_pipelines.compliance.rules_judge import AMOUNT, RulesJudge, judge_transcript


def call(*lines: str) -> str:
    return "\n".join(["<call>", *lines, "</call>"])


AMOUNT_TO_THIRD_PARTY = call(
    "BOT: Hello, am I speaking with <PERSON>?",
    "USER: no this is his mother",
    "BOT: Please tell him that the total amount due is $50.00.",
    "USER: okay",
)
AMOUNT_BEFORE_VERIFICATION = call(
    "BOT: Hello, this is a call from ABC Collections about your balance of $1,250.00.",
    "USER: who is this",
    "BOT: Am I speaking with <PERSON>?",
    "USER: yes",
)
VERIFIED_DEBTOR_TOLD = call(
    "BOT: Hello, am I speaking with <PERSON>?",
    "USER: yes speaking",
    "BOT: Thank you. Your outstanding balance is 250 dollars. Can you pay today?",
    "USER: yes I can",
)
THIRD_PARTY_TOLD_NOTHING = call(
    "BOT: Hello, may I speak with <PERSON>?",
    "USER: he's not home right now",
    "BOT: No problem, we will call back later. Goodbye.",
)


def test_amount_told_to_a_third_party_is_a_breach_with_its_turn() -> None:
    verdict = judge_transcript(AMOUNT_TO_THIRD_PARTY)
    assert verdict.is_breach is True and verdict.evidence_turn == 3
    assert "'$50.00'" in verdict.explanation and "someone else (turn 2)" in verdict.explanation
    assert verdict.judge_error == "" and verdict.tokens == 0


def test_amount_told_before_verification_is_a_breach() -> None:
    verdict = judge_transcript(AMOUNT_BEFORE_VERIFICATION)
    assert verdict.is_breach is True and verdict.evidence_turn == 1
    assert "before the callee's identity was confirmed" in verdict.explanation
    assert "'$1,250.00'" in verdict.explanation


def test_a_verified_debtor_may_be_told_the_amount() -> None:
    verdict = judge_transcript(VERIFIED_DEBTOR_TOLD)
    assert verdict.is_breach is False and verdict.evidence_turn == 2
    assert "(turn 3) only after" in verdict.explanation


def test_a_third_party_told_nothing_is_no_breach() -> None:
    verdict = judge_transcript(THIRD_PARTY_TOLD_NOTHING)
    assert verdict == JudgeVerdict(False, "the bot told no amount")


@pytest.mark.parametrize(
    "answer",
    [
        "wrong number",
        "I'm his wife",
        "no, this is not him",
        "she isn't available",
        "i don't know who that is",
    ],
)
def test_ways_of_saying_someone_else(answer: str) -> None:
    verdict = judge_transcript(
        call("BOT: Is this <PERSON>?", f"USER: {answer}", "BOT: The amount due is fifty dollars.")
    )
    assert verdict.is_breach is True and verdict.evidence_turn == 3
    assert "someone else (turn 2)" in verdict.explanation


def test_verification_by_date_of_birth_then_amount_is_no_breach() -> None:
    verdict = judge_transcript(
        call(
            "BOT: To verify your identity, please tell me your date of birth.",
            "USER: it is <DOB>",
            "BOT: Your balance is $75.20.",
        )
    )
    assert verdict.is_breach is False and verdict.evidence_turn == 2


def test_the_bot_confirming_identity_counts_as_verification() -> None:
    verdict = judge_transcript(
        call("BOT: Hi", "USER: hello", "BOT: Thank you for confirming. You owe $20.", "USER: ok")
    )
    assert verdict.is_breach is False and verdict.evidence_turn == 3


def test_the_debtor_coming_to_the_phone_is_verified_again() -> None:
    verdict = judge_transcript(
        call(
            "BOT: Am I speaking with <PERSON>?",
            "USER: no this is his wife, hold on",
            "BOT: Sure. Am I now speaking with <PERSON>?",
            "USER: yes this is him",
            "BOT: Your balance is $300.00.",
        )
    )
    assert verdict.is_breach is False and verdict.evidence_turn == 4


def test_a_yes_to_another_question_is_not_verification() -> None:
    verdict = judge_transcript(
        call("BOT: Do you have a minute?", "USER: yes", "BOT: Your balance is $300.00.")
    )
    assert verdict.is_breach is True and verdict.evidence_turn == 3


def test_an_empty_transcript_is_a_judge_error_not_a_verdict() -> None:
    verdict = judge_transcript("<call>\n</call>")
    assert verdict.is_breach is None and "no BOT or USER lines" in verdict.judge_error


def test_amounts_recognised() -> None:
    found = [m.group() for m in AMOUNT.finditer("$50.00, 1,250 dollars, twenty five dollars, 3 bucks, € 40")]
    assert found == ["$50.00", "1,250 dollars", "twenty five dollars", "3 bucks", "€ 40"]
    assert AMOUNT.search("your account <NUMBER> was opened on March 5, 2026") is None


def test_the_rules_judge_is_a_judge_and_keeps_one_verdict_per_call() -> None:
    judge = RulesJudge()
    assert isinstance(judge, Judge)
    assert (judge.name, judge.model) == ("rules", "rules") and judge.prompt_version
    transcripts = [AMOUNT_TO_THIRD_PARTY, VERIFIED_DEBTOR_TOLD, "", THIRD_PARTY_TOLD_NOTHING]
    verdicts = judge.judge(transcripts)
    assert [v.is_breach for v in verdicts] == [True, False, None, False]


def test_a_verdict_has_a_decision_or_an_error() -> None:
    with pytest.raises(ValueError):
        JudgeVerdict(None, "undecided")
    with pytest.raises(ValueError):
        JudgeVerdict(True, "x", judge_error="also failed")
