"""``irr_from_tog`` end to end: the demo warehouse as a tagged dataset, artifacts, metrics rows, Slack."""

import datetime as dt
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from matplotlib import image as mpimg
from sklearn.metrics import classification_report, cohen_kappa_score

from skit_pipelines import storage
from skit_pipelines.config import get_settings
from skit_pipelines.jobs.intent_eval import evaluate_tagged_dataset
from skit_pipelines.runner.base import RunState, StepEvent, get_runner
from skit_pipelines.stores.intent_metrics import read_intent_metrics
from skit_pipelines.warehouse.demo_data import generate_demo_warehouse
from skit_pipelines.warehouse.fetch import fetch_calls
from skit_pipelines.warehouse.filters import build_call_filters
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]

ARTIFACTS = (
    "report_uri",
    "confusion_matrix_uri",
    "intent_report_uri",
    "errors_uri",
    "breakdowns_uri",
    "heatmap_uri",
    "top_confusions_uri",
    "html_report_uri",
)


def demo_tagged_dataset(folder: Path) -> Path:
    """Demo warehouse → fetch_calls CSV → the tagged-dataset shape (spec 2.3), truth in tog's tag JSON."""
    url = get_settings().effective_warehouse_url
    generate_demo_warehouse(url, calls=150, seed=11, end_date=dt.date(2026, 3, 10), days=3)
    fetched = fetch_calls(
        build_call_filters(lang="en", start_date="2026-03-06", end_date="2026-03-11", timezone="UTC"),
        call_quantity=150,
        random_seed=3,
        warehouse_url=url,
    )
    turns = pd.read_csv(fetched.calls_uri, dtype=str, keep_default_na=False, na_values=[""])
    truth = turns["context"].map(lambda text: json.loads(text)["demo_true_intent"])
    tagged = pd.DataFrame(
        {
            "data_id": turns["conversation_uuid"],
            "tag": truth.map(lambda intent: json.dumps([{"type": intent}])),
            "is_gold": "False",
            "tagged_time": "2026-03-12T09:30:00+00:00",
            "annotator": "demo",
            "alternatives": turns["utterances"],
            "raw.intent": turns["intent"],
            "raw.intent_score": turns["intent_score"],
            "raw.prediction": turns["prediction"],
            "raw.conversation_uuid": turns["conversation_uuid"],
            "raw.call_uuid": turns["call_uuid"],
            "raw.language": turns["language"],
            "raw.state": turns["state"],
            "reftime": turns["reftime"],
        }
    )
    path = folder / "tagged.csv"
    tagged.to_csv(path, index=False)
    return path


@pytest.fixture
def demo_csv(tmp_path: Path, isolated_settings: Path) -> Path:
    return demo_tagged_dataset(tmp_path)


def expected_numbers(path: Path) -> tuple[list[str], list[str]]:
    frame = pd.read_csv(path, dtype=str)
    truth = [json.loads(tag)[0]["type"] for tag in frame["tag"]]
    return truth, frame["raw.intent"].tolist()


def test_demo_dataset_agrees_with_sklearn(demo_csv: Path, isolated_settings: Path) -> None:
    truth, pred = expected_numbers(demo_csv)
    result = evaluate_tagged_dataset(
        str(demo_csv), reference="demo", slu_project_name="demo-slu", job_id="7", mlwr=True
    )
    sk = classification_report(truth, pred, output_dict=True, zero_division=0)
    assert result.n == len(truth) > 300
    assert 0.6 < result.accuracy < 0.99  # the demo's production model is wrong ~15 % of the time
    assert result.accuracy == pytest.approx(sk["accuracy"])
    assert result.weighted_f1 == pytest.approx(sk["weighted avg"]["f1-score"])
    assert result.kappa == pytest.approx(cohen_kappa_score(truth, pred))
    assert result.issues == []
    report = pd.read_csv(result.artifacts["report_uri"], index_col=0)
    for label in ("_confirm_", "_cancel_", "inform_digits"):
        assert report.loc[label, "precision"] == pytest.approx(sk[label]["precision"])
        assert report.loc[label, "support"] == sk[label]["support"]
    errors = pd.read_csv(result.artifacts["errors_uri"], dtype={"id": str})
    assert len(errors) == sum(t != p for t, p in zip(truth, pred, strict=True))
    assert errors["text"].notna().any() and errors["confidence"].between(0, 1).all()
    rasa = json.loads(Path(result.artifacts["intent_report_uri"]).read_text())
    assert rasa["_confirm_"]["support"] == sk["_confirm_"]["support"]
    rows = read_intent_metrics(slu_name="demo-slu")
    assert [r["metric_name"] for r in rows] == ["overall-intents"] and result.metrics_rows == 1
    assert rows[0]["n_turns"] == result.n and rows[0]["dataset_job_id"] == "7"
    assert rows[0]["reference_url"] == result.artifacts["html_report_uri"]
    assert "Intent evaluation of job 7" in result.message
    assert result.artifacts["html_report_uri"] in result.message


