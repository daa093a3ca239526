"""Parsing LLM situations and situation id lists (skit_pipelines.situations): pure, no database."""

import json

import pytest

from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.pipeline_checks import pipeline_problems
from skit_pipelines.situations import (
    Situation,
    parse_situation_ids,
    parse_situations,
    parse_situations_file,
)


def test_entries_are_normalised_as_the_reference_did() -> None:
    (parsed,) = parse_situations("  Customer Lost  JOB ::Asks For\tTime:: payment_delay ")
    assert parsed == Situation("customer lost job", "asks for time", "PAYMENT_DELAY")
    assert str(parsed) == "customer lost job::asks for time::PAYMENT_DELAY"


@pytest.mark.parametrize(
    "text",
    [
        "a::b::c|d::e::f",
        "a::b::c\nd::e::f\n",
        "a::b::c||\n|d::e::f",
        json.dumps(["a::b::c", "d::e::f"]),
    ],
)
def test_entries_are_separated_by_new_lines_bars_or_a_json_list(text: str) -> None:
    assert parse_situations(text) == (Situation("a", "b", "C"), Situation("d", "e", "F"))


def test_entries_equal_after_normalising_count_once_in_order() -> None:
    assert parse_situations("x::y::Z|A::b::c|X:: Y ::z") == (
        Situation("x", "y", "Z"),
        Situation("a", "b", "C"),
    )


def test_every_bad_entry_is_named_in_one_error() -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_situations("good::one::OK|lost job::PAYMENT_DELAY|a::::C|a::b::c::d")
    message = str(info.value)
    assert info.value.parameter == "situations"
    assert "entry 2 'lost job::PAYMENT_DELAY' has 2 part(s)" in message
    assert "entry 3 'a::::C': empty scenario" in message
    assert "entry 4 'a::b::c::d' has 4 part(s)" in message
    assert "entry 1" not in message


@pytest.mark.parametrize("text", ["", "  ", "|\n|", "[]"])
def test_no_entries_is_an_error(text: str) -> None:
    with pytest.raises(InvalidParameterError, match="situations: no situations given"):
        parse_situations(text)


def test_a_bad_json_list_and_an_overlong_category_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="JSON list of situations must hold strings"):
        parse_situations(json.dumps([{"situation": "a"}]))
    with pytest.raises(InvalidParameterError, match="does not parse"):
        parse_situations('["a::b::c",')
    with pytest.raises(InvalidParameterError, match="too long"):
        parse_situations("a::b::" + "C" * 512)


def test_csv_json_and_text_files() -> None:
    csv_text = "scenario,situation,scenario_category,notes\nAsks Time,Lost Job,delay,x\n,,,\nb,a,c,\n"
    assert parse_situations_file("s3://b/k/situations.CSV", csv_text) == (
        Situation("lost job", "asks time", "DELAY"),
        Situation("a", "b", "C"),
    )
    json_text = json.dumps(["a::b::c", {"situation": "D", "scenario": "E", "scenario_category": "f"}])
    assert parse_situations_file("/tmp/s.json", json_text) == (
        Situation("a", "b", "C"),
        Situation("d", "e", "F"),
    )
    assert parse_situations_file("/tmp/s.txt", "a::b::c\n\nd::e::f\n") == (
        Situation("a", "b", "C"),
        Situation("d", "e", "F"),
    )


def test_file_errors_name_the_file_and_the_rows() -> None:
    with pytest.raises(
        ValueError, match=r"s\.csv: missing column\(s\) scenario_category \(has situation, scenario\)"
    ):
        parse_situations_file("s.csv", "situation,scenario\na,b\n")
    with pytest.raises(ValueError, match=r"s\.json item 2: missing scenario_category"):
        parse_situations_file("s.json", json.dumps(["a::b::c", {"situation": "a", "scenario": "b"}]))
    with pytest.raises(ValueError, match=r"s\.txt item 1 'a::b' has 2 part\(s\)"):
        parse_situations_file("s.txt", "a::b\n")
    with pytest.raises(ValueError, match="no situations in the file"):
        parse_situations_file("s.csv", "situation,scenario,scenario_category\n")


def test_id_lists() -> None:
    assert parse_situation_ids("3, 5,3,,7,") == (3, 5, 7)
    assert parse_situation_ids(" 12 ") == (12,)


@pytest.mark.parametrize("value", ["", "  ", ",", None])
def test_an_empty_id_list_is_refused(value: str | None) -> None:
    with pytest.raises(InvalidParameterError, match="situation_id_list: required"):
        parse_situation_ids(value)


def test_every_bad_id_is_named() -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_situation_ids("1,x,2.5,-3,0,٣,4")
    assert info.value.parameter == "situation_id_list"
    assert str(info.value) == "situation_id_list: not positive integer ids: 'x', '2.5', '-3', '0', '٣'"


def test_the_pipeline_checks_use_these_rules() -> None:
    assert pipeline_problems("invalidate_llm_situations_in_db", {"situation_id_list": "1,a"}) == {
        "situation_id_list": "situation_id_list: not positive integer ids: 'a'"
    }
    assert pipeline_problems("invalidate_llm_situations_in_db", {"situation_id_list": "1,2"}) == {}
    problems = pipeline_problems("add_llm_situations", {"situations": "", "situations_path": ""})
    assert problems["situations"].startswith("situations: required, or situations_path")
    problems = pipeline_problems("add_llm_situations", {"situations": "a::b", "situations_path": ""})
    assert "has 2 part(s)" in problems["situations"]
    assert pipeline_problems("add_llm_situations", {"situations": "", "situations_path": "/x/s.csv"}) == {}
    problems = pipeline_problems("add_llm_situations", {"situations": "", "situations_path": "gs://b/s.csv"})
    assert "situations_path" in problems
