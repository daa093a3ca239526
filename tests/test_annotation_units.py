"""The annotation loop's plain-Python parts, with hand-computed expectations (no server needed)."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from skit_pipelines.annotation import label_config as configs
from skit_pipelines.annotation.client import LabelStudioClient, is_personal_access_token
from skit_pipelines.annotation.download import (
    DOWNLOAD_PARAMETERS,
    AnnotationWindow,
    DownloadCounts,
    annotation_window,
    download_request,
    download_request_from,
    rows_of_project,
)
from skit_pipelines.annotation.errors import LabelStudioAuthError, LabelStudioError
from skit_pipelines.annotation.flatten import annotation_row, columns_of, read_answers
from skit_pipelines.annotation.tasks import (
    call_link,
    call_records,
    call_task,
    predicted_entity_spans,
    turn_task,
    validate_data_label,
)
from skit_pipelines.annotation.upload import parse_project_ids
from skit_pipelines.warehouse.filters import InvalidParameterError

UTC = dt.timezone.utc
ROW = {
    "call_uuid": "c1",
    "conversation_uuid": "t1",
    "utterances": '[[{"transcript": "pay on 5th march", '
    '"confidence": 0.8}, {"transcript": "pay on fifth march", "confidence": 0.1}]]',
    "state": "COF",
    "reftime": "2026-03-10T15:30:00+05:30",
    "audio_url": "https://a/1.flac",
    "intent": "inform_pay_later",
    "intent_score": "0.83",
    "context": '{"bot_response": "When will you pay?"}',
    "language": "en",
    "entities": '[{"entity_type": "date", "body": "5th march", "value": "2026-03-05"}]',
    "odd": "007",
}


# ------------------------------------------------------------------------------------------ label configs


def test_turn_config_has_our_names_and_escapes_values() -> None:
    xml = configs.turn_label_config(["_confirm_", 'a"b<c', "_confirm_"], ["date", "product_kind/credit_card"])
    assert configs.choices_of(xml, "tag") == ["_confirm_", 'a"b<c']
    assert configs.choices_of(xml, "entities") == ["date", "product_kind/credit_card"]
    assert configs.choices_of(xml, "gold-data") == ["incorrect transcript", "gold ready for training"]
    assert 'name="transcript_correction"' in xml and 'value="$text"' in xml and 'value="$audio_url"' in xml


def test_turn_config_needs_intents() -> None:
    with pytest.raises(ValueError, match="taxonomy"):
        configs.turn_label_config([])


def test_choices_are_appended_and_everything_else_is_kept() -> None:
    config = "<View><!-- ours --><Choices name='tag' toName='t'><Choice value='b'/><Choice value='a'/>"
    config += "</Choices><Choices name='other' toName='t'><Choice value='x'/></Choices></View>"
    extended = configs.add_choices(config, "tag", ["a", "c<d", "e", "c<d"])
    assert configs.choices_of(extended, "tag") == ["b", "a", "c<d", "e"]  # order kept, new ones at the end
    assert configs.choices_of(extended, "other") == ["x"] and "<!-- ours -->" in extended
    assert "c&lt;d" in extended
    with pytest.raises(ValueError, match="has no <Choices name='gold'>"):
        configs.add_choices(config, "gold", ["y"])
    with pytest.raises(ValueError, match="not valid XML"):
        configs.add_choices("<View>", "tag", ["y"])


def test_call_config_offers_the_dispositions() -> None:
    xml = configs.call_label_config(["PTP", "RTP"])
    assert configs.choices_of(xml, "call_disposition") == ["PTP", "RTP"]
    assert 'value="$call_link"' in xml and 'value="$call_info"' in xml


@pytest.mark.parametrize(
    "text",
    [
        '["_confirm_", "_cancel_"]',
        '{"_confirm_": {}, "_cancel_": {}}',
        "# intents\n- _confirm_\n\n_cancel_ # no\n",
    ],
)
def test_taxonomy_formats(text: str) -> None:
    assert configs.read_taxonomy(text) == ["_confirm_", "_cancel_"]


# ------------------------------------------------------------------------------------------------- tasks


def test_turn_task_keeps_every_cell_and_attaches_the_prediction() -> None:
    task = turn_task(ROW, data_label="UAT", model_version="slu-v3")
    data = task["data"]
    assert data["raw"] == ROW  # every column, exact strings ("007" stays "007")
    assert data["text"] == "pay on 5th march" and data["alternatives_text"] == "pay on fifth march"
    assert data["alternatives"][0][1]["transcript"] == "pay on fifth march"
    assert data["bot_response"] == "When will you pay?" and data["data_label"] == "UAT"
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "slu-v3" and prediction["score"] == 0.83
    intent, span = prediction["result"]
    assert intent["value"] == {"choices": ["inform_pay_later"]} and intent["from_name"] == "tag"
    assert span["value"] == {"start": 7, "end": 16, "text": "5th march", "labels": ["date"]}


def test_turn_without_intent_has_no_prediction() -> None:
    assert "predictions" not in turn_task({**ROW, "intent": "", "entities": ""}, data_label="Live")


def test_entity_spans_only_where_the_text_occurs() -> None:
    entities = json.dumps([{"type": "date", "body": "Tomorrow"}, {"type": "number", "body": "42"}])
    (span,) = predicted_entity_spans("pay tomorrow", entities)
    assert span["value"] == {"start": 4, "end": 12, "text": "tomorrow", "labels": ["date"]}


@pytest.mark.parametrize(("given", "expected"), [("", "Live"), ("uat", "UAT"), (" Client ", "Client")])
def test_data_labels(given: str, expected: str) -> None:
    assert validate_data_label(given) == expected


def test_unknown_data_label_names_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError, match="data_label.*'Prod'.*Client, Ops, UAT, Live"):
        validate_data_label("Prod")


def test_project_ids_merge_and_validate() -> None:
    assert parse_project_ids("3, 5", "5,7,") == [3, 5, 7]
    with pytest.raises(InvalidParameterError, match="labelstudio_project_id: 'abc'"):
        parse_project_ids("3,abc")


def test_call_records_one_per_call_with_date_and_link() -> None:
    rows = [
        {
            **ROW,
            "call_uuid": "c1",
            "reftime": "2026-03-10T23:59:00+05:30",
            "disposition": "PTP",
            "client_uuid": "k",
        },
        {**ROW, "call_uuid": "c1", "reftime": "2026-03-10T23:58:00+05:30"},
        {
            **ROW,
            "call_uuid": "c2",
            "reftime": "2026-03-11T00:10:00+05:30",
            "call_url": "https://rec/2",
            "client_uuid": "k",
        },
    ]
    first, second = call_records(
        rows,
        org_id="9",
        lang="hi",
        call_link_template="https://console/{org_id}/call?uuid={call_uuid}&c={client_uuid}",
    )
    assert first["call_uuid"] == "c1" and first["reftime"] == "2026-03-10T23:58:00+05:30"
    assert first["date"] == "2026-03-10" and first["language"] == "hi" and first["disposition"] == "PTP"
    assert first["call_link"] == "https://console/9/call?uuid=c1&c=k"
    assert second["date"] == "2026-03-11"
    assert call_link(rows[2], "9", "") == "https://rec/2"  # no template: the recording
    task = call_task(first, data_label="Ops")
    assert task["data"]["raw"] == first and task["data"]["call_info"]["disposition"] == "PTP"


def test_call_link_template_with_unknown_placeholder() -> None:
    with pytest.raises(InvalidParameterError, match=r"call_link_template: unknown placeholder \{tenant\}"):
        call_link(ROW, "9", "https://x/{tenant}")


# -------------------------------------------------------------------------------------------------- auth


def test_token_shapes() -> None:
    pat = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9."
        "Dera1jS9AwZMK41FNnZtdrGBt0vGoQiyrRsAu8qh6bw"
    )
    assert is_personal_access_token(pat)
    assert not is_personal_access_token("abcdef0123456789abcdef0123456789abcdef01")
    assert not is_personal_access_token("a.b.c")


def test_client_needs_url_and_token() -> None:
    with pytest.raises(LabelStudioError, match="SKIT_LABELSTUDIO_URL"):
        LabelStudioClient("", "t")
    with pytest.raises(LabelStudioAuthError, match="SKIT_LABELSTUDIO_TOKEN"):
        LabelStudioClient("http://127.0.0.1:9", "")


# ------------------------------------------------------------------------------------------- download


RESULT = [
    {"from_name": "tag", "to_name": "transcript", "type": "choices", "value": {"choices": ["_confirm_"]}},
    {
        "from_name": "entities",
        "to_name": "transcript",
        "type": "labels",
        "value": {"start": 7, "end": 16, "text": "5th march", "labels": ["date"]},
    },
    {
        "from_name": "transcript_correction",
        "to_name": "transcript",
        "type": "textarea",
        "value": {"text": ["pay on the 5th of march"]},
    },
    {
        "from_name": "gold-data",
        "to_name": "transcript",
        "type": "choices",
        "value": {"choices": ["gold ready for training"]},
    },
]


def test_answers_are_read_by_name() -> None:
    answers = read_answers(RESULT)
    assert answers.intents == ["_confirm_"] and answers.correction == "pay on the 5th of march"
    assert answers.entities == [{"type": "date", "text": "5th march", "start": 7, "end": 16}]
    assert answers.gold == {"gold ready for training"}
    assert read_answers(
        [{"from_name": "tag", "type": "taxonomy", "value": {"taxonomy": [["billing", "x"]]}}]
    ).intents == ["billing"]


def _annotation(id_: int, created: str, *, cancelled: bool = False, intent: str = "_confirm_") -> dict:
    result = [] if cancelled else [{**RESULT[0], "value": {"choices": [intent]}}]
    return {
        "id": id_,
        "completed_by": 1,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": created,
        "updated_at": created,
        "lead_time": 2.5,
    }


def _task(id_: int, annotations: list[dict]) -> dict:
    data = turn_task({**ROW, "conversation_uuid": f"t{id_}"}, data_label="Live")["data"]
    return {"id": id_, "data": data, "annotations": annotations}


TASKS = [
    _task(
        1,
        [_annotation(11, "2026-03-10T10:00:00Z", intent="_cancel_"), _annotation(12, "2026-03-11T10:00:00Z")],
    ),
    _task(2, [_annotation(21, "2026-03-10T11:00:00Z", cancelled=True)]),
    _task(3, []),
    _task(4, [_annotation(41, "2026-03-20T11:00:00Z")]),
]


def test_latest_annotation_per_task_and_counts() -> None:
    counts = DownloadCounts()
    window = AnnotationWindow(None, None, "Asia/Kolkata")
    rows = rows_of_project(TASKS, 5, window, counts, users={1: "ann@example.com"})
    assert [(r["data_id"], r["annotation_id"], r["intent_y"]) for r in rows] == [
        ("t1", "12", "_confirm_"),
        ("t4", "41", "_confirm_"),
    ]
    assert (
        counts.tasks,
        counts.annotations,
        counts.unannotated_tasks,
        counts.cancelled_annotations,
        counts.superseded,
        counts.outside_window,
    ) == (4, 4, 1, 1, 1, 0)
    first = rows[0]
    assert first["annotator"] == "ann@example.com" and first["job_id"] == "5" and first["lead_time"] == "2.5"
    assert first["tagged_time"] == "2026-03-11T15:30:00+05:30"  # in the requested timezone
    assert first["reftime"] == "2026-03-10T15:30:00+05:30" and first["raw.odd"] == "007"


def test_all_annotations_cancelled_and_unannotated_on_request() -> None:
    counts = DownloadCounts()
    rows = rows_of_project(
        TASKS,
        5,
        AnnotationWindow(None, None, "UTC"),
        counts,
        users={},
        all_annotations=True,
        include_cancelled=True,
        include_unannotated=True,
    )
    assert [(r["data_id"], r["annotation_id"], r["was_cancelled"]) for r in rows] == [
        ("t1", "11", "False"),
        ("t1", "12", "False"),
        ("t2", "21", "True"),
        ("t3", "", ""),
        ("t4", "41", "False"),
    ]
    assert counts.superseded == 0 and counts.without_intent == 1  # the cancelled one has no intent
    assert rows[0]["annotator"] == "1"  # unknown user: its id


def test_window_filters_on_annotation_time() -> None:
    window = annotation_window("2026-03-11", "2026-03-19", timezone="UTC")
    counts = DownloadCounts()
    rows = rows_of_project(TASKS, 5, window, counts, users={})
    assert [r["annotation_id"] for r in rows] == ["12"]
    assert counts.outside_window == 2 and counts.superseded == 0  # 11 (Mar 10) and 41 (Mar 20)


def test_window_edges_and_offsets() -> None:
    now = dt.datetime(2026, 3, 15, 20, 0, tzinfo=UTC)  # 2026-03-16 01:30 in Kolkata
    window = annotation_window("", "", -2, 0, "Asia/Kolkata", now=now)
    assert window.start == dt.datetime(2026, 3, 14, tzinfo=ZoneInfo("Asia/Kolkata")) and window.end is None
    window = annotation_window("2026-03-01", "2026-03-01", timezone="UTC")
    assert window.contains(dt.datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    assert not window.contains(dt.datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(InvalidParameterError, match="start_date"):
        annotation_window("2026-03-02", "2026-03-01", timezone="UTC")
    with pytest.raises(InvalidParameterError, match="end_date.*YYYY-MM-DD"):
        annotation_window("", "01/03/2026", timezone="UTC")


def test_a_components_raw_parameters_become_one_download_request() -> None:
    now = dt.datetime(2026, 3, 15, 20, 0, tzinfo=UTC)
    raw = {
        "org_id": "acme",
        "job_id": "7",
        "labelstudio_project_id": "5, 7",
        "start_date_offset": -2,
        "timezone": "UTC",
        "include_cancelled": True,
    }
    request = download_request_from(raw, now=now)
    assert request.project_ids == (5, 7)
    assert request.window == annotation_window("", "", -2, 0, "UTC", now=now)
    assert (request.task_type, request.include_cancelled, request.include_unannotated) == (
        "conversation",
        True,
        False,
    )
    assert request == download_request(**{k: v for k, v in raw.items() if k != "org_id"}, now=now)
    with pytest.raises(InvalidParameterError, match="no project to download"):
        download_request_from({"org_id": "acme"})
    assert download_request_from({"empty_possible": True}).project_ids == ()
    with pytest.raises(InvalidParameterError, match="unknown task type 'chat'"):
        download_request_from({**raw, "task_type": "chat"})


def test_the_download_component_spells_out_exactly_the_request_and_org_id() -> None:
    """kfp needs every parameter in the component's signature: a new one must be added there too."""
    from skit_pipelines.components.fetch_tagged_dataset import fetch_tagged_dataset
    from skit_pipelines.pipelines.parameters import pipeline_parameters

    names = {p.name for p in pipeline_parameters(fetch_tagged_dataset)}
    assert names == {*DOWNLOAD_PARAMETERS, "org_id"}


def test_columns_are_annotation_then_task_then_raw() -> None:
    task = _task(1, [])
    row = annotation_row(
        task,
        {"id": 1, "result": RESULT, "created_at": "2026-03-10T10:00:00Z"},
        project_id=2,
        zone=ZoneInfo("UTC"),
        users={},
    )
    columns = columns_of([row])
    assert columns[:6] == ["data_id", "job_id", "task_id", "annotation_id", "tag", "intent_y"]
    assert columns.index("text") < columns.index("raw.call_uuid")
    assert [c for c in columns if c.startswith("raw.")] == [f"raw.{k}" for k in ROW]
    assert row["incorrect_transcript"] == "False" and row["gold_ready_for_training"] == "True"
    assert json.loads(row["tag"]) == RESULT
