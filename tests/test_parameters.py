"""The parameters module: readers, check kinds, each pipeline's declared checks, the one validation path."""

from __future__ import annotations

import datetime as dt
import pickle
import subprocess
import sys

import pytest

from skit_pipelines.parameters import (
    MAX_TEXT_BYTES,
    InvalidArgumentsError,
    InvalidParameterError,
    ProjectIds,
    Range,
    Required,
    Rule,
    Timezone,
    Uri,
    check_problems,
    check_text,
    check_uri,
    effective_timezone,
    parse_date,
    parse_project_ids,
    parse_timezone,
    shifted_date,
    split_list,
)
from skit_pipelines.pipeline_checks import CHECKS, check_step
from skit_pipelines.pipelines import PIPELINES
from skit_pipelines.pipelines.parameters import pipeline_parameters, validate_arguments
from tests.conftest import SettingsEnv


def test_readers() -> None:
    assert split_list(" b, a ,b,,") == ("b", "a")
    assert parse_date("", "start_date", dt.date(2026, 3, 1)) == dt.date(2026, 3, 1)
    with pytest.raises(InvalidParameterError, match="start_date: cannot read '2026-02-30'") as info:
        parse_date("2026-02-30", "start_date", dt.date(2026, 3, 1))
    assert info.value.parameter == "start_date"
    assert parse_timezone("Asia/Kolkata") == "Asia/Kolkata"
    with pytest.raises(InvalidParameterError, match="unknown timezone 'Mars/Base'"):
        parse_timezone("Mars/Base")
    assert parse_project_ids("12, 15", "15,3") == [12, 15, 3]
    with pytest.raises(InvalidParameterError, match="job_id: 'x' is not a Label Studio project id"):
        parse_project_ids("x", parameter="job_id")


def test_shifted_date_stays_on_the_calendar() -> None:
    today = dt.date(2026, 3, 10)
    assert shifted_date("", -1, "start_date", today) == dt.date(2026, 3, 9)
    assert shifted_date("2026-03-01", "2", "end_date", today) == dt.date(2026, 3, 3)
    for offset in (10**12, 3_000_000, -740_000):  # past what timedelta holds; past year 9999; before year 1
        with pytest.raises(InvalidParameterError, match="outside the calendar") as info:
            shifted_date("", offset, "start_date", today)
        assert info.value.parameter == "start_date_offset"
    with pytest.raises(InvalidParameterError, match="end_date_offset: expected an integer, got True"):
        shifted_date("", True, "end_date", today)


def test_old_import_paths_still_work() -> None:
    from skit_pipelines.annotation.upload import parse_project_ids as from_upload
    from skit_pipelines.pipelines.parameters import InvalidArgumentsError as from_pipelines
    from skit_pipelines.warehouse.filters import InvalidParameterError as from_filters
    from skit_pipelines.warehouse.filters import split_list as split_from_filters

    assert from_filters is InvalidParameterError and split_from_filters is split_list
    assert from_upload is parse_project_ids and from_pipelines is InvalidArgumentsError


def test_errors_survive_pickling_with_their_parameter() -> None:
    # Steps run in other processes: the error that comes back must still name the parameter.
    error = pickle.loads(pickle.dumps(InvalidParameterError("lang", "lang: required")))
    assert error.parameter == "lang" and str(error) == "lang: required"
    errors = pickle.loads(pickle.dumps(InvalidArgumentsError("p", {"lang": "required"})))
    assert errors.errors == {"lang": "required"} and "p" in str(errors)


def test_effective_timezone_is_the_parameter_else_the_setting(
    settings_env: SettingsEnv, isolated_settings: object
) -> None:

    settings_env(SKIT_TIMEZONE="America/New_York")
    assert effective_timezone("") == "America/New_York"
    assert effective_timezone(" Europe/Paris ") == "Europe/Paris"
    with pytest.raises(InvalidParameterError, match="timezone: unknown timezone"):
        effective_timezone("Nowhere/Land")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("\ud800", "lone surrogate '\\ud800'"),
        ("ok\x00no", "NUL character (at position 3)"),
        ("x" * (MAX_TEXT_BYTES + 1), f"{MAX_TEXT_BYTES + 1} bytes long (at most {MAX_TEXT_BYTES}"),
        ("é" * (MAX_TEXT_BYTES // 2 + 1), "bytes long"),  # the limit counts UTF-8 bytes, not characters
    ],
)
def test_check_text_refuses(value: str, words: str) -> None:
    with pytest.raises(InvalidParameterError, match="^client_id: ") as info:
        check_text(value, "client_id")
    assert words in str(info.value)
    assert info.value.parameter == "client_id"


