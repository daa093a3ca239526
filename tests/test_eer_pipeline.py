"""``eer_from_tog`` end to end: the local runner from a dataset_path, Slack, the table, S3, clear failures."""

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
import sqlalchemy as sa

from skit_pipelines import storage
from skit_pipelines.config import get_settings
from skit_pipelines.jobs.dataset_source import DatasetSourceError, download_project_ids, given_dataset
from skit_pipelines.jobs.entity_eval import read_entity_dataset, run_entity_evaluation
from skit_pipelines.metrics.entity.evaluation import evaluate_entity_frame
from skit_pipelines.metrics.entity.report import InvalidEntityDatasetError
from skit_pipelines.runner.base import RunState, StepEvent, get_runner

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]


def ent(kind: str, value: Any, start: int = 0, end: int = 5) -> dict[str, Any]:
    return {"type": kind, "value": value, "text": "t", "start": start, "end": end}


def write_dataset(path: Path) -> Path:
    turns = [
        ("u1", [ent("date", "2026-03-12")], [ent("date", "2026-03-12")]),
        ("u2", [ent("date", "2026-03-12")], [ent("date", "2026-03-15")]),
        ("u3", [ent("number", 7)], []),
        ("u4", [], []),
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "data_id",
                "truth_entities",
                "predicted_entities",
                "raw.language",
                "raw.call_uuid",
                "reftime",
                "tagged_time",
                "alternatives",
            ]
        )
        for data_id, truth, pred in turns:
            writer.writerow(
                [
                    data_id,
                    json.dumps(truth),
                    json.dumps(pred),
                    "en",
                    f"call-{data_id}",
                    "2026-03-10T10:00:00+05:30",
                    "2026-03-11T09:00:00",
                    "[]",
                ]
            )
        writer.writerow(["u5", "[{broken", "[]", "en", "call-u5", "", "", "[]"])
    return path


