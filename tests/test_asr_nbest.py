"""The one ASR n-best reader: each mode's accepted shapes, its results and its errors, by hand."""

import json

import pytest

from skit_pipelines.asr_nbest import (
    NbestError,
    NbestMode,
    decode_json_cell,
    first_list_transcripts,
    parse_nbest,
)
from skit_pipelines.errors import SkitPipelinesError

NBEST = '[[{"transcript": "yes", "confidence": 0.9}, {"transcript": "yeah"}], [{"transcript": "no"}]]'

# ----------------------------------------------------------------------------------------------- STRICT


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", []),
        ('[{"transcript": "a"}]', [[{"transcript": "a"}]]),
        ('[[{"transcript": "a"}]]', [[{"transcript": "a"}]]),
    ],
)
def test_nbest_shapes(cell: str, expected: list) -> None:
    assert parse_nbest(cell, NbestMode.STRICT) == expected


@pytest.mark.parametrize("cell", ['"hello"', "[1, 2]", "{not json"])
def test_unreadable_nbest_is_an_error(cell: str) -> None:
    with pytest.raises(ValueError):
        parse_nbest(cell, NbestMode.STRICT)


def test_strict_keeps_every_list_and_field() -> None:
    assert parse_nbest(f"  {NBEST}\n", NbestMode.STRICT) == json.loads(NBEST)
    assert parse_nbest("[]", NbestMode.STRICT) == [] and parse_nbest(None, NbestMode.STRICT) == []


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ('"secret words"', "got a JSON str"),
        ('{"transcript": "secret words"}', "got a JSON dict"),
        ('[[{"transcript": "a"}], ["secret words"]]', "got a JSON list of 2 items"),
        ('[{"transcript": "a"}, "secret words"]', "got a JSON list of 2 items"),
    ],
)
def test_strict_error_says_the_shape_not_the_content(cell: str, says: str) -> None:
    with pytest.raises(NbestError) as failure:
        parse_nbest(cell, NbestMode.STRICT)
    message = str(failure.value)
    assert message.startswith("utterances is not an ASR n-best list (a list of lists of alternatives)")
    assert says in message and "secret" not in message
    assert isinstance(failure.value, SkitPipelinesError) and isinstance(failure.value, ValueError)


def test_first_list_transcripts_of_a_strict_nbest() -> None:
    assert first_list_transcripts(parse_nbest(NBEST, NbestMode.STRICT)) == ["yes", "yeah"]
    assert first_list_transcripts([[{"confidence": 0.5}, {"transcript": 7}]]) == ["", "7"]
    assert first_list_transcripts([]) == []


# ------------------------------------------------------------------------------------------- FIRST_LIST


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (NBEST, ["yes", "yeah"]),
        ('[[{"transcript": "a"}, "noise", {"confidence": 1}]]', ["a", ""]),  # non-dicts skipped, no text: ""
        ('[{"transcript": "flat"}]', []),  # only a list of lists has a first list
        ("[[]]", []),
        ("[]", []),
        ("null", []),
        ("{not json", []),
        ("", []),
        (None, []),
    ],
)
def test_first_list(cell: str | None, expected: list[str]) -> None:
    assert parse_nbest(cell, NbestMode.FIRST_LIST) == expected


# ------------------------------------------------------------------------------------- FIRST_TRANSCRIPT


def test_first_transcript_shapes() -> None:
    first_transcript = lambda value: parse_nbest(value, NbestMode.FIRST_TRANSCRIPT)  # noqa: E731
    assert first_transcript('[[{"transcript": "yes", "confidence": 0.9}, {"transcript": "yeah"}]]') == "yes"
    assert first_transcript('[{"transcript": "no"}]') == "no"
    assert first_transcript("[[]]") == "" and first_transcript(None) == ""
    assert first_transcript("plain words") == "plain words"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('[[{"transcript": "", "text": "from text"}]]', "from text"),
        ('[[[{"transcript": "deep"}]]]', "deep"),
        ([[{"transcript": "decoded"}]], "decoded"),
        ("42", "42"),
        ("null", ""),
        ("[{}]", ""),
        (float("nan"), ""),
        ("{broken", "{broken"),
    ],
)
def test_first_transcript_edges(value: object, expected: str) -> None:
    assert parse_nbest(value, NbestMode.FIRST_TRANSCRIPT) == expected


# ------------------------------------------------------------------------------------- ALL_ALTERNATIVES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('[[{"transcript": "yes", "confidence": 0.9}, {"transcript": "yeah"}]]', ["yes", "yeah"]),
        ([[{"transcript": "yes"}], [{"transcript": "no"}]], ["yes", "no"]),  # several n-best lists, flattened
        ('[{"transcript": " pay my bill "}]', ["pay my bill"]),
        ('["one", "two"]', ["one", "two"]),
        ("plain text turn", ["plain text turn"]),
        ('"[[{\\"transcript\\": \\"double encoded\\"}]]"', ["double encoded"]),
        ("[noise] hello", ["[noise] hello"]),  # looks like JSON, is not: kept as text
        ('[[{"transcript": ""}, {"transcript": "  "}]]', []),
        ("[]", []),
        ("", []),
        (None, []),
        (float("nan"), []),
    ],
)
def test_parse_alternatives(value: object, expected: list[str]) -> None:
    assert parse_nbest(value, NbestMode.ALL_ALTERNATIVES) == expected


def test_all_alternatives_reads_text_keys_and_skips_other_values() -> None:
    assert parse_nbest('[{"text": "a"}, {"other": "b"}, 3, null, [" c "]]', NbestMode.ALL_ALTERNATIVES) == [
        "a",
        "c",
    ]
    assert parse_nbest(NBEST, NbestMode.ALL_ALTERNATIVES) == ["yes", "yeah", "no"]


def test_decode_json_cell() -> None:
    assert decode_json_cell('{"utterances": "[[]]"}') == {"utterances": "[[]]"}
    assert decode_json_cell('"{\\"a\\": 1}"') == {"a": 1}  # double-encoded
    assert decode_json_cell("{broken") == "{broken" and decode_json_cell(5) == 5


def test_mode_must_be_a_mode() -> None:
    with pytest.raises(TypeError):
        parse_nbest("[]", "strict")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('[[{"transcript": "a", "confidence": NaN}]]', ["a"]),  # not strict JSON: json reads it all the same
        ('[[{"transcript": "\\ud800x"}]]', ["\ud800x"]),  # a lone surrogate
        ('[[{"transcript": 18446744073709551616}]]', ["18446744073709551616"]),  # not a float's rendering
        ('[[{"transcript": 1.5}, {"transcript": null}]]', ["1.5", "None"]),
    ],
)
def test_first_list_reads_what_json_reads(cell: str, expected: list[str]) -> None:
    assert parse_nbest(cell, NbestMode.FIRST_LIST) == expected
