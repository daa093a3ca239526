"""The annotation loop end to end on the local runner, against a real Label Studio.

fetch_n_tag_calls (demo warehouse → sample → upload turns and calls) → annotate through the API as an
annotator would (intent choices, entity spans, a corrected transcript, gold flags, a cancelled annotation,
a second annotation, an untouched task) → fetch_tagged_calls_dataset and fetch_tagged_entity_dataset →
every uploaded value is in the download next to the annotations; a re-upload creates nothing; each bad
input fails with its own error.
"""

import csv
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.config import get_settings
from skit_pipelines.runner.base import RunResult, get_runner
from skit_pipelines.warehouse.demo_data import generate_demo_warehouse
from tests.conftest import SettingsEnv, free_port

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer
    from tests.labelstudio_server import LabelStudioServer

pytest_plugins = ["tests.labelstudio_server", "tests.fakes.slack_server"]

DAY = dt.date(2026, 3, 10)
SAMPLE = {
    "org_id": "acme",
    "lang": "en",
    "start_date": "2026-03-09",
    "end_date": "2026-03-11",
    "timezone": "UTC",
    "call_quantity": 6,
    "random_seed": 2,
}
ZONE = "Asia/Kolkata"


def _read(uri: str) -> list[dict[str, str]]:
    with open(uri, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _run(name: str, args: dict[str, Any]) -> RunResult:
    result = get_runner().run(name, args)
    assert result.succeeded, result.error
    return result


def _choice(name: str, value: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "transcript", "type": "choices", "value": {"choices": [value]}}


@pytest.fixture
def warehouse(isolated_settings: Path) -> str:
    url = get_settings().effective_warehouse_url
    # seed: a sample of these 40 calls holds a Kolkata turn with a date (_entity_task); generator v3
    generate_demo_warehouse(url, calls=40, seed=13, end_date=DAY, days=1)
    return url


def _entity_task(tasks: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Kolkata turn whose transcript holds its true date entity (the demo keeps the truth in context)."""
    for task in tasks:
        raw = task["data"]["raw"]
        truths = json.loads(raw["context"]).get("demo_true_entities") or []
        for truth in truths:
            if (
                truth["type"] == "date"
                and truth["text"] in task["data"]["text"]
                and "+05:30" in truth["value"]
            ):
                return task, truth
    raise AssertionError("the demo sample has no Kolkata turn with a date in its transcript")


@pytest.mark.slow
def test_sample_tag_annotate_download_round_trip(
    warehouse: str, labelstudio_env: "LabelStudioServer", slack_server: "FakeSlackServer"
) -> None:
    title = f"e2e turns {uuid.uuid4().hex[:8]}"
    sampled = _run(
        "fetch_n_tag_calls",
        {
            **SAMPLE,
            "project_title": title,
            "call_project_title": f"{title} calls",
            "data_label": "uat",
            "call_link_template": "https://console.example.com/{org_id}/call?uuid={call_uuid}",
            "batch_size": 7,
        },
    ).outputs
    source = {row["conversation_uuid"]: row for row in _read(sampled["calls_uri"])}
    calls = {row["call_uuid"] for row in source.values()}
    assert sampled["turns"] == len(source) > 10 and len(calls) == 6
    assert sampled["uploaded"] == len(source) + len(calls) and sampled["failed"] == 0
    summary = json.loads(sampled["summary"])
    turn_project, call_project = (p["project_id"] for p in summary["projects"])
    assert [p["batches"] for p in summary["projects"]] == [-(-len(source) // 7), 1]

    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        tasks = sorted(client.iter_tasks(turn_project, include="id,data"), key=lambda t: t["id"])
        assert {t["data"]["conversation_uuid"] for t in tasks} == set(source)
        entity_task, truth = _entity_task(tasks)
        others = [t for t in tasks if t is not entity_task]
        # What the annotators said, by task id: the intent they chose (None: no annotation kept).
        expected: dict[int, str | None] = {}
        text = entity_task["data"]["text"]
        start = text.index(truth["text"])
        span = {
            "from_name": "entities",
            "to_name": "transcript",
            "type": "labels",
            "value": {
                "start": start,
                "end": start + len(truth["text"]),
                "text": truth["text"],
                "labels": ["date"],
            },
        }
        client.create_annotation(
            entity_task["id"],
            [
                _choice("tag", "inform_pay_later"),
                span,
                _choice("gold-data", "gold ready for training"),
                {
                    "from_name": "transcript_correction",
                    "to_name": "transcript",
                    "type": "textarea",
                    "value": {"text": ["a corrected transcript"]},
                },
            ],
            lead_time=4.0,
        )
        expected[entity_task["id"]] = "inform_pay_later"
        twice, cancelled, untouched, *rest = others
        client.create_annotation(twice["id"], [_choice("tag", "_cancel_")])
        client.create_annotation(
            twice["id"], [_choice("tag", "_confirm_"), _choice("gold-data", "incorrect transcript")]
        )
        expected[twice["id"]] = "_confirm_"  # the latest wins
        client.create_annotation(cancelled["id"], [], was_cancelled=True)
        for task in rest:
            intent = task["data"]["raw"]["intent"] or "_oos_"
            client.create_annotation(task["id"], [_choice("tag", intent)])
            expected[task["id"]] = intent

    downloaded = _run(
        "fetch_tagged_calls_dataset",
        {"org_id": "acme", "labelstudio_project_id": str(turn_project), "timezone": ZONE},
    ).outputs
    rows = _read(downloaded["dataset_uri"])
    assert (
        downloaded["rows"],
        downloaded["tasks"],
        downloaded["unannotated_tasks"],
        downloaded["cancelled_annotations"],
    ) == (len(expected), len(source), 1, 1)
    assert {int(r["task_id"]): r["intent_y"] for r in rows} == expected
    for row in rows:
        original = source[row["data_id"]]
        # Every uploaded cell is back, byte for byte, under raw.*; the task fields agree with it.
        assert {k[4:]: v for k, v in row.items() if k.startswith("raw.")} == original
        assert row["conversation_uuid"] == row["data_id"] and row["call_uuid"] == original["call_uuid"]
        assert row["state"] == original["state"] and row["audio_url"] == original["audio_url"]
        assert json.loads(row["alternatives"]) == json.loads(original["utterances"])
        assert dt.datetime.fromisoformat(row["reftime"]) == dt.datetime.fromisoformat(original["reftime"])
        assert row["reftime"].endswith("+05:30") and row["tagged_time"].endswith("+05:30")
        assert row["data_label"] == "UAT" and row["job_id"] == str(turn_project)
        assert row["annotator"] == labelstudio_env.username
    by_task = {int(r["task_id"]): r for r in rows}
    gold = by_task[entity_task["id"]]
    assert gold["transcript_y"] == "a corrected transcript" and gold["lead_time"] == "4.0"
    assert (gold["gold_ready_for_training"], gold["incorrect_transcript"]) == ("True", "False")
    assert json.loads(gold["tagged_entities"]) == [
        {"type": "date", "text": truth["text"], "start": start, "end": start + len(truth["text"])}
    ]
    assert by_task[twice["id"]]["incorrect_transcript"] == "True"

    # Entity dataset: the span's value resolved against the turn's reftime; predictions normalised.
    entities = _run(
        "fetch_tagged_entity_dataset", {"org_id": "acme", "job_id": str(turn_project), "timezone": ZONE}
    ).outputs
    entity_rows = {r["data_id"]: r for r in _read(entities["entity_dataset_uri"])}
    assert set(entity_rows) == {r["data_id"] for r in rows} and entities["truth_entities"] == 1
    (tagged,) = json.loads(entity_rows[gold["data_id"]]["truth_entities"])
    assert tagged == {
        "type": "date",
        "value": truth["value"][:10],
        "text": truth["text"],
        "start": start,
        "end": start + len(truth["text"]),
    }
    predicted = sum(len(json.loads(source[d]["entities"])) for d in entity_rows)
    assert entities["predicted_entities"] == predicted
    for row in entity_rows.values():
        assert len(json.loads(row["predicted_entities"])) == len(json.loads(row["raw.entities"]))

    # Call-level tasks: one per call, with the date and the templated link.
    call_rows = _read(
        _run(
            "fetch_tagged_calls_dataset",
            {
                "org_id": "acme",
                "labelstudio_project_id": str(call_project),
                "include_unannotated": True,
                "timezone": "UTC",
            },
        ).outputs["dataset_uri"]
    )
    assert {r["data_id"] for r in call_rows} == calls
    for row in call_rows:
        assert row["call_link"] == f"https://console.example.com/acme/call?uuid={row['call_uuid']}"
        assert row["date"] == row["raw.date"] and row["language"] == "en" and row["annotation_id"] == ""

    # Uploading the same CSV again creates nothing, and says so on Slack.
    again = _run(
        "tag_calls",
        {
            "org_id": "acme",
            "s3_path": sampled["calls_uri"],
            "job_ids": str(turn_project),
            "call_project_id": str(call_project),
            "notify": "U1",
            "channel": "#ann",
        },
    ).outputs
    assert (again["uploaded"], again["skipped_duplicates"]) == (0, len(source) + len(calls))
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        assert len(list(client.iter_tasks(turn_project))) == len(source)
    (post,) = slack_server.calls("chat.postMessage")
    text = json.dumps(post.args["blocks"])
    assert "0 tasks created" in text and f"{len(source) + len(calls)} skipped as duplicate" in text
    assert sampled["calls_uri"] in text


# ------------------------------------------------------------------------------------------- bad input


@pytest.fixture
def calls_csv(tmp_path: Path) -> str:
    path = tmp_path / "turns.csv"
    path.write_text(
        "conversation_uuid,call_uuid,utterances,state,reftime,audio_url,intent\n"
        't1,c1,"[[{""transcript"": ""yes""}]]",COF,2026-03-10T10:00:00+00:00,https://a/1,_confirm_\n'
    )
    return str(path)


def _fails(name: str, args: dict[str, Any], *needles: str) -> str:
    result = get_runner().run(name, args)
    assert not result.succeeded
    for needle in needles:
        assert needle in result.error, result.error
    return result.error


def test_unknown_data_label(labelstudio_env: "LabelStudioServer", calls_csv: str) -> None:
    _fails(
        "tag_calls",
        {"org_id": "a", "s3_path": calls_csv, "labelstudio_project_id": "1", "data_label": "Prod"},
        "data_label: unknown data label 'Prod'",
        "Client, Ops, UAT, Live",
    )


def test_csv_without_required_columns(labelstudio_env: "LabelStudioServer", tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("conversation_uuid,call_uuid,state\nt1,c1,COF\n")
    _fails(
        "tag_calls",
        {"org_id": "a", "s3_path": str(path), "labelstudio_project_id": "1"},
        "InvalidUploadFileError",
        "missing required column(s) utterances, reftime, audio_url",
    )


def test_missing_project(labelstudio_env: "LabelStudioServer", calls_csv: str) -> None:
    _fails(
        "tag_calls",
        {"org_id": "a", "s3_path": calls_csv, "labelstudio_project_id": "987654"},
        "LabelStudioNotFoundError",
        "project 987654 does not exist",
    )
    _fails(
        "fetch_tagged_calls_dataset",
        {"org_id": "a", "job_id": "987654"},
        "LabelStudioNotFoundError",
        "project 987654 does not exist",
    )


def test_wrong_token(labelstudio_env: "LabelStudioServer", calls_csv: str, settings_env: SettingsEnv) -> None:
    settings_env(SKIT_LABELSTUDIO_TOKEN="f" * 40)
    _fails(
        "tag_calls",
        {"org_id": "a", "s3_path": calls_csv, "labelstudio_project_id": "1"},
        "LabelStudioAuthError",
        "refused the legacy API token",
        "SKIT_LABELSTUDIO_TOKEN",
    )


def test_unreachable_server(calls_csv: str, settings_env: SettingsEnv) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings_env(SKIT_LABELSTUDIO_URL=url, SKIT_LABELSTUDIO_TOKEN="t" * 40)
    _fails(
        "fetch_tagged_calls_dataset",
        {"org_id": "a", "labelstudio_project_id": "3"},
        "LabelStudioUnreachableError",
        f"Label Studio at {url} is unreachable",
    )


def test_no_project_given(calls_csv: str) -> None:
    _fails(
        "tag_calls", {"org_id": "a", "s3_path": calls_csv}, "labelstudio_project_id: no project to upload to"
    )


# ------------------------------------------------------------------------------- upload, domain level


def test_new_project_from_a_taxonomy_file(
    labelstudio_env: "LabelStudioServer", calls_csv: str, tmp_path: Path
) -> None:
    from skit_pipelines.annotation.label_config import choices_of
    from skit_pipelines.annotation.upload import tag_calls

    taxonomy = tmp_path / "intents.txt"
    taxonomy.write_text("# our intents\n_cancel_\ninform_pay_later\n")
    title = f"taxonomy {uuid.uuid4().hex[:8]}"
    result = tag_calls(
        s3_path=calls_csv,
        project_title=title,
        taxonomy_uri=str(taxonomy),
        entity_types="product_kind/credit_card",
        url=labelstudio_env.url,
        token=labelstudio_env.token,
    )
    (project,) = result.projects
    assert project.created and project.uploaded == 1 and project.predictions == 1
    assert project.intents_missing_from_project == ["_confirm_"]  # predicted, but not offered
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        config = client.get_project(project.project_id)["label_config"]
    assert choices_of(config, "tag") == ["_cancel_", "inform_pay_later"]
    assert "product_kind/credit_card" in choices_of(config, "entities")
    assert "not in the project's choices: _confirm_" in result.message


def _turns_csv(path: Path, intents: dict[str, str]) -> str:
    """An untagged turns CSV: one turn per ``conversation_uuid: intent``."""
    lines = ["conversation_uuid,call_uuid,utterances,state,reftime,audio_url,intent"]
    lines += [
        f'{turn},c-{turn},"[[{{""transcript"": ""words of {turn}""}}]]",COF,2026-03-10T10:00:00+00:00,'
        f"https://a/{turn},{intent}"
        for turn, intent in intents.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_later_uploads_add_their_new_intents_to_the_label_config(
    labelstudio_env: "LabelStudioServer", tmp_path: Path
) -> None:
    from skit_pipelines.annotation.label_config import choices_of
    from skit_pipelines.annotation.upload import tag_calls

    title = f"growing {uuid.uuid4().hex[:8]}"
    first = tag_calls(
        s3_path=_turns_csv(tmp_path / "1.csv", {"t1": "_confirm_"}),
        project_title=title,
        url=labelstudio_env.url,
        token=labelstudio_env.token,
    )
    (created,) = first.projects
    assert created.created and created.intents_added == []
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        (task,) = client.iter_tasks(created.project_id)
        client.create_annotation(task["id"], [_choice("tag", "_confirm_")])

    later = {"t2": "_cancel_", "t3": "inform_pay_later", "t4": "_confirm_", "t5": "_cancel_"}
    second = tag_calls(
        s3_path=_turns_csv(tmp_path / "2.csv", later),
        project_title=title,
        url=labelstudio_env.url,
        token=labelstudio_env.token,
    )
    (project,) = second.projects
    assert project.project_id == created.project_id and not project.created and project.uploaded == 4
    assert project.intents_added == ["_cancel_", "inform_pay_later"]
    assert project.intents_missing_from_project == []
    assert "added 2 intents to the label config: _cancel_, inform_pay_later" in second.message
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        config = client.get_project(project.project_id)["label_config"]
        exported = client.export_tasks(project.project_id)
    assert choices_of(config, "tag") == ["_confirm_", "_cancel_", "inform_pay_later"]
    assert choices_of(config, "gold-data") == ["incorrect transcript", "gold ready for training"]
    (annotated,) = [t for t in exported if t["annotations"]]  # the earlier annotation is still there
    assert annotated["annotations"][0]["result"][0]["value"]["choices"] == ["_confirm_"]

    again = tag_calls(
        s3_path=_turns_csv(tmp_path / "2.csv", later),
        project_title=title,
        url=labelstudio_env.url,
        token=labelstudio_env.token,
    )
    assert again.projects[0].intents_added == [] and again.projects[0].skipped_duplicates == 4
    assert "added" not in again.message


def test_an_empty_csv_uploads_nothing_and_creates_nothing(
    labelstudio_env: "LabelStudioServer", tmp_path: Path
) -> None:
    from skit_pipelines.annotation.upload import tag_calls

    path = tmp_path / "empty.csv"
    path.write_text("conversation_uuid,call_uuid,utterances,state,reftime,audio_url,intent\n")
    title = f"empty {uuid.uuid4().hex[:8]}"
    result = tag_calls(
        s3_path=str(path), project_title=title, url=labelstudio_env.url, token=labelstudio_env.token
    )
    assert result.uploaded == 0 and result.projects == [] and "Nothing to upload" in result.message
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        assert client.find_project(title) is None


def test_demo_annotate_only_annotates_demo_data(
    labelstudio_env: "LabelStudioServer", calls_csv: str, warehouse: str
) -> None:
    from skit_pipelines.annotation.demo_annotator import NotDemoProjectError, annotate_with_demo_truth
    from skit_pipelines.annotation.upload import tag_calls
    from skit_pipelines.warehouse.fetch import fetch_calls
    from skit_pipelines.warehouse.filters import call_filters_from

    title = f"not demo {uuid.uuid4().hex[:8]}"
    tag_calls(
        s3_path=calls_csv, project_title=title, url=labelstudio_env.url, token=labelstudio_env.token
    )  # turns without the demo's truth in their context
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        with pytest.raises(NotDemoProjectError, match="has no task from the demo warehouse"):
            annotate_with_demo_truth(client, title=title)

    sample = fetch_calls(
        call_filters_from(SAMPLE), call_quantity=2, random_seed=SAMPLE["random_seed"], warehouse_url=warehouse
    )
    demo_title = f"demo {uuid.uuid4().hex[:8]}"
    uploaded = tag_calls(
        s3_path=sample.calls_uri,
        project_title=demo_title,
        url=labelstudio_env.url,
        token=labelstudio_env.token,
    ).uploaded
    truth = {
        row["conversation_uuid"]: json.loads(row["context"])["demo_true_intent"]
        for row in _read(sample.calls_uri)
    }
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        first = annotate_with_demo_truth(client, title=demo_title)
        assert first.annotated == uploaded == len(truth) and first.already_annotated == 0
        again = annotate_with_demo_truth(client, project_id=first.project_id)
        assert again.annotated == 0 and again.already_annotated == uploaded
        exported = client.export_tasks(first.project_id)
    chosen = {
        task["data"]["conversation_uuid"]: next(
            r["value"]["choices"][0] for r in task["annotations"][0]["result"] if r["from_name"] == "tag"
        )
        for task in exported
    }
    assert chosen == truth
