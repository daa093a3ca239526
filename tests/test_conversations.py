"""The pure side of generate_and_tag_conversations: reading answers into turns, validation, identity, the
offline template generator and the checked request."""

import json

import pytest

from skit_pipelines.conversations.model import (
    BOT,
    USER,
    ConversationFormatError,
    ConversationLimits,
    Turn,
    call_text,
    check_turns,
    conversation_key,
    parse_turns,
    read_output,
)
from skit_pipelines.conversations.request import generation_request_from
from skit_pipelines.conversations.template_generator import (
    GENERATOR,
    MODEL,
    SituationText,
    generate_turns,
    steering_intents,
)
from skit_pipelines.parameters import InvalidArgumentsError, InvalidParameterError
from skit_pipelines.pipeline_checks import pipeline_problems

LIMITS = ConversationLimits(min_turns=4, max_turns=12, max_turn_chars=200)
GOOD = [
    {"speaker": "BOT", "text": "Hello, am I speaking with Jo?"},
    {"speaker": "USER", "text": "yes"},
    {"speaker": "Agent", "text": "Your payment of $50 is due."},
    {"speaker": "customer", "text": "I lost my job, can I pay later?"},
]


def test_answers_in_every_accepted_shape_give_the_same_turns() -> None:
    expected = parse_turns({"turns": GOOD})
    assert [t.speaker for t in expected] == [BOT, USER, BOT, USER]  # synonyms mapped
    lines = "BOT: Hello, am I speaking with Jo?\nUSER: yes\nagent: Your payment of $50 is due.\n" + (
        "Customer: I lost my job, can I pay later?"
    )
    assert parse_turns({"conversation": lines}) == expected
    assert parse_turns(f"<call>\n{lines}\n</call>") == expected
    assert parse_turns(json.dumps(GOOD)) == expected
    assert parse_turns({"conversation": [{"role": t["speaker"], "content": t["text"]} for t in GOOD]}) == (
        expected
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"verdict": "ok"}, "no turns in the answer (keys: verdict; expected 'turns')"),
        ({"turns": "just prose without labels"}, "line 1 has no speaker label"),
        ({"turns": [{"speaker": "BOT"}]}, "turn 1 needs a speaker and a text"),
        ({"turns": [3]}, "turn 1 is a int, not an object"),
    ],
)
def test_unreadable_answers_say_why(answer: object, reason: str) -> None:
    with pytest.raises(ConversationFormatError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_turns(answer)


def test_validation_names_every_problem() -> None:
    assert check_turns(parse_turns({"turns": GOOD}), LIMITS) == []
    turns = (Turn(BOT, "hi"), Turn("Narrator", "meanwhile"), Turn(BOT, ""), Turn(BOT, "x" * 201))
    assert check_turns(turns, LIMITS) == [
        "unknown speaker(s) 'Narrator' (expected BOT or USER)",
        "no USER turn",
        "empty turn(s) 3",
        "turn(s) 4 longer than 200 characters",
    ]
    assert check_turns((Turn(BOT, "hi"), Turn(USER, "yo")), LIMITS) == ["2 turns (expected 4 to 12)"]
    assert check_turns((Turn(BOT, "a"), Turn(USER, "b")) * 7, LIMITS) == ["14 turns (expected 4 to 12)"]


def test_read_output_keeps_the_reason_and_the_raw_answer() -> None:
    common = dict(situation_id=3, number=1, generator="llm", model="m", limits=LIMITS)
    ok = read_output({"turns": GOOD}, raw="{...}", **common)
    assert ok.valid and ok.call.startswith("BOT: Hello") and ok.key == conversation_key(3, ok.turns)
    bad = read_output({"nothing": 1}, raw='{"nothing": 1}', **common)
    assert (
        not bad.valid and bad.problems[0].startswith("unreadable: no turns") and bad.raw == '{"nothing": 1}'
    )
    failed = read_output(None, error="rate_limited: HTTP 429", **common)
    assert failed.problems == ("rate_limited: HTTP 429",)


def test_identity_depends_on_the_situation_and_every_turn() -> None:
    turns = parse_turns({"turns": GOOD})
    assert conversation_key(1, turns) == conversation_key(1, tuple(turns))
    assert conversation_key(1, turns) != conversation_key(2, turns)
    assert conversation_key(1, turns) != conversation_key(1, (*turns[:-1], Turn(USER, "I lost my job.")))
    assert call_text(turns).splitlines()[1] == "USER: yes"


LOST_JOB = SituationText("customer lost job last month", "asks for more time", "PAYMENT_DELAY")
PAID = SituationText("borrower says he already paid", "wants the call to stop", "ALREADY_PAID")


def test_template_generator_is_deterministic_varied_and_valid() -> None:
    first = [generate_turns(LOST_JOB, n) for n in (1, 2, 3)]
    assert first == [generate_turns(LOST_JOB, n) for n in (1, 2, 3)]
    assert len(set(first)) == 3  # another number, another conversation
    for turns in first:
        assert check_turns(turns, ConversationLimits()) == []
        assert turns[0].speaker == BOT and turns[-1].speaker == BOT
        assert turns[-1].text == "Thank you for your time. Have a good day."
    assert generate_turns(PAID, 1) != generate_turns(LOST_JOB, 1)
    assert (GENERATOR, MODEL) == ("template", "demo-dialogue-v1 (template generator, no LLM)")


def test_the_situation_steers_the_template_walk() -> None:
    assert steering_intents(LOST_JOB)[0] == "inform_financial_issue"
    assert steering_intents(PAID) == ("inform_already_paid",)
    paid_bot_lines = {t.text for n in (1, 2) for t in generate_turns(PAID, n) if t.speaker == BOT}
    assert "Thank you. When did you make the payment?" in paid_bot_lines
    hardship = [t.text for t in generate_turns(LOST_JOB, 1) if t.speaker == BOT]
    assert "We can split the amount. Over how many months would you like to pay?" in hardship


def test_request_is_checked_and_normalised() -> None:
    request = generation_request_from(
        situation_id_list="3, 5,3",
        scenario_category=" payment  delay ",
        n_iter=2,
        n_choice=3,
        project_title="gen",
        data_label="uat",
        client_id="acme corp",
    )
    assert request.situation_ids == (3, 5) and request.scenario_category == "PAYMENT DELAY"
    assert (request.per_situation, request.data_label) == (6, "UAT")
    assert request.artifact_folder == "llm_artifacts/generated_conversations/acme_corp_any"


@pytest.mark.parametrize(
    ("arguments", "parameter", "message"),
    [
        ({}, "situation_id_list", "situation_id_list: required, or scenario_category"),
        ({"situation_id_list": "1,x"}, "situation_id_list", "not positive integer ids: 'x'"),
        (
            {"situation_id_list": "1", "project_title": ""},
            "labelstudio_project_id",
            "required, or project_title",
        ),
        (
            {"situation_id_list": "1", "labelstudio_project_id": "4,5"},
            "labelstudio_project_id",
            "one project id, got 2",
        ),
        (
            {"situation_id_list": "1", "labelstudio_project_id": "4", "project_title": "t"},
            "project_title",
            "not both",
        ),
        ({"situation_id_list": "1", "project_title": "t", "n_iter": 0}, "n_iter", "must be at least 1"),
        ({"situation_id_list": "1", "project_title": "t", "n_iter": 11, "n_choice": 10}, "n_iter", "110"),
        (
            {"situation_id_list": "1", "project_title": "t", "data_label": "prod"},
            "data_label",
            "unknown data label",
        ),
    ],
)
def test_bad_requests_name_the_parameter(arguments: dict, parameter: str, message: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        generation_request_from(**arguments)
    assert info.value.parameter == parameter and message in str(info.value)


def test_the_faces_run_the_same_checks() -> None:
    from skit_pipelines.pipelines import get_pipeline
    from skit_pipelines.pipelines.parameters import validate_arguments

    assert (
        pipeline_problems(
            "generate_and_tag_conversations",
            {
                "situation_id_list": "1",
                "scenario_category": "",
                "n_iter": 1,
                "n_choice": 2,
                "labelstudio_project_id": "",
                "project_title": "t",
                "data_label": "",
                "prompt_file_path": "",
            },
        )
        == {}
    )
    with pytest.raises(InvalidArgumentsError) as info:
        validate_arguments(
            "generate_and_tag_conversations",
            get_pipeline("generate_and_tag_conversations"),
            {"situation_id_list": "1,two", "project_title": "t", "prompt_file_path": "gs://x/p.yaml"},
        )
    assert set(info.value.errors) == {"situation_id_list", "prompt_file_path"}