def test_dataset_and_artifacts_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "t.csv"
    local.write_text("data_id,intent_y,raw.intent\n1,a,a\n2,b,a\n3,b,b\n4,,a\n")
    uri = storage.upload_file(local, reference="datasets", file_type="tagged", ext=".csv")
    alias = storage.upload_bytes(b"a: [b]\n", reference="yamls", file_type="alias", ext=".yaml")
    result = evaluate_tagged_dataset(uri, alias_yaml=alias)
    assert result.accuracy == 0.75 and result.n == 4  # b is an alias of a; the missing truth counts as '_'
    assert result.issues == ["1 rows: no true label (counted as '_')"]
    assert "Data notes: 1 rows: no true label" in result.message
    assert all(u.startswith(f"s3://{s3_bucket}/prefix/") for u in result.artifacts.values())
    assert "aws s3 cp" in result.download_commands
    assert b"<!DOCTYPE html>" in storage.read_bytes(result.artifacts["html_report_uri"])


def test_pipeline_runs_locally_and_notifies(demo_csv: Path, slack_server: "FakeSlackServer") -> None:
    events: list[StepEvent] = []
    result = get_runner().run(
        "irr_from_tog",
        {
            "dataset_path": str(demo_csv),
            "org_id": "acme",
            "mlwr": True,
            "slu_project_name": "acme-slu",
            "job_id": "7",
            "notify": "U1",
            "channel": "#ml",
            "slack_thread": "17.5",
        },
        on_event=events.append,
    )
    assert result.state == RunState.SUCCEEDED, result.error
    truth, pred = expected_numbers(demo_csv)
    outputs = result.outputs
    assert outputs["n"] == len(truth)
    correct = sum(t == p for t, p in zip(truth, pred, strict=True))
    assert outputs["accuracy"] == pytest.approx(correct / len(truth))
    assert outputs["kappa"] == pytest.approx(cohen_kappa_score(truth, pred))
    assert outputs["metrics_rows_written"] == 1 and outputs["data_notes"] == ""
    for name in ARTIFACTS:
        assert storage.exists(outputs[name]), name
        assert "/project/acme/" in outputs[name]
    assert mpimg.imread(io.BytesIO(Path(outputs["heatmap_uri"]).read_bytes()), format="png").ndim == 3
    page = Path(outputs["html_report_uri"]).read_text()
    assert f">{outputs['accuracy']:.3f}<" in page
    states = {(e.step, e.state) for e in events}
    assert ("gen-irr-metrics", RunState.SUCCEEDED) in states
    assert ("check-download-source", RunState.SKIPPED) in states  # dataset_path given: no download
    assert ("fetch-tagged-dataset", RunState.SKIPPED) in states
    assert ("slack-notification", RunState.SUCCEEDED) in states
    assert [r["metric_name"] for r in read_intent_metrics(slu_name="acme-slu")] == ["overall-intents"]

    (post,) = slack_server.calls("chat.postMessage")
    assert post.args["channel"] == "#ml" and post.args["thread_ts"] == "17.5"
    text = json.dumps(post.args["blocks"])
    assert f"*{len(truth):,}* turns, accuracy *{outputs['accuracy']:.3f}*" in text
    assert f"Cohen's kappa *{outputs['kappa']:.3f}*" in text
    assert outputs["html_report_uri"] in text and outputs["report_uri"] in text
    assert "1 rows written to intent_metrics" in text
    assert "<@U1>" in post.args["text"]


def test_pipeline_without_a_dataset_fails_clearly(isolated_settings: Path) -> None:
    result = get_runner().run("irr_from_tog", {})
    assert result.state == RunState.FAILED and result.failed_step == "check-download-source"
    assert "no dataset to evaluate: give dataset_path" in result.error
    assert "job_id / labelstudio_project_id" in result.error
    result = get_runner().run("irr_from_tog", {"labelstudio_project_id": "12", "job_id": "seven"})
    assert result.failed_step == "check-download-source"
    assert "job_id: 'seven' is not a Label Studio project id" in result.error