def test_check_text_accepts_any_valid_text_up_to_the_limit() -> None:
    check_text("नमस्ते, 🙂 <b>&amp;</b>", "x")
    check_text("x" * MAX_TEXT_BYTES, "x")


@pytest.mark.parametrize(
    ("value", "web", "ok"),
    [
        ("", False, True),
        ("data/turns.csv", False, True),
        ("/abs/turns.csv", False, True),
        ("file:///abs/turns.csv", False, True),
        ("s3://bucket/key.csv", False, True),
        ("S3://bucket/key.csv", False, True),
        ("s3:///key.csv", False, False),  # no bucket
        ("gs://bucket/key.csv", False, False),
        ("https://example.org/a.yaml", False, False),
        ("https://example.org/a.yaml", True, True),
        ("ftp://example.org/a.yaml", True, False),
    ],
)
def test_check_uri(value: str, web: bool, ok: bool) -> None:
    if ok:
        check_uri(value, "path", web=web)
    else:
        with pytest.raises(InvalidParameterError, match="^path: "):
            check_uri(value, "path", web=web)


def test_check_kinds() -> None:
    arguments = {
        "n": -5,
        "share": 1.0,
        "tz": "Mars/Base",
        "uri": "gs://b/k",
        "ids": "1,x",
        "name": " ",
    }
    checks = (
        Range(("n",), minimum=0),
        Range(("share",), minimum=0, maximum=1, below=True),
        Timezone(("tz",)),
        Uri(("uri",)),
        ProjectIds(("ids",)),
        Required(("name",), what="a name"),
    )
    problems = check_problems(checks, arguments)
    assert problems == {
        "n": "n: must be >= 0, got -5",
        "share": "share: must be in [0, 1), got 1.0",
        "tz": "tz: unknown timezone 'Mars/Base' (expected an IANA name such as 'Asia/Kolkata')",
        "uri": "uri: unsupported URI scheme 'gs://' (expected a local path, file://, s3://)",
        "ids": "ids: 'x' is not a Label Studio project id (expected integers, comma-separated, e.g. 12,15)",
        "name": "name: required (a name)",
    }
    fine = {
        **arguments,
        "n": 0,
        "share": 0.5,
        "tz": "",
        "uri": "s3://b/k",
        "ids": "4",
        "name": "x",
    }
    assert check_problems(checks, fine) == {}


def test_a_check_runs_only_with_all_its_parameters_and_text_comes_first() -> None:
    seen: list[dict] = []

    def rule(x: int, y: int, flag: bool = False) -> None:
        seen.append({"x": x, "y": y, "flag": flag})
        if x > y:
            raise ValueError(f"y must be at least x, got {y}")

    checks = (Rule(("x", "y"), rule=rule, optional=("flag",)),)
    assert check_problems(checks, {"x": 1}) == {}  # a step without y does not run the rule
    assert seen == []
    # a ValueError of a reused rule goes to the parameter its message starts with, as "<parameter>: ..."
    assert check_problems(checks, {"x": 2, "y": 1, "flag": True}) == {"y": "y: must be at least x, got 1"}
    assert seen == [{"x": 2, "y": 1, "flag": True}]
    # a parameter whose text is bad is reported once, for its text, and its rules do not run
    texts: list[str] = []
    text_rule = (Rule(("s",), rule=lambda s: texts.append(s)),)
    assert check_problems(text_rule, {"s": "a\x00"}) == {"s": "s: contains a NUL character (at position 2)"}
    assert texts == []
    assert check_problems(text_rule, {"s": "fine"}) == {} and texts == ["fine"]


def test_every_declared_check_names_parameters_of_its_pipeline() -> None:
    assert set(CHECKS) == set(PIPELINES)
    for name, checks in CHECKS.items():
        known = {p.name for p in pipeline_parameters(PIPELINES[name])}
        for check in checks:
            assert set(check.parameters) <= known, (name, check)


