"""Truth entities from Label Studio spans, and production predictions, normalised to one Entity shape."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from skit_pipelines.entities import (
    Entity,
    InProcessParser,
    entities_from_json,
    entities_to_json,
    normalise_predicted_entities,
    parse_reftime,
    truth_entities_from_spans,
)

IST = ZoneInfo("Asia/Kolkata")
REFTIME = dt.datetime(2024, 3, 13, 10, 0, tzinfo=IST)  # a Wednesday
parser = InProcessParser()


def truth(spans, lang: str = "en"):
    return truth_entities_from_spans(spans, reftime=REFTIME, lang=lang, parser=parser)


def predicted(raw, lang: str = "en"):
    return normalise_predicted_entities(raw, reftime=REFTIME, lang=lang, parser=parser)


def ls_span(start: int, end: int, text: str, label: str, **extra) -> dict:
    """A Label Studio span result as the export API returns it."""
    return {
        "id": f"r{start}",
        "from_name": "entities",
        "to_name": "text",
        "type": "labels",
        "origin": "manual",
        "value": {"start": start, "end": end, "text": text, "labels": [label]},
        **extra,
    }


# -- truth --------------------------------------------------------------------------------------------------


def test_label_studio_spans_become_entities_with_offsets_and_values() -> None:
    utterance = "i will pay ₹5000 kal shaam 5 baje for my credit card"
    result = [
        # the annotation's intent choice sits in the same result list: not an entity, not a problem
        {
            "id": "i1",
            "from_name": "tag",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["inform_ptp"]},
        },
        ls_span(41, 52, "credit card", "product_kind/credit_card"),
        ls_span(17, 33, "kal shaam 5 baje", "datetime"),
        ls_span(11, 16, "₹5000", "amount"),
    ]
    for item in result[1:]:
        value = item["value"]
        assert utterance[value["start"] : value["end"]] == value["text"]
    entities, problems = truth(result, lang="hi")
    assert problems == []
    assert entities == [  # sorted by offset
        Entity("amount", 5000, "₹5000", 11, 16, "INR"),
        Entity("datetime", "2024-03-14T17:00:00+05:30", "kal shaam 5 baje", 17, 33),
        Entity("product_kind", "credit_card", "credit card", 41, 52),
    ]


def test_plain_span_shape_and_json_strings_are_accepted() -> None:
    spans = json.dumps([{"start": 0, "end": 8, "text": "tomorrow", "labels": ["DATE"]}])
    entities, problems = truth(spans)
    assert problems == []
    assert entities == [Entity("date", "2024-03-14", "tomorrow", 0, 8)]


def test_tog_shape_with_type_instead_of_labels() -> None:
    entities, problems = truth(
        [{"type": "product_kind/credit_card", "text": "credit card"}, {"type": "Date", "text": "kal"}],
        lang="hi",
    )
    assert problems == []
    assert entities == [
        Entity("product_kind", "credit_card", "credit card"),
        Entity("date", "2024-03-14", "kal"),
    ]


def test_each_label_of_a_multi_label_span_is_an_entity() -> None:
    entities, _ = truth([{"start": 0, "end": 4, "text": "4567", "labels": ["number", "account/savings"]}])
    assert [(e.type, e.value) for e in entities] == [("number", 4567), ("account", "savings")]


def test_unparseable_values_are_kept_with_none_and_reported() -> None:
    entities, problems = truth([ls_span(0, 9, "some time", "date"), ls_span(10, 14, "lots", "number")])
    assert [(e.type, e.value) for e in entities] == [("date", None), ("number", None)]
    assert problems == [
        "span #0 'some time' [0:9]: could not parse a date value",
        "span #1 'lots' [10:14]: could not parse a number value",
    ]


def test_bad_shapes_are_listed_not_raised() -> None:
    spans = [
        "not an object",
        {"value": {"start": 0, "end": 3, "text": "abc"}},  # no labels
        {"value": {"start": 0, "end": 3, "text": "", "labels": ["date"]}},  # no text
        {"value": {"start": 5, "end": 2, "text": "kal", "labels": ["date"]}},  # end before start
        {"value": {"start": "x", "end": 3, "text": "kal", "labels": ["date"]}},
        {"value": {"start": 0, "end": 3, "text": "kal", "labels": []}},
    ]
    entities, problems = truth(spans)
    assert len(problems) == 6
    assert problems[0].startswith("span #0: expected an object, got str")
    assert "span #1: expected 'labels'" in problems[1]
    assert problems[2] == "span #2 labelled 'date': no span text"
    assert problems[3] == "span #3 'kal' [None:None]: end 2 is before start 5; offsets dropped"
    assert "offsets must be non-negative integers" in problems[4]
    assert "span #5: expected 'labels'" in problems[5]
    # spans with bad offsets still count as entities (their value is fine)
    assert entities == [Entity("date", "2024-03-14", "kal", None, None)] * 2


def test_empty_and_undecodable_truth() -> None:
    assert truth(None) == ([], [])
    assert truth("") == ([], [])
    assert truth(float("nan")) == ([], [])
    entities, problems = truth("{not json")
    assert entities == [] and problems[0].startswith("spans: not JSON")


# -- predictions --------------------------------------------------------------------------------------------


def test_production_shapes() -> None:
    raw = [
        {"entity_type": "date", "value": "2024-03-15T00:00:00+05:30", "body": "on friday"},
        {"type": "time", "value": "2024-03-14T17:00:00+05:30", "text": "at 5 pm", "start": 3, "end": 10},
        {"entity_type": "amount_of_money", "value": {"value": 250, "unit": "$"}, "body": "$250"},
        {"entity_type": "number", "value": "4,567", "body": "four five six seven"},
        {
            "entity_type": "duration",
            "value": {"value": 3, "unit": "month", "normalized": {"value": 7776000, "unit": "second"}},
            "body": "three months",
        },
        {"entity_type": "time", "value": {"from": "2024-03-13T17:00:00+05:30"}, "body": "after 5 pm"},
        {
            "entity_type": "date",
            "value": {
                "type": "interval",
                "from": {"value": "2024-03-18T00:00:00+05:30"},
                "to": {"value": "2024-03-25T00:00:00+05:30"},
            },
            "body": "next week",
        },
        {"entity_type": "product_kind", "value": "credit_card", "body": "credit card"},
        {"entity_type": "product_kind/debit_card", "body": "debit card"},
        {"entity_type": "people", "value": 2.0, "body": "two of us"},
    ]
    entities, problems = predicted(json.dumps(raw))
    assert problems == []
    assert [e.to_dict() for e in entities] == [
        {"type": "date", "value": "2024-03-15", "text": "on friday", "start": None, "end": None},
        {"type": "time", "value": "17:00:00", "text": "at 5 pm", "start": 3, "end": 10},
        {"type": "amount", "value": 250, "text": "$250", "start": None, "end": None, "unit": "USD"},
        {"type": "number", "value": 4567, "text": "four five six seven", "start": None, "end": None},
        {"type": "duration", "value": 7776000, "text": "three months", "start": None, "end": None},
        {"type": "time", "value": {"from": "17:00:00"}, "text": "after 5 pm", "start": None, "end": None},
        {
            "type": "date",
            "value": {"from": "2024-03-18", "to": "2024-03-25"},
            "text": "next week",
            "start": None,
            "end": None,
        },
        {"type": "product_kind", "value": "credit_card", "text": "credit card", "start": None, "end": None},
        {"type": "product_kind", "value": "debit_card", "text": "debit card", "start": None, "end": None},
        {"type": "people", "value": 2, "text": "two of us", "start": None, "end": None},
    ]


def test_predicted_values_are_converted_into_the_turns_timezone() -> None:
    # 18:30 UTC on the 14th is midnight of the 15th in India
    entities, _ = predicted(
        [
            {"entity_type": "date", "value": "2024-03-14T18:30:00Z", "body": "friday"},
            {"entity_type": "datetime", "value": "2024-03-14T11:30:00Z", "body": "x"},
        ]
    )
    assert [e.value for e in entities] == ["2024-03-15", "2024-03-14T17:00:00+05:30"]


def test_duckling_grain_tells_a_day_from_midnight() -> None:
    raw = [
        {
            "entity_type": "time",
            "value": {"value": "2024-03-14T00:00:00.000+05:30", "grain": "day"},
            "body": "tomorrow",
        }
    ]
    entities, problems = predicted(raw)
    assert entities[0].value is None
    assert problems == [
        "entity #0 time='tomorrow': unreadable time value "
        "{'value': '2024-03-14T00:00:00.000+05:30', 'grain': 'day'}"
    ]


def test_missing_value_is_parsed_from_the_text() -> None:
    entities, problems = predicted([{"entity_type": "date", "body": "kal"}], lang="hi")
    assert problems == [] and entities[0].value == "2024-03-14"


def test_bad_predictions_are_listed_not_raised() -> None:
    raw = [
        42,
        {"value": "x", "body": "y"},  # no type
        {"entity_type": "number", "value": "many", "body": "many"},
        {"entity_type": "people", "value": 2.5, "body": "two and a half"},
        {"entity_type": "date", "value": 1710288000000, "body": "?"},
        {"entity_type": "colour", "value": ["red"], "body": "red"},
    ]
    entities, problems = predicted(raw)
    assert [(e.type, e.value) for e in entities] == [
        ("number", None),
        ("people", None),
        ("date", None),
        ("colour", None),
    ]
    assert problems[0].startswith("entity #0: expected an object, got int")
    assert problems[1].startswith("entity #1: no 'entity_type' or 'type'")
    assert problems[2] == "entity #2 number='many': unreadable number value 'many'"
    assert problems[3] == "entity #3 people='two and a half': unreadable people value 2.5"
    assert problems[4] == "entity #4 date='?': unreadable date value 1710288000000"
    assert problems[5] == "entity #5 colour='red': categorical value must be a string, got ['red']"


def test_prediction_containers() -> None:
    one = {"entity_type": "number", "value": 5, "body": "five"}
    assert predicted(None) == ([], [])
    assert predicted("[]") == ([], [])
    assert predicted(json.dumps(json.dumps([one])))[0] == [Entity("number", 5, "five")]  # double-encoded
    assert predicted({"entities": [one]})[0] == [Entity("number", 5, "five")]
    assert predicted(one)[0] == [Entity("number", 5, "five")]
    entities, problems = predicted('"just a string"')
    assert entities == [] and problems[0].startswith("entities: expected a JSON list, got str")


def test_parse_reftime() -> None:
    assert parse_reftime("2024-03-13T04:30:00+00:00", "Asia/Kolkata") == REFTIME
    assert parse_reftime("2024-03-13 10:00:00", "Asia/Kolkata") == REFTIME  # naive: wall clock in the tz
    assert parse_reftime(REFTIME, "America/New_York").isoformat() == "2024-03-13T00:30:00-04:00"
    with pytest.raises(ValueError, match="reftime 'soon'"):
        parse_reftime("soon", "UTC")


# -- the demo warehouse's production shape ------------------------------------------------------------------


def test_demo_warehouse_entities_normalise_and_match_its_truth(tmp_path: Path) -> None:
    """Every production entity the demo generator writes normalises without a problem, and the in-process
    parser reads the demo's own spoken truth back to the demo's true value for nearly every entity (the
    known differences are documented conventions: future reading of bare weekdays/``kal``, intervals for
    ``after 5 pm``)."""
    import sqlalchemy as sa

    from skit_pipelines.warehouse import demo_data as demo
    from skit_pipelines.warehouse import schema

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo.generate_demo_warehouse(url, calls=150, seed=7, end_date=dt.date(2024, 3, 15))
    engine = sa.create_engine(url)
    query = sa.select(
        schema.turns.c.reftime,
        schema.turns.c.entities,
        schema.turns.c.context,
        schema.calls.c.timezone,
        schema.calls.c.language,
    ).join(schema.calls, schema.calls.c.id == schema.turns.c.call_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    engine.dispose()
    n_predicted = agree = total = unparsed = 0
    for reftime, raw_entities, context, timezone, lang in rows:
        utc = reftime.replace(tzinfo=dt.timezone.utc) if reftime.tzinfo is None else reftime
        local = parse_reftime(utc, timezone)
        entities, problems = normalise_predicted_entities(
            raw_entities, reftime=local, lang=lang, parser=parser
        )
        assert problems == []
        n_predicted += len(entities)
        context = json.loads(context) if isinstance(context, str) else context
        true = context.get("demo_true_entities") or []
        spans = [{"text": e["text"], "labels": [e["type"]]} for e in true]
        parsed, _ = truth_entities_from_spans(spans, reftime=local, lang=lang, parser=parser)
        expected, _ = normalise_predicted_entities(true, reftime=local, lang=lang, parser=parser)
        for ours, theirs in zip(parsed, expected, strict=True):
            total += 1
            unparsed += ours.value is None
            agree += ours.value == theirs.value
        assert entities_from_json(entities_to_json(entities)) == entities
    assert n_predicted > 50 and total > 50
    assert unparsed <= 0.02 * total
    assert agree >= 0.85 * total


def test_locate_spans_places_predictions_without_offsets() -> None:
    from skit_pipelines.entities import Entity, locate_spans

    text = "pay 500 on Friday, not 500 today"
    entities = [
        Entity("amount", 500, "500", None, None),
        Entity("amount", 500, "500", None, None),  # the second occurrence, not the same span twice
        Entity("date", "2026-03-13", "friday", None, None),  # case-insensitive
        Entity("date", "2026-03-10", "tomorrow", None, None),  # not in the text: stays unplaced
        Entity("number", 7, "7", 0, 3),  # already placed: untouched
    ]
    placed = locate_spans(entities, text)
    assert [(e.start, e.end) for e in placed] == [(4, 7), (23, 26), (11, 17), (None, None), (0, 3)]
    assert entities[0].start is None  # the input is not modified
    assert locate_spans(entities, "") == entities