def test_pipeline_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("data_id,intent_y,intent\n1,a,a\n")
    result = get_runner().run("irr_from_tog", {"dataset_path": str(path)})
    assert result.state == RunState.FAILED and result.failed_step == "gen-irr-metrics"
    assert "'raw.intent' (pred_label_column) is not in the dataset" in result.error
    result = get_runner().run("irr_from_tog", {"dataset_path": str(tmp_path / "nope.csv")})
    assert result.failed_step == "check-tagged-dataset" and "does not exist" in result.error


def test_pipeline_keeps_labels_as_given_unless_normalise_labels(
    tmp_path: Path, isolated_settings: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("data_id,intent_y,raw.intent\n1, greet,greet\n2,bye,bye\n3,5,5\n4,bye ,bye\n")
    as_given = get_runner().run("irr_from_tog", {"dataset_path": str(path)})
    assert as_given.state == RunState.SUCCEEDED, as_given.error
    assert as_given.outputs["accuracy"] == 0.5  # " greet" and "bye " are other labels, as in the reference
    report = pd.read_csv(as_given.outputs["report_uri"], index_col=0, keep_default_na=False)
    assert {" greet", "greet", "bye ", "bye"} <= set(report.index)
    normalised = get_runner().run("irr_from_tog", {"dataset_path": str(path), "normalise_labels": True})
    assert normalised.state == RunState.SUCCEEDED, normalised.error
    assert normalised.outputs["accuracy"] == 1.0


def test_layer_breakdowns_and_group_notes_reach_the_artifacts(
    tmp_path: Path, isolated_settings: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "data_id,intent_y,raw.intent\n1,ood,oos\n2,noise,oos\n3,agree,oos\n4,agree,agree\n5,deny,agree\n"
    )
    layers = tmp_path / "layers.yaml"
    layers.write_text("intent_x: {acoustic_oos: [noise], lexical_oos: [ood]}\nintent_y: {oos: [oos]}\n")
    groups = tmp_path / "groups.yaml"
    groups.write_text("answers: [agree, deny, agree]\n")
    result = evaluate_tagged_dataset(str(path), layers_yaml=str(layers), groups_yaml=str(groups))
    breakdowns = json.loads(Path(result.artifacts["breakdowns_uri"]).read_text())
    lexical = breakdowns["layer_breakdowns"]["layer-lexical_oos"]
    truth = ["lexical_oos", "acoustic_oos", "agree", "agree", "deny"]
    pred = ["lexical_oos", "lexical_oos", "lexical_oos", "agree", "agree"]
    expected = classification_report(truth, pred, output_dict=True, zero_division=0)
    assert lexical["lexical_oos"] == pytest.approx(expected["lexical_oos"])
    assert lexical["accuracy"] == pytest.approx(expected["accuracy"])
    answers = breakdowns["groups"]["answers"]
    assert answers["micro avg"]["support"] == 3  # agree listed twice counts once
    page = Path(result.artifacts["html_report_uri"]).read_text()
    assert "Layer breakdown: layer-lexical_oos" in page
    assert "group &#x27;answers&#x27; lists agree more than once: counted once" in page


def test_an_empty_timezone_means_skit_timezone(
    demo_csv: Path, isolated_settings: Path, settings_env: SettingsEnv
) -> None:
    """One timezone rule for all pipelines: the parameter, else SKIT_TIMEZONE (it was Asia/Kolkata)."""
    from skit_pipelines.pipelines import PIPELINES
    from skit_pipelines.pipelines.parameters import pipeline_parameters

    defaults = {
        name: param.default
        for name, pipeline in PIPELINES.items()
        for param in pipeline_parameters(pipeline)
        if param.name == "timezone"
    }
    assert {"irr_from_tog", "eer_from_tog", "fetch_tagged_calls_dataset"} <= set(defaults)
    assert set(defaults.values()) == {""}, defaults

    frame = pd.read_csv(demo_csv, dtype=str)
    frame["tagged_time"] = "2026-03-12 09:30:00"  # naive: read in the evaluation's timezone
    frame.to_csv(demo_csv, index=False)
    settings_env(SKIT_TIMEZONE="America/New_York")
    evaluate_tagged_dataset(str(demo_csv), slu_project_name="tz-slu", mlwr=True)
    (row,) = read_intent_metrics(slu_name="tz-slu")
    tagged = row["tagged_from_date"]
    tagged = tagged if tagged.tzinfo else tagged.replace(tzinfo=dt.timezone.utc)
    assert tagged == dt.datetime(2026, 3, 12, 13, 30, tzinfo=dt.timezone.utc)  # 09:30 in New York (EDT)