def test_the_per_pipeline_declarations_load_without_kfp_or_the_pipeline_registry() -> None:
    """Steps import the checks and the location tables; a step has only kfp's runtime, no registry."""
    code = (
        "import sys, skit_pipelines.pipeline_checks as m\n"
        "assert m.CHECKS and m.INPUT_LOCATIONS and m.OUTPUT_LOCATIONS\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'kfp' or n.startswith("
        "('skit_pipelines.pipelines', 'skit_pipelines.components'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("pipeline", "raw", "field", "words"),
    [
        ("fetch_calls_pipeline", {"lang": "en", "call_quantity": "-5"}, "call_quantity", "must be >= 0"),
        ("fetch_calls_pipeline", {"lang": "en", "random_seed": -7}, "random_seed", "-1 for a fresh seed"),
        ("fetch_calls_pipeline", {"lang": "en", "timezone": "Mars/Base"}, "timezone", "unknown timezone"),
        ("fetch_calls_pipeline", {"lang": "en", "end_date": "2026-3-1"}, "end_date", "YYYY-MM-DD"),
        ("fetch_calls_pipeline", {"lang": "en", "call_type": "FAX"}, "call_type", "unknown call type"),
        ("fetch_n_tag_calls", {"org_id": "1", "lang": "en"}, "labelstudio_project_id", "no project"),
        (
            "fetch_n_tag_calls",
            {"org_id": "1", "lang": "en", "job_ids": "7", "random_seed": "-7"},
            "random_seed",
            ">= 0",
        ),
        ("tag_calls", {"org_id": "1", "s3_path": "x.csv"}, "labelstudio_project_id", "no project to upload"),
        ("tag_calls", {"org_id": "1", "s3_path": "gs://b/x.csv", "job_ids": "3"}, "s3_path", "'gs://'"),
        ("tag_calls", {"org_id": "1", "s3_path": " ", "job_ids": "3"}, "s3_path", "required"),
        (
            "tag_calls",
            {"org_id": "1", "s3_path": "x.csv", "job_ids": "3", "data_label": "x"},
            "data_label",
            "Live",
        ),
        (
            "tag_calls",
            {"org_id": "1", "s3_path": "x.csv", "job_ids": "3", "batch_size": 0},
            "batch_size",
            ">= 1",
        ),
        (
            "tag_calls",
            {"org_id": "1", "s3_path": "x.csv", "call_project_id": "-2"},
            "call_project_id",
            "positive",
        ),
        ("fetch_tagged_calls_dataset", {"org_id": "1"}, "labelstudio_project_id", "no project to download"),
        (
            "fetch_tagged_calls_dataset",
            {"org_id": "1", "job_id": "2", "timezone": "X"},
            "timezone",
            "unknown",
        ),
        (
            "fetch_tagged_entity_dataset",
            {"org_id": "1", "job_id": "2", "task_type": "x"},
            "task_type",
            "unknown",
        ),
        ("irr_from_tog", {}, "dataset_path", "no dataset to evaluate"),
        ("irr_from_tog", {"dataset_path": "gs://b/k.csv"}, "dataset_path", "'gs://'"),
        (
            "irr_from_tog",
            {"job_id": "3", "eevee_intent_alias_yaml_github_path": "ftp://h/a.yaml"},
            "eevee_intent_alias_yaml_github_path",
            "http(s)://",
        ),
        ("eer_from_tog", {"job_id": "3", "start_date": "tomorrow"}, "start_date", "YYYY-MM-DD"),
        (
            "eer_from_tog",
            {"job_id": "3", "end_date_offset": 10**11},
            "end_date_offset",
            "outside the calendar",
        ),
        (
            "fetch_calls_pipeline",
            {"lang": "en", "start_date_offset": -(10**11)},
            "start_date_offset",
            "calendar",
        ),
        (
            "train_voicebot_intent_model_xlmr",
            {"dataset_path": "d.csv", "num_train_epochs": 0},
            "num_train_epochs",
            "at least 1",
        ),
        ("train_voicebot_intent_model_xlmr", {"dataset_path": "gs://b/d.csv"}, "dataset_path", "'gs://'"),
        (
            "train_voicebot_intent_model_xlmr",
            {"dataset_path": "d", "storage_options": "{"},
            "storage_options",
            "JSON",
        ),
        (
            "eval_voicebot_xlmr_pipeline",
            {"s3_path_data": "d.csv", "org_id": "1", "top_k": 0},
            "top_k",
            ">= 1",
        ),
        (
            "eval_voicebot_xlmr_pipeline",
            {"s3_path_data": "d.csv", "org_id": "1", "channel": "C\x00"},
            "channel",
            "NUL",
        ),
    ],
)
def test_validate_arguments_refuses_doomed_runs_by_name(
    pipeline: str, raw: dict, field: str, words: str
) -> None:
    with pytest.raises(InvalidArgumentsError) as info:
        validate_arguments(pipeline, PIPELINES[pipeline], raw)
    assert field in info.value.errors, info.value.errors
    assert words in info.value.errors[field]


