"""Entity cells and the reference's typed value equality (eevee 1.3 date_eq / time_eq / integer / plain)."""

import json

import pytest

from skit_pipelines.metrics.entity.values import (
    CellError,
    ComparedEntity,
    ValueInterval,
    parse_cell,
    value_problem,
    values_equal,
)


def test_parse_cell_reads_our_shape_and_lowercases_types() -> None:
    cell = json.dumps([{"type": "Date", "value": "2026-03-12", "text": "12 march", "start": 4, "end": 12}])
    assert parse_cell(cell) == (ComparedEntity("date", "2026-03-12", "12 march", 4, 12),)


def test_types_keep_their_spaces_unless_normalised() -> None:
    """The reference lower-cased types and kept them otherwise: " date" and "date" are two types."""
    cell = json.dumps([{"type": " Date ", "value": "2026-03-12"}, {"type": " product kind / card "}])
    as_given = parse_cell(cell)
    assert [e.type for e in as_given] == [" date ", " product kind "]
    assert as_given[1].value == " card "
    normalised = parse_cell(cell, normalise=True)
    assert [(e.type, e.value) for e in normalised] == [("date", "2026-03-12"), ("product kind", "card")]


@pytest.mark.parametrize("cell", ["", "[]", "null", None, float("nan"), "  "])
def test_empty_cells_have_no_entities(cell: object) -> None:
    assert parse_cell(cell) == ()


def test_parse_cell_accepts_slu_shape_single_object_and_legacy_categorical() -> None:
    slu = json.dumps([{"entity_type": "number", "value": 4, "body": "four"}])
    assert parse_cell(slu) == (ComparedEntity("number", 4, "four", None, None),)
    single = json.dumps({"type": "people", "value": 2})
    assert parse_cell(single) == (ComparedEntity("people", 2, "", None, None),)
    legacy = json.dumps([{"type": "product_kind/credit_card", "text": "card"}])
    assert parse_cell(legacy) == (ComparedEntity("product_kind", "credit_card", "card", None, None),)


def test_intervals_accept_bare_and_duckling_ends() -> None:
    bare = parse_cell(json.dumps([{"type": "date", "value": {"from": "2026-03-01", "to": "2026-03-05"}}]))
    duck = parse_cell(json.dumps([{"type": "date", "value": {"from": {"value": "2026-03-01"}}}]))
    assert bare[0].value == ValueInterval("2026-03-01", "2026-03-05")
    assert duck[0].value == ValueInterval("2026-03-01", None)


def test_unusable_offsets_mean_no_span() -> None:
    reversed_span = parse_cell(json.dumps([{"type": "date", "value": "x", "start": 9, "end": 3}]))
    text_offsets = parse_cell(json.dumps([{"type": "date", "value": "x", "start": "1", "end": 3}]))
    assert (reversed_span[0].start, reversed_span[0].end) == (None, None)
    assert (text_offsets[0].start, text_offsets[0].end) == (None, None)


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("{not json", "invalid JSON"),
        ("42", "not a JSON list of entities"),
        (json.dumps(["date"]), "an entity is not a JSON object"),
        (json.dumps([{"value": 3}]), "an entity has no 'type'"),
        (json.dumps([{"type": ""}]), "an entity has no 'type'"),
    ],
)
def test_malformed_cells_raise_with_a_reason(cell: str, reason: str) -> None:
    with pytest.raises(CellError) as info:
        parse_cell(cell)
    assert info.value.reason == reason


# Hand-checked against eevee's own tests (tests/entities/test_datetime_time_date_comp.py), in our value shape.
@pytest.mark.parametrize(
    "truth, pred, same",
    [
        ("2019-04-21T00:00:00+05:30", "2019-04-21T00:00:00+05:30", True),
        ("2019-04-21T00:00:00+05:30", "2019-04-21T09:00:00+05:30", True),  # only the date part counts
        ("2019-04-22T00:00:00+05:30", "2019-04-21T00:00:00+05:30", False),
        ("2019-04-21", "2019-04-21T17:30:00+05:30", True),
        ("2019-04-21", "10:00:00", False),  # a bare time has no date
    ],
)
def test_date_equality(truth: str, pred: str, same: bool) -> None:
    assert values_equal("date", truth, pred) is same


@pytest.mark.parametrize(
    "truth, pred, same",
    [
        ("2019-04-21T00:11:00+05:30", "2019-04-17T00:11:00+05:30", True),  # only the time part counts
        ("2019-04-21T00:00:00+05:30", "2019-04-21T09:00:00+05:30", False),
        ("2019-04-22T00:00:00+05:30", "00:00:00", True),
        ("17:30:00", "2019-04-21T17:30:00+00:00", True),  # wall clock, zones ignored as in the reference
        ("2019-04-21", "00:00:00", True),  # a date-only value is at midnight
    ],
)
def test_time_equality(truth: str, pred: str, same: bool) -> None:
    assert values_equal("time", truth, pred) is same


def test_date_intervals() -> None:
    one_day = ValueInterval("2026-03-12T00:00:00+05:30", "2026-03-13T00:00:00+05:30")  # Duckling's "tomorrow"
    assert values_equal("date", one_day, "2026-03-12")
    assert values_equal("date", "2026-03-12", one_day)
    assert not values_equal("date", "2026-03-13", one_day)
    week = ValueInterval("2026-03-09", "2026-03-15")
    assert values_equal("date", week, ValueInterval("2026-03-09T10:00:00", "2026-03-15T18:00:00"))
    assert not values_equal("date", week, "2026-03-09")  # a range is not one of its days
    assert values_equal(
        "date", ValueInterval("2026-03-09", None), "2026-03-09"
    )  # an open interval names one day
    assert not values_equal("date", week, ValueInterval("2026-03-09", "2026-03-16"))


def test_time_intervals_compare_as_pairs() -> None:
    evening = ValueInterval("18:00:00", "21:00:00")
    assert values_equal("time", evening, ValueInterval("2026-01-01T18:00:00", "2026-01-02T21:00:00"))
    assert not values_equal("time", evening, "18:00:00")


def test_integer_and_plain_equality() -> None:
    assert values_equal("number", 3, 3.0) and values_equal("people", "4", 4)
    assert not values_equal("number", 3, 4)
    assert values_equal("number", "three", "three") and not values_equal("number", "three", 3)
    assert values_equal("product_kind", "credit_card", "credit_card")
    assert not values_equal("product_kind", "credit_card", "Credit_Card")
    assert values_equal("duration", 3600, 3600) and not values_equal("duration", 3600, "3600")


def test_unreadable_values_equal_only_themselves_and_are_reported() -> None:
    assert values_equal("date", "someday", "someday")
    assert not values_equal("date", "someday", "2026-03-12")
    assert value_problem("date", "someday") == "unreadable date/time value"
    assert value_problem("time", ValueInterval("18:00:00", "later")) == "unreadable date/time value"
    assert value_problem("number", 2.5) == "non-integer value"
    assert value_problem("people", None) == "no value"
    assert value_problem("date", "2026-03-12") == "" and value_problem("product_kind", None) == ""
