"""Parameters of "Random sample calls" are validated by name before any query runs."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from skit_pipelines.warehouse.filters import (
    CALL_FILTER_PARAMETERS,
    DEFAULT_CALL_TYPES,
    DEFAULT_IGNORED_CALLERS,
    CallFilters,
    InvalidParameterError,
    build_call_filters,
    call_filters_from,
    parse_time_offset,
    split_list,
)
from tests.conftest import SettingsEnv

NOW = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)  # 2026-03-11 01:30 in Asia/Kolkata


def test_defaults_are_today_in_the_timezone() -> None:
    f = build_call_filters(lang="en", timezone="Asia/Kolkata", now=NOW)
    ist = ZoneInfo("Asia/Kolkata")
    assert f.start == dt.datetime(2026, 3, 11, tzinfo=ist)
    assert f.end == dt.datetime(2026, 3, 12, tzinfo=ist)
    assert f.call_types == DEFAULT_CALL_TYPES
    assert f.ignore_callers == DEFAULT_IGNORED_CALLERS
    assert f.min_duration is None


def test_empty_timezone_uses_the_setting(settings_env: SettingsEnv) -> None:

    settings_env(SKIT_TIMEZONE="America/New_York")
    f = build_call_filters(lang="en", now=NOW)
    assert f.timezone == "America/New_York"
    assert f.start.date() == dt.date(2026, 3, 10)


def test_offsets_and_times_of_day() -> None:
    f = build_call_filters(
        lang="hi",
        start_date="2026-01-10",
        end_date="2026-01-10",
        start_date_offset=-2,
        end_date_offset=1,
        start_time_offset=930,
        end_time_offset=18,
        timezone="UTC",
        now=NOW,
    )
    assert f.start == dt.datetime(2026, 1, 8, 9, 30, tzinfo=ZoneInfo("UTC"))
    assert f.end == dt.datetime(2026, 1, 11, 18, 0, tzinfo=ZoneInfo("UTC"))


def test_lists_are_split_and_trimmed() -> None:
    f = build_call_filters(
        lang="en",
        client_id=" 7, 12,,7",
        ignore_callers="+911234,5555",
        call_type="inbound, call_test",
        states="COF,PAYMENT_DATE",
        intents="_confirm_",
        asr_provider="google",
        min_duration="12.5",
        now=NOW,
    )
    assert f.client_ids == ("7", "12")
    assert f.ignore_callers == ("+911234", "5555")  # a list of callers, never a set of characters
    assert f.call_types == ("INBOUND", "CALL_TEST")
    assert f.states == ("COF", "PAYMENT_DATE") and f.intents == ("_confirm_",)
    assert f.filters_turns
    assert f.min_duration == 12.5


@pytest.mark.parametrize(
    ("kwargs", "parameter", "fragment"),
    [
        ({"lang": ""}, "lang", "required"),
        ({"lang": "english please"}, "lang", "language code"),
        ({"lang": "en", "start_date": "2026-13-01"}, "start_date", "YYYY-MM-DD"),
        ({"lang": "en", "end_date": "yesterday"}, "end_date", "YYYY-MM-DD"),
        (
            {"lang": "en", "start_date": "2026-02-02", "end_date": "2026-02-01"},
            "start_date",
            "before the end",
        ),
        ({"lang": "en", "timezone": "Mars/Olympus"}, "timezone", "unknown timezone"),
        ({"lang": "en", "call_type": "INBOUND,PHONE"}, "call_type", "PHONE"),
        ({"lang": "en", "min_duration": "long"}, "min_duration", "seconds"),
        ({"lang": "en", "min_duration": "-1"}, "min_duration", ">= 0"),
        ({"lang": "en", "start_time_offset": 2460}, "start_time_offset", "time of day"),
        ({"lang": "en", "end_time_offset": -3}, "end_time_offset", "time of day"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, parameter: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_call_filters(now=NOW, **kwargs)
    assert info.value.parameter == parameter
    assert parameter in str(info.value) and fragment in str(info.value)


def test_time_offset_forms() -> None:
    assert parse_time_offset(0, "x") == dt.time(0)
    assert parse_time_offset(23, "x") == dt.time(23)
    assert parse_time_offset(930, "x") == dt.time(9, 30)
    assert parse_time_offset(1745, "x") == dt.time(17, 45)
    with pytest.raises(InvalidParameterError):
        parse_time_offset(975, "x")  # 9:75 is not a time


def test_split_list_keeps_order_and_drops_duplicates() -> None:
    assert split_list("b, a ,b,,") == ("b", "a")
    assert split_list("") == ()


def test_a_components_raw_parameters_become_one_call_filters() -> None:
    """The fetch_calls component hands its locals() over: filters are picked, everything else ignored."""
    raw = {
        "lang": "hi",
        "client_id": "7, 12",
        "call_type": "inbound",
        "start_date": "2026-03-01",
        "end_date": "2026-03-07",
        "timezone": "UTC",
        "call_quantity": 50,
        "random_seed": 3,
        "org_id": "acme",
    }
    filters = call_filters_from(raw, now=NOW)
    assert isinstance(filters, CallFilters)
    expected = {k: v for k, v in raw.items() if k not in ("call_quantity", "random_seed", "org_id")}
    assert filters == build_call_filters(**expected, now=NOW)
    assert (filters.lang, filters.client_ids, filters.call_types) == ("hi", ("7", "12"), ("INBOUND",))
    with pytest.raises(InvalidParameterError) as info:
        call_filters_from({**raw, "min_duration": "long"}, now=NOW)
    assert info.value.parameter == "min_duration"


def test_the_fetch_calls_component_spells_out_exactly_the_filters() -> None:
    """kfp needs every filter in the component's signature: a new filter must be added there too."""
    from skit_pipelines.components.fetch_calls import fetch_calls
    from skit_pipelines.pipelines.parameters import pipeline_parameters

    names = [p.name for p in pipeline_parameters(fetch_calls)]
    sample = ["call_quantity", "remove_empty_audios", "random_seed"]
    assert names == [*CALL_FILTER_PARAMETERS, *sample]