@pytest.mark.parametrize(
    ("pipeline", "raw"),
    [
        ("fetch_calls_pipeline", {"lang": "en", "call_quantity": "0", "random_seed": "-1"}),
        ("fetch_n_tag_calls", {"org_id": "1", "lang": "en", "project_title": "Week 12"}),
        ("tag_calls", {"org_id": "1", "s3_path": "s3://b/calls.csv", "call_project_id": "4"}),
        ("fetch_tagged_calls_dataset", {"org_id": "1", "labelstudio_project_id": "3,4", "timezone": "UTC"}),
        (
            "irr_from_tog",
            {"dataset_path": "/data/tagged.csv", "eevee_intent_alias_yaml_github_path": "https://h/a"},
        ),
        ("eer_from_tog", {"labelstudio_project_id": "3"}),
        ("train_voicebot_intent_model_xlmr", {"dataset_path": "file:///d.csv", "validation_split": "0.1"}),
        (
            "eval_voicebot_xlmr_pipeline",
            {"s3_path_data": "d.csv", "org_id": "1", "s3_path_model": "s3://b/m"},
        ),
    ],
)
def test_validate_arguments_accepts_good_runs(pipeline: str, raw: dict) -> None:
    assert set(validate_arguments(pipeline, PIPELINES[pipeline], raw)) == set(raw)


def test_a_bad_parameter_name_is_reported_escaped() -> None:
    with pytest.raises(InvalidArgumentsError) as info:
        validate_arguments(
            "fetch_calls_pipeline", PIPELINES["fetch_calls_pipeline"], {"lang": "en", "\ud800": 1}
        )
    (name,) = info.value.errors
    assert name == "\\ud800"
    name.encode("utf-8")  # safe to put in any answer


def test_a_step_checks_what_it_received() -> None:
    # the fetch_calls step gets the sampling parameters, not the pipeline's notify/channel
    step_arguments = {
        "lang": "en",
        "start_date": "",
        "end_date": "",
        "start_date_offset": 0,
        "end_date_offset": 0,
        "start_time_offset": 0,
        "end_time_offset": 0,
        "timezone": "UTC",
        "client_id": "",
        "flow_ids": "",
        "flow_name": "",
        "template_id": "",
        "use_case": "",
        "call_type": "",
        "ignore_callers": "",
        "reported": False,
        "min_duration": "",
        "asr_provider": "",
        "states": "",
        "intents": "",
        "call_quantity": -5,
        "remove_empty_audios": False,
        "random_seed": -1,
    }
    with pytest.raises(InvalidArgumentsError, match="call_quantity: must be >= 0"):
        check_step("fetch_calls_pipeline", step_arguments)
    check_step("fetch_calls_pipeline", {**step_arguments, "call_quantity": 5})
    # the download step may be told that no project is fine
    download = {"labelstudio_project_id": "", "job_id": "", "task_type": "conversation"}
    with pytest.raises(InvalidArgumentsError, match="no project to download"):
        check_step("fetch_tagged_calls_dataset", download)
    check_step("fetch_tagged_calls_dataset", {**download, "empty_possible": True})


def test_component_arguments_pick_the_components_inputs_by_name() -> None:
    from skit_pipelines.components.fetch_calls import fetch_calls
    from skit_pipelines.pipelines.parameters import component_arguments

    pipeline_locals = {"lang": "en", "call_quantity": 3, "notify": "U1", "org_id": "a"}
    picked = component_arguments(fetch_calls, pipeline_locals)
    assert picked == {"lang": "en", "call_quantity": 3}