def test_runs_locally_writes_everything_and_posts_to_slack(
    tmp_path: Path, isolated_settings: Path, slack_server: "FakeSlackServer"
) -> None:
    dataset = write_dataset(tmp_path / "tagged_entities.csv")
    events: list[StepEvent] = []
    result = get_runner().run(
        "eer_from_tog",
        {
            "dataset_path": str(dataset),
            "org_id": "acme",
            "mlwr": True,
            "slu_project_name": "banking",
            "start_date": "2026-03-01",
            "notify": "U42",
            "channel": "#ml",
            "slack_thread": "17.5",
        },
        on_event=events.append,
    )

    assert result.state == RunState.SUCCEEDED, result.error
    assert [e.step for e in events if e.state == RunState.SUCCEEDED] == [
        "check-tagged-dataset",
        "gen-eer-metrics",
        "slack-notification",
    ]
    assert {e.step for e in events if e.state == RunState.SKIPPED} == {
        "check-download-source",
        "fetch-tagged-dataset",
        "build-entity-dataset",
    }  # no download
    out = result.outputs
    assert int(out["turns"]) == 4 and int(out["skipped_rows"]) == 1
    assert int(out["metrics_rows_written"]) == 3  # date, number, overall
    assert out["entity_error_rate"] == pytest.approx(2 / 3)  # mm + fn over 3 true entities
    # spans ignore values: u1 and u2 are both correct; P = 2/2, R = 2/3
    assert out["strict_f1"] == pytest.approx(0.8)

    with open(out["report_uri"], newline="") as handle:
        report = list(csv.DictReader(handle))
    assert [r["Entity"] for r in report] == ["date", "number"]
    assert list(report[0]) == ["Entity", "FPR", "FNR", "Mismatch Rate", "Support", "Negatives"]
    assert float(report[0]["Mismatch Rate"]) == 0.5 and report[0]["Support"] == "2"
    with open(out["mm_uri"], newline="") as handle:
        mm = list(csv.DictReader(handle))
    assert [(r["id"], r["entity_type"]) for r in mm] == [("u2", "date")]
    assert mm[0]["raw.call_uuid"] == "call-u2"  # context columns travel with the errors
    with open(out["fn_uri"], newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["u3"]
    for key in ("fp_uri", "all_entities_uri", "span_metrics_uri", "summary_uri"):
        assert Path(out[key]).is_file(), key
    assert "data:image/png;base64," in Path(out["html_uri"]).read_text()
    summary = json.loads(Path(out["summary_uri"]).read_text())
    assert summary["skipped"] == {"truth_entities: invalid JSON": 1}

    engine = sa.create_engine(get_settings().effective_database_url)
    with engine.connect() as conn:
        query = sa.text("SELECT metric_name, slu_name FROM entity_metrics ORDER BY id")
        names = conn.execute(query).fetchall()
    engine.dispose()
    assert names == [("date-entity", "banking"), ("number-entity", "banking"), ("overall-entity", "banking")]

    (post,) = slack_server.calls("chat.postMessage")
    assert post.args["channel"] == "#ml" and post.args["thread_ts"] == "17.5"
    text = json.dumps(post.args["blocks"])
    assert "entity error report for acme: 4 turns evaluated, 1 rows skipped" in text
    assert "Entity error rate 0.667" in text and "Wrote 3 rows to the entity_metrics table" in text
    assert "start_date ignored" in text
    assert out["html_uri"] in text and out["report_uri"] in text  # URIs in the message and code block
    assert "<@U42>" in post.args["text"]


def test_no_dataset_and_no_project_fails_clearly(isolated_settings: Path) -> None:
    result = get_runner().run("eer_from_tog", {"start_date": "2026-03-01"})
    assert result.state == RunState.FAILED and result.failed_step == "check-download-source"
    assert "no dataset to evaluate: give dataset_path" in result.error
    assert "job_id / labelstudio_project_id" in result.error


def test_a_dataset_without_entity_columns_fails_naming_them(tmp_path: Path, isolated_settings: Path) -> None:
    bad = tmp_path / "intents.csv"
    bad.write_text("data_id,intent_y\n1,_confirm_\n")
    result = get_runner().run("eer_from_tog", {"dataset_path": str(bad)})
    assert result.state == RunState.FAILED and result.failed_step == "gen-eer-metrics"
    assert "'truth_entities', 'predicted_entities'" in result.error


def test_dataset_source_rules(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "d.csv")
    assert given_dataset(f" {dataset} ") == (str(dataset), "")
    _, note = given_dataset(str(dataset), end_date="2026-03-02", start_date_offset=-7)
    assert note.startswith("end_date, start_date_offset ignored")
    with pytest.raises(storage.ArtifactNotFoundError, match="dataset_path does not exist"):
        given_dataset(str(tmp_path / "missing.csv"))
    with pytest.raises(DatasetSourceError, match="no dataset to evaluate") as raised:
        given_dataset("")
    assert raised.value.parameter == "dataset_path"
    assert download_project_ids(labelstudio_project_id="9, 4", job_id="4,12") == [9, 4, 12]
    assert download_project_ids(job_id="7") == [7]
    with pytest.raises(DatasetSourceError, match="no dataset to evaluate"):
        download_project_ids(job_id=" ", labelstudio_project_id="")
    with pytest.raises(ValueError, match="job_id: 'x' is not a Label Studio project id"):
        download_project_ids(job_id="x")


def test_reads_from_and_writes_to_s3(tmp_path: Path, s3_bucket: str) -> None:
    uri = storage.upload_file(
        write_dataset(tmp_path / "d.csv"), reference="acme", file_type="tagged_entity", ext=".csv"
    )
    assert uri.startswith(f"s3://{s3_bucket}/")
    result = run_entity_evaluation(dataset_uri=uri, org_id="acme")
    assert result.metrics_rows_written == 0  # mlwr off: no table rows
    assert set(result.uris) == {
        "report",
        "fp",
        "fn",
        "mm",
        "all_entities",
        "categorical",
        "spans",
        "html",
        "summary",
    }
    assert all(u.startswith(f"s3://{s3_bucket}/prefix/project/acme/") for u in result.uris.values())
    assert "entity Error".lower() in storage.read_text(result.uris["html"]).lower()
    assert result.download_commands.count("aws s3 cp") == 9


def test_the_note_says_where_the_dataset_came_from(tmp_path: Path, isolated_settings: Path) -> None:
    note = "Here is your data ...: 0 rows from 3 tasks (3 annotations outside the date window left out)."
    result = run_entity_evaluation(dataset_uri=str(write_dataset(tmp_path / "d.csv")), note=note)
    assert result.message.endswith("\n" + note)
    header_only = tmp_path / "header.csv"
    header_only.write_text("data_id,truth_entities,predicted_entities\n")
    with pytest.raises(
        InvalidEntityDatasetError, match=r"(?s)no rows.*3 annotations outside the date window"
    ):
        run_entity_evaluation(dataset_uri=str(header_only), note=note)


def test_an_unknown_timezone_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone: unknown timezone 'Mars/Olympus'"):
        run_entity_evaluation(dataset_uri=str(write_dataset(tmp_path / "d.csv")), timezone="Mars/Olympus")


def test_reading_files(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("data_id,truth_entities,predicted_entities\n")
    with pytest.raises(InvalidEntityDatasetError, match="no rows"):
        evaluate_entity_frame(read_entity_dataset(str(header_only)))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidEntityDatasetError, match="cannot read the entity dataset"):
        read_entity_dataset(str(empty))
    csv_frame = read_entity_dataset(str(write_dataset(tmp_path / "d.csv")))
    assert csv_frame["data_id"].tolist()[:2] == ["u1", "u2"] and "raw.language" in csv_frame.columns
    parquet = tmp_path / "d.parquet"
    csv_frame.to_parquet(parquet)
    from_parquet = read_entity_dataset(f"file://{parquet}")
    a, b = evaluate_entity_frame(csv_frame), evaluate_entity_frame(from_parquet)
    assert a.report.equals(b.report) and b.turns == 4


def test_pipeline_keeps_entity_types_as_given_unless_normalise_labels(
    tmp_path: Path, isolated_settings: Path
) -> None:
    path = tmp_path / "d.csv"
    truth = json.dumps([{"type": "product kind /card", "text": "card"}])
    pred = json.dumps([{"type": "product kind", "value": "card", "text": "card"}])
    pd.DataFrame({"data_id": ["1"], "truth_entities": [truth], "predicted_entities": [pred]}).to_csv(
        path, index=False
    )
    as_given = get_runner().run("eer_from_tog", {"dataset_path": str(path)})
    assert as_given.state == RunState.SUCCEEDED, as_given.error
    report = pd.read_csv(as_given.outputs["report_uri"], index_col=0)
    assert report.loc["product kind ", "FNR"] == 1.0 and report.loc["product kind", "FPR"] == 1.0
    normalised = get_runner().run("eer_from_tog", {"dataset_path": str(path), "normalise_labels": True})
    assert normalised.state == RunState.SUCCEEDED, normalised.error
    report = pd.read_csv(normalised.outputs["report_uri"], index_col=0)
    assert list(report.index) == ["product kind"] and report.loc["product kind", "Mismatch Rate"] == 0.0
    categorical = pd.read_csv(normalised.outputs["categorical_uri"], index_col=0)
    assert categorical.loc["product kind/card", "f1-score"] == 1.0
    assert "Categorical entities (type/value)" in Path(normalised.outputs["html_uri"]).read_text()


def test_pipeline_evaluates_a_prediction_file_joined_on_id(tmp_path: Path, isolated_settings: Path) -> None:
    def cell(kind: str, value: object) -> str:
        return json.dumps([{"type": kind, "value": value, "text": str(value)}])

    dataset = pd.DataFrame(
        {
            "turn": ["a", "b", "c", "d"],
            "truth_entities": [cell("number", 4), cell("number", 5), "[]", cell("date", "2026-03-12")],
            "predicted_entities": ["[]"] * 4,  # the production predictions, replaced by the file's
        }
    )
    predictions = pd.DataFrame(
        {
            "turn": ["d", "b", "a", "z"],
            "predicted_entities_with_modifications": [
                cell("date", "2026-03-12"),
                cell("number", 6),
                cell("number", 4),
                cell("number", 1),
            ],
        }
    )
    dataset.to_csv(tmp_path / "truth.csv", index=False)
    predictions.to_csv(tmp_path / "predictions.csv", index=False)
    params = {
        "dataset_path": str(tmp_path / "truth.csv"),
        "prediction_path": str(tmp_path / "predictions.csv"),
        "id_column": "turn",
    }
    result = get_runner().run("eer_from_tog", params)
    assert result.state == RunState.SUCCEEDED, result.error
    merged = dataset.drop(columns="predicted_entities").merge(
        predictions.rename(columns={"predicted_entities_with_modifications": "predicted_entities"}), on="turn"
    )
    expected = evaluate_entity_frame(merged.rename(columns={"turn": "data_id"}))
    assert int(result.outputs["turns"]) == len(merged) == 3
    report = pd.read_csv(result.outputs["report_uri"], index_col=0)
    pd.testing.assert_frame_equal(report, expected.report, check_dtype=False, check_names=False)
    assert report.loc["number", "Mismatch Rate"] == 0.5  # b: 5 vs 6; a: 4 = 4
    summary = json.loads(Path(result.outputs["summary_uri"]).read_text())
    assert (
        summary["warnings"]["rows in the dataset but not in the prediction file (left out: no prediction)"]
        == 1
    )
    assert summary["warnings"]["rows in the prediction file but not in the dataset (left out: no truth)"] == 1
    missing = get_runner().run("eer_from_tog", {**params, "prediction_path": str(tmp_path / "nope.csv")})
    assert missing.state == RunState.FAILED and "prediction_path does not exist" in missing.error
