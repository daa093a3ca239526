"""In-process entity value parsing: hand-computed expectations.

Reference time unless said otherwise: Wednesday 2024-03-13 10:00 in Asia/Kolkata.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from skit_pipelines.entities import Entity, InProcessParser, entities_from_json, entities_to_json
from skit_pipelines.entities.model import canonical_type
from skit_pipelines.entities.numbers import parse_amount, parse_duration, parse_number, parse_people

IST = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = dt.datetime(2024, 3, 13, 10, 0, tzinfo=IST)

parser = InProcessParser()


def parse(entity_type: str, text: str, reftime: dt.datetime = WEDNESDAY, lang: str = "en"):
    return parser.parse(entity_type, text, reftime, lang)


# -- dates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("today", "en", "2024-03-13"),
        ("tomorrow", "en", "2024-03-14"),
        ("day after tomorrow", "en", "2024-03-15"),
        ("yesterday", "en", "2024-03-12"),
        ("kal", "hi", "2024-03-14"),  # Hindi "kal" is ambiguous; read as the future like Duckling
        ("कल", "hi", "2024-03-14"),
        ("परसों", "hi", "2024-03-15"),
        ("parso", "hi", "2024-03-15"),
        ("mañana", "es", "2024-03-14"),
        ("நாளைக்கு", "ta", "2024-03-14"),
        ("friday", "en", "2024-03-15"),
        ("on friday", "en", "2024-03-15"),
        ("this friday", "en", "2024-03-15"),
        ("next friday", "en", "2024-03-22"),  # the Friday of next calendar week
        ("last friday", "en", "2024-03-08"),
        ("wednesday", "en", "2024-03-20"),  # a bare weekday is after today
        ("agle somvar", "hi", "2024-03-18"),
        ("shukravar ko", "hi", "2024-03-15"),
        ("अगले शुक्रवार", "hi", "2024-03-22"),
        ("agle hafte shukravar", "hi", "2024-03-22"),
        ("el próximo lunes", "es", "2024-03-18"),
        ("el lunes pasado", "es", "2024-03-11"),
        ("அடுத்த வெள்ளிக்கிழமை", "ta", "2024-03-22"),
        ("in 5 days", "en", "2024-03-18"),
        ("in five days", "en", "2024-03-18"),
        ("3 days ago", "en", "2024-03-10"),
        ("do din mein", "hi", "2024-03-15"),
        ("teen din pehle", "hi", "2024-03-10"),
        ("hace 3 días", "es", "2024-03-10"),
        ("a week ago", "en", "2024-03-06"),
        ("next week", "en", "2024-03-18"),  # Monday of next week
        ("last week", "en", "2024-03-04"),
        ("next month", "en", "2024-04-01"),
        ("by the end of the month", "en", "2024-03-31"),
        ("mahine ke end tak", "hi", "2024-03-31"),
        ("the 13th", "en", "2024-03-13"),  # today counts
        ("on the 5th", "en", "2024-04-05"),  # already past this month
        ("5 tarikh ko", "hi", "2024-04-05"),
        ("25th march", "en", "2024-03-25"),
        ("march 25", "en", "2024-03-25"),
        ("10th march", "en", "2025-03-10"),  # past this year: next year
        ("25 march 2023", "en", "2023-03-25"),
        ("friday the 15th", "en", "2024-03-15"),
        # absolute dates in other scripts and formats go to dateparser
        ("25 मार्च", "hi", "2024-03-25"),
        ("el 25 de marzo", "es", "2024-03-25"),
        ("25/03/2024", "en", "2024-03-25"),
        ("2024-03-25", "en", "2024-03-25"),
        ("tomorrow at 5 pm", "en", "2024-03-14"),
    ],
)
def test_dates_relative_to_reftime(text: str, lang: str, expected: str) -> None:
    assert parse("date", text, lang=lang) == expected


def test_day_of_month_skips_months_without_that_day() -> None:
    april = dt.datetime(2024, 4, 10, 9, 0, tzinfo=IST)
    assert parse("date", "on the 31st", april) == "2024-05-31"


def test_next_weekday_from_the_weekend_is_in_the_coming_week() -> None:
    saturday = dt.datetime(2024, 3, 16, 12, 0, tzinfo=IST)
    assert parse("date", "next friday", saturday) == "2024-03-22"
    assert parse("date", "friday", dt.datetime(2024, 3, 15, 12, 0, tzinfo=IST)) == "2024-03-22"


def test_relative_dates_use_the_turns_timezone_not_utc() -> None:
    """One instant, two callers: in Kolkata it is already Thursday 01:30, in New York still Wednesday."""
    instant = dt.datetime(2024, 3, 13, 20, 0, tzinfo=dt.timezone.utc)
    assert parse("date", "tomorrow", instant.astimezone(IST)) == "2024-03-15"
    assert parse("date", "tomorrow", instant.astimezone(NEW_YORK)) == "2024-03-14"
    assert parse("date", "today", instant.astimezone(ZoneInfo("UTC"))) == "2024-03-13"


def test_naive_reftime_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        parse("date", "tomorrow", dt.datetime(2024, 3, 13, 10, 0))


def test_unparseable_dates_are_none() -> None:
    assert parse("date", "whenever i feel like it") is None
    assert parse("date", "") is None


# -- times and datetimes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("at 5 pm", "en", "17:00:00"),
        ("5:30 pm", "en", "17:30:00"),
        ("five pm", "en", "17:00:00"),
        ("17:00", "en", "17:00:00"),
        ("at 9 am", "en", "09:00:00"),
        ("12 am", "en", "00:00:00"),
        ("noon", "en", "12:00:00"),
        ("at 5", "en", "17:00:00"),  # no am/pm: next occurrence after 10:00
        ("around 7 in the evening", "en", "19:00:00"),
        ("in the morning at 9", "en", "09:00:00"),
        ("shaam 5 baje", "hi", "17:00:00"),
        ("subah 9 baje", "hi", "09:00:00"),
        ("dopahar 2 baje", "hi", "14:00:00"),
        ("saade 5 baje", "hi", "17:30:00"),
        ("शाम 5 बजे", "hi", "17:00:00"),
        ("a las 5 de la tarde", "es", "17:00:00"),
        ("சாயங்காலம் 5 மணிக்கு", "ta", "17:00:00"),
        ("after 5 pm", "en", {"from": "17:00:00"}),
        ("5 baje ke baad", "hi", {"from": "17:00:00"}),
        ("before 11 am", "en", {"to": "11:00:00"}),
        ("in the evening", "en", {"from": "18:00:00", "to": "00:00:00"}),
    ],
)
def test_times(text: str, lang: str, expected: object) -> None:
    assert parse("time", text, lang=lang) == expected


def test_ambiguous_hour_is_its_next_occurrence() -> None:
    early = dt.datetime(2024, 3, 13, 4, 0, tzinfo=IST)
    assert parse("time", "at 5", early) == "05:00:00"
    evening = dt.datetime(2024, 3, 13, 18, 0, tzinfo=IST)
    assert parse("datetime", "at 5", evening) == "2024-03-14T05:00:00+05:30"
    # on another named day: its first occurrence that day, as Duckling resolves it
    assert parse("datetime", "tomorrow at 5") == "2024-03-14T05:00:00+05:30"


def test_a_time_entity_needs_a_time_of_day() -> None:
    assert parse("time", "tomorrow") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at 5 pm", "2024-03-14T17:00:00+05:30"),
        ("kal shaam 5 baje", "2024-03-14T17:00:00+05:30"),
        ("tomorrow", "2024-03-14T00:00:00+05:30"),
        ("at 5 pm", "2024-03-13T17:00:00+05:30"),
        ("at 9 am", "2024-03-14T09:00:00+05:30"),  # 09:00 today has passed
        ("in 2 hours", "2024-03-13T12:00:00+05:30"),
        ("tonight", {"from": "2024-03-13T18:00:00+05:30", "to": "2024-03-14T00:00:00+05:30"}),
    ],
)
def test_datetimes_carry_the_turns_offset(text: str, expected: object) -> None:
    assert parse("datetime", text) == expected


def test_datetimes_across_a_dst_change() -> None:
    """New York springs forward on Sunday 2024-03-10 at 02:00 (EST -05:00 → EDT -04:00)."""
    saturday_night = dt.datetime(2024, 3, 9, 22, 0, tzinfo=NEW_YORK)
    assert saturday_night.utcoffset() == dt.timedelta(hours=-5)
    assert parse("datetime", "tomorrow at 5 pm", saturday_night) == "2024-03-10T17:00:00-04:00"
    assert parse("date", "tomorrow", saturday_night) == "2024-03-10"
    before_change = dt.datetime(2024, 3, 10, 1, 30, tzinfo=NEW_YORK)
    # one real hour later the clocks read 03:30 (02:30 never exists that night)
    assert parse("datetime", "in 1 hour", before_change) == "2024-03-10T03:30:00-04:00"
    assert parse("datetime", "in 30 minutes", before_change) == "2024-03-10T03:00:00-04:00"


# -- numbers, amounts, durations, people ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5,000", 5000),
        ("1,00,000", 100000),
        ("5000.50", 5000.5),
        ("five thousand", 5000),
        ("fifteen hundred", 1500),
        ("two hundred and fifty", 250),
        ("twenty five", 25),
        ("a hundred", 100),
        ("2.5k", 2500),
        ("2 lakh 50 thousand", 250000),
        ("1 crore", 10_000_000),
        ("paanch", 5),
        ("paanch hazaar", 5000),
        ("dedh hazaar", 1500),
        ("saade teen hazaar", 3500),
        ("dedh lakh", 150000),
        ("पाँच हज़ार", 5000),
        ("पच्चीस", 25),
        ("ஐந்தாயிரம்", 5000),
        ("doscientos", 200),
        ("dos mil quinientos", 2500),
        ("4 5 6 7", 4567),  # digits read one by one
        ("four five six seven", 4567),
        ("ek do teen char", 1234),
    ],
)
def test_numbers(text: str, expected: float) -> None:
    value = parse_number(text, "en")
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text", ["five twenty", "hello", "", "a", "saade"])
def test_not_numbers(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("₹5000", (5000, "INR")),
        ("₹5,000", (5000, "INR")),
        ("Rs.5000", (5000, "INR")),
        ("rs 500", (500, "INR")),
        ("five thousand rupees only", (5000, "INR")),
        ("paanch hazaar rupaye", (5000, "INR")),
        ("दस हज़ार रुपये", (10000, "INR")),
        ("ஐந்தாயிரம் ரூபாய்", (5000, "INR")),
        ("$250", (250, "USD")),
        ("$2.5k", (2500, "USD")),
        ("fifty bucks", (50, "USD")),
        ("doscientos dólares", (200, "USD")),
        ("£40", (40, "GBP")),
        ("fifty quid", (50, "GBP")),
        ("€12.50", (12.5, "EUR")),
        ("do hazaar", (2000, None)),  # no currency said
    ],
)
def test_amounts(text: str, expected: tuple) -> None:
    assert parse_amount(text) == expected


def test_amount_with_two_currencies_is_not_one_amount() -> None:
    assert parse_amount("$5 and £3") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("three months", 3 * 30 * 86400),  # Duckling's month: 30 days
        ("six months", 6 * 30 * 86400),
        ("chhe mahine", 6 * 30 * 86400),
        ("छह महीने", 6 * 30 * 86400),
        ("ஆறு மாசம்", 6 * 30 * 86400),
        ("seis meses", 6 * 30 * 86400),
        ("a year", 365 * 86400),  # Duckling's year: 365 days
        ("ek saal", 365 * 86400),
        ("un año", 365 * 86400),
        ("3 weeks", 3 * 7 * 86400),
        ("90 seconds", 90),
        ("half an hour", 1800),
        ("aadha ghanta", 1800),
        ("dedh ghanta", 5400),
        ("an hour and a half", 5400),
        ("one and a half hours", 5400),
        ("una hora y media", 5400),
        ("2 hrs 30 mins", 9000),
        ("over six months", 6 * 30 * 86400),
    ],
)
def test_durations_are_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse("duration", text) == seconds


@pytest.mark.parametrize("text", ["5", "soon", "six"])
def test_durations_need_a_unit(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 people", 2),
        ("teen log", 3),
        ("for four", 4),
        ("5", 5),
        ("2.5 people", None),
        ("some people", None),
    ],
)
def test_people(text: str, expected: int | None) -> None:
    assert parse_people(text) == expected


def test_parse_value_carries_the_currency() -> None:
    parsed = parser.parse_value("amount_of_money", "₹5000", WEDNESDAY, "en")
    assert parsed is not None and (parsed.value, parsed.unit) == (5000, "INR")
    assert parser.parse("amount", "₹5000", WEDNESDAY, "en") == 5000


def test_other_types_are_plain_text() -> None:
    assert parse("account_type", "  savings account ") == "savings account"
    assert parse("account_type", "   ") is None


# -- the Entity shape ---------------------------------------------------------------------------------------


def test_entity_round_trips_through_json() -> None:
    entities = [
        Entity("date", "2024-03-14", "kal", 10, 13),
        Entity("amount", 5000, "₹5000", None, None, "INR"),
        Entity("time", {"from": "17:00:00"}, "after 5 pm"),
    ]
    text = entities_to_json(entities)
    assert "₹" in text  # readable, not \\u escapes
    assert entities_from_json(text) == entities
    assert entities[0].to_dict() == {
        "type": "date",
        "value": "2024-03-14",
        "text": "kal",
        "start": 10,
        "end": 13,
    }
    assert entities[1].to_dict()["unit"] == "INR"
    assert entities_from_json("") == []


@pytest.mark.parametrize("bad", [{"value": 1}, {"type": "date", "text": "x", "start": "ten"}, ["date"]])
def test_entity_from_dict_names_what_is_wrong(bad: object) -> None:
    with pytest.raises(ValueError, match="entity"):
        Entity.from_dict(bad)  # type: ignore[arg-type]


def test_canonical_types() -> None:
    assert canonical_type(" Amount_Of_Money ") == "amount"
    assert canonical_type("amount-of-money") == "amount"
    assert canonical_type("DATE") == "date"
    assert canonical_type("product_kind") == "product_kind"
