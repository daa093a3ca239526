"""The Duckling client against a fake Duckling speaking its /parse protocol on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from skit_pipelines.config import get_settings
from skit_pipelines.entities import InProcessParser, get_entity_parser, truth_entities_from_spans
from skit_pipelines.entities.duckling import DucklingError, DucklingParser, duckling_locale
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from tests.fakes.duckling_server import FakeDuckling

pytest_plugins = ["tests.fakes.duckling_server"]

IST = ZoneInfo("Asia/Kolkata")
REFTIME = dt.datetime(2024, 3, 13, 10, 0, tzinfo=IST)  # Wednesday; epoch ms 1710304200000


@pytest.fixture
def duckling(duckling_server: FakeDuckling):
    with DucklingParser(duckling_server.url, backoff=0.01) as parser:
        yield parser


def test_request_speaks_duckling_protocol(duckling: DucklingParser, duckling_server: FakeDuckling) -> None:
    assert duckling.parse("date", "tomorrow", REFTIME, "en") == "2024-03-14"
    (request,) = duckling_server.requests
    assert request.path == "/parse"
    assert request.form == {
        "text": "tomorrow",
        "lang": "en",
        "locale": "en_IN",
        "dims": '["time"]',
        "reftime": "1710304200000",
        "tz": "Asia/Kolkata",
        "latent": "true",
    }


@pytest.mark.parametrize(
    ("entity_type", "text", "expected", "unit"),
    [
        ("date", "tomorrow", "2024-03-14", None),
        ("datetime", "tomorrow", "2024-03-14T00:00:00+05:30", None),
        ("time", "tomorrow at 5 pm", "17:00:00", None),
        ("datetime", "tomorrow at 5 pm", "2024-03-14T17:00:00+05:30", None),
        ("date", "next friday", "2024-03-22", None),
        ("time", "after 5 pm", {"from": "17:00:00"}, None),
        ("duration", "three months", 7776000, None),  # normalized seconds, never milliseconds
        ("duration", "90 minutes", 5400, None),
        ("amount", "five thousand rupees", 5000, "INR"),
        ("amount_of_money", "$250", 250, "USD"),
        ("amount", "between 5 and 10 dollars", {"from": 5, "to": 10}, "USD"),
        ("amount", "5000", 5000, None),  # no currency said: Duckling's number
        ("number", "five thousand rupees", 5000, None),
        ("people", "four", 4, None),
    ],
)
def test_values_are_mapped_to_our_formats(
    duckling: DucklingParser, entity_type: str, text: str, expected: object, unit: str | None
) -> None:
    parsed = duckling.parse_value(entity_type, text, REFTIME, "en")
    assert parsed is not None
    assert (parsed.value, parsed.unit) == (expected, unit)


def test_dims_per_type(duckling: DucklingParser, duckling_server: FakeDuckling) -> None:
    duckling.parse("amount", "5000", REFTIME, "en")
    duckling.parse("duration", "three months", REFTIME, "en")
    duckling.parse("people", "four", REFTIME, "en")
    dims = [r.dims for r in duckling_server.requests]
    assert dims == [["amount-of-money", "number"], ["duration"], ["number"]]


def test_nothing_found_or_wrong_kind_is_none(duckling: DucklingParser) -> None:
    assert duckling.parse("date", "gibberish", REFTIME, "en") is None
    assert duckling.parse("time", "tomorrow", REFTIME, "en") is None  # a day grain has no time of day
    assert duckling.parse("people", "two and a half", REFTIME, "en") is None


def test_categorical_types_never_call_duckling(
    duckling: DucklingParser, duckling_server: FakeDuckling
) -> None:
    assert duckling.parse("product_kind", "credit card", REFTIME, "en") == "credit card"
    assert duckling_server.requests == []


def test_reftime_and_timezone_follow_the_turn(
    duckling: DucklingParser, duckling_server: FakeDuckling
) -> None:
    """The same instant is Thursday in Kolkata and Wednesday in New York; the answer is in the turn's zone."""
    instant = dt.datetime(2024, 3, 13, 20, 0, tzinfo=dt.timezone.utc)
    new_york = instant.astimezone(ZoneInfo("America/New_York"))
    assert duckling.parse("date", "tomorrow", instant.astimezone(IST), "en") == "2024-03-15"
    assert duckling.parse("datetime", "tomorrow", new_york, "en") == "2024-03-14T00:00:00-04:00"
    assert [(r.form["tz"], r.form["reftime"], r.form["locale"]) for r in duckling_server.requests] == [
        ("Asia/Kolkata", "1710360000000", "en_IN"),
        ("America/New_York", "1710360000000", "en_US"),
    ]


def test_truth_spans_through_duckling(duckling: DucklingParser) -> None:
    spans = [
        {"value": {"start": 0, "end": 8, "text": "tomorrow", "labels": ["date"]}},
        {"value": {"start": 12, "end": 16, "text": "$250", "labels": ["amount"]}},
    ]
    entities, problems = truth_entities_from_spans(spans, reftime=REFTIME, lang="en", parser=duckling)
    assert problems == []
    assert [e.to_dict() for e in entities] == [
        {"type": "date", "value": "2024-03-14", "text": "tomorrow", "start": 0, "end": 8},
        {"type": "amount", "value": 250, "text": "$250", "start": 12, "end": 16, "unit": "USD"},
    ]


def test_5xx_answers_are_retried(duckling: DucklingParser, duckling_server: FakeDuckling) -> None:
    duckling_server.fail(times=2, status=503)
    assert duckling.parse("date", "tomorrow", REFTIME, "en") == "2024-03-14"
    assert len(duckling_server.requests) == 3


def test_persistent_failure_names_the_url(duckling: DucklingParser, duckling_server: FakeDuckling) -> None:
    duckling_server.fail(times=3, status=500)
    message = f"Duckling at {duckling_server.url} is unreachable or failing after 3 attempts"
    with pytest.raises(DucklingError, match=message):
        duckling.parse("date", "tomorrow", REFTIME, "en")


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with DucklingParser(url, backoff=0.01) as parser:
        with pytest.raises(DucklingError, match=f"Duckling at {url} is unreachable") as raised:
            parser.parse("date", "tomorrow", REFTIME, "en")
    assert "ConnectError" in str(raised.value)


def test_a_4xx_answer_is_an_error_not_a_retry(
    duckling: DucklingParser, duckling_server: FakeDuckling
) -> None:
    duckling_server.fail(times=1, status=422)
    with pytest.raises(DucklingError, match="rejected the request \\(HTTP 422\\)"):
        duckling.parse("date", "tomorrow", REFTIME, "en")
    assert len(duckling_server.requests) == 1


def test_fake_speaks_the_protocol_for_missing_text(duckling_server: FakeDuckling) -> None:
    import httpx

    response = httpx.post(f"{duckling_server.url}/parse", data={"locale": "en_US"})
    assert (response.status_code, response.text) == (422, "Need a 'text' parameter to parse")
    form = {"text": "5000", "reftime": "0", "tz": "UTC"}
    answer = httpx.post(f"{duckling_server.url}/parse", data=form).json()
    assert answer == [
        {
            "body": "5000",
            "start": 0,
            "end": 4,
            "dim": "number",
            "latent": False,
            "value": {"value": 5000, "type": "value"},
        }
    ]
    assert json.loads(duckling_server.requests[-1].form.get("dims", "[]")) == []


def test_fixed_offset_reftime_cannot_be_sent(duckling: DucklingParser) -> None:
    fixed = dt.datetime(2024, 3, 13, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    with pytest.raises(ValueError, match="IANA"):
        duckling.parse("date", "tomorrow", fixed, "en")


@pytest.mark.parametrize(
    ("lang", "tz", "locale"),
    [
        ("en", "Asia/Kolkata", "en_IN"),
        ("en-US", "Asia/Kolkata", "en_US"),
        ("hi_IN", "UTC", "hi_IN"),
        ("hi", "UTC", "hi_IN"),
        ("en", "America/Chicago", "en_US"),
        ("en", "Europe/London", "en_GB"),
        ("es", "America/New_York", None),  # no region can be told: only lang=es is sent
        ("en", "UTC", None),
    ],
)
def test_locale(lang: str, tz: str, locale: str | None) -> None:
    assert duckling_locale(lang, tz) == locale


def test_get_entity_parser_picks_duckling_when_configured(
    settings_env: SettingsEnv, duckling_server: FakeDuckling
) -> None:
    settings_env(SKIT_DUCKLING_URL=None)
    assert isinstance(get_entity_parser(get_settings().duckling_url), InProcessParser)
    settings_env(SKIT_DUCKLING_URL=duckling_server.url)
    with get_entity_parser(get_settings().duckling_url) as parser:
        assert isinstance(parser, DucklingParser) and parser.url == duckling_server.url
        assert parser.parse("date", "tomorrow", REFTIME, "en") == "2024-03-14"
    assert len(duckling_server.requests) == 1


def test_a_bad_duckling_url_is_refused() -> None:
    with pytest.raises(ValueError, match="SKIT_DUCKLING_URL must be an http"):
        DucklingParser("localhost:8000")
