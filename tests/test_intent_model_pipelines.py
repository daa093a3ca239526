"""train_voicebot_intent_model_xlmr and eval_voicebot_xlmr_pipeline on kfp's local runner, offline.

The tiny XLM-R (real tokenizer, random weights) goes train → predict → evaluate end to end; the
evaluation with a model is checked against an in-process prediction with the same archive, so the
pipeline provably evaluates the model's own ``intent_x`` and not the production ``raw.intent``.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
import yaml

from skit_pipelines.compiler import compile_pipeline
from skit_pipelines.jobs.model_archive import open_model
from skit_pipelines.models.predict import predict_intents
from skit_pipelines.runner.base import RunState, StepEvent, get_runner
from tests.model_fixtures import sentences, tagged_rows, tiny_xlmr, write_csv

if TYPE_CHECKING:
    from tests.api_helpers import ApiClient
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server", "tests.api_fixtures"]

PRODUCTION_ONLY = "production_only_intent"  # a label no trained model can predict


@pytest.fixture(scope="module")
def xlmr_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr-pipelines") / "model")


@pytest.mark.slow
def test_train_predict_evaluate_end_to_end(
    xlmr_dir: str, tmp_path: Path, slack_server: "FakeSlackServer"
) -> None:
    train_csv = write_csv(tagged_rows(sentences("train")), tmp_path / "train.csv")
    test_rows = tagged_rows(sentences("test"), raw_intent=PRODUCTION_ONLY)
    test_csv = write_csv(test_rows, tmp_path / "test.csv")
    runner = get_runner()

    events: list[StepEvent] = []
    trained = runner.run(
        "train_voicebot_intent_model_xlmr",
        {
            "dataset_path": train_csv,
            "model_name": xlmr_dir,
            "num_train_epochs": 1,
            "org_id": "acme",
            "version": "v2",
            "model_path": "models/acme/v2.tar.gz",
            "notify": "U1",
            "channel": "#ml",
        },
        on_event=events.append,
    )
    assert trained.state == RunState.SUCCEEDED, trained.error
    model_uri = trained.outputs["model_uri"]
    assert model_uri.endswith("models/acme/v2.tar.gz") and Path(model_uri).is_file()
    assert trained.outputs["labels"] == 4 and trained.outputs["train_rows"] == len(sentences("train"))
    assert trained.outputs["device"] == "cpu"
    states = {(e.step, e.state) for e in events}
    assert ("train-intent-model-2", RunState.SUCCEEDED) in states  # the CPU copy ran ...
    assert ("train-intent-model", RunState.SKIPPED) in states  # ... and the GPU copy did not
    (post,) = slack_server.calls("chat.postMessage")
    assert (
        "Trained model (XLMRobertaForSequenceClassification, model type xlm-roberta) on 120 rows, 4 intents, "
        "1 epochs on cpu" in post.args["text"]
    )
    assert model_uri in str(post.args["blocks"])  # the download command

    # A threshold near the tiny model's confidences sends some turns to the fallback intent.
    archive = open_model(model_uri, tmp_path / "opened")
    plain = predict_intents(pd.DataFrame(test_rows), archive).frame
    threshold = round(float(plain["intent_x_confidence"].median()), 4)
    evaluated = runner.run(
        "eval_voicebot_xlmr_pipeline",
        {
            "s3_path_data": test_csv,
            "org_id": "acme",
            "s3_path_model": model_uri,
            "confidence_threshold": str(threshold),
        },
    )
    assert evaluated.state == RunState.SUCCEEDED, evaluated.error
    # The same archive predicting in-process gives the accuracy the pipeline reported: it evaluated intent_x,
    # after the threshold.
    predicted = predict_intents(pd.DataFrame(test_rows), archive, confidence_threshold=threshold).frame
    assert (predicted["intent_x"] == "_oos_").sum() > 0
    expected = float((predicted["intent_x"] == pd.Series([r["intent_y"] for r in test_rows])).mean())
    assert evaluated.outputs["n"] == len(test_rows)
    assert evaluated.outputs["accuracy"] == pytest.approx(expected)
    matrix = pd.read_csv(evaluated.outputs["confusion_matrix_uri"], index_col=0)
    assert PRODUCTION_ONLY not in matrix.columns and set(matrix.columns) <= {*archive.labels, "_oos_"}
    per_turn = pd.read_csv(evaluated.outputs["predictions_uri"])
    assert len(per_turn) == len(test_rows)
    assert list(per_turn["model_predicted"]) == list(predicted["intent_x_model"])
    assert list(per_turn["predicted"]) == list(predicted["intent_x"])
    errors = pd.read_csv(evaluated.outputs["errors_uri"])
    assert len(errors) == int((~per_turn["correct"]).sum())
    page = Path(evaluated.outputs["html_report_uri"]).read_text()
    assert "<h2>Out of scope</h2>" in page and "Threshold sweep" in page

    production = runner.run("eval_voicebot_xlmr_pipeline", {"s3_path_data": test_csv, "org_id": "acme"})
    assert production.state == RunState.SUCCEEDED, production.error
    assert production.outputs["accuracy"] == 0.0  # raw.intent is wrong on every row
    assert PRODUCTION_ONLY in pd.read_csv(production.outputs["confusion_matrix_uri"], index_col=0).columns


def test_eval_without_a_model_scores_the_production_predictions(tmp_path: Path) -> None:
    rows = tagged_rows(sentences("test")[:8])
    for row in rows[:2]:
        row["raw.intent"] = "goodbye" if row["intent_y"] != "goodbye" else "pay_bill"
    data = write_csv(rows, tmp_path / "tagged.csv")
    events: list[StepEvent] = []
    result = get_runner().run(
        "eval_voicebot_xlmr_pipeline", {"s3_path_data": data, "org_id": "acme"}, on_event=events.append
    )
    assert result.state == RunState.SUCCEEDED, result.error
    assert result.outputs["n"] == 8 and result.outputs["accuracy"] == pytest.approx(6 / 8)
    ran = {e.step for e in events if e.state == RunState.SUCCEEDED}
    assert ran == {"gen-irr-metrics-2"}  # no prediction step without a model
    # The per-turn predictions and the errors are outputs of the run, in its run.json too.
    per_turn = pd.read_csv(result.outputs["predictions_uri"])
    assert list(per_turn["correct"]) == [False, False] + [True] * 6
    assert list(pd.read_csv(result.outputs["errors_uri"])["id"]) == [0, 1]  # data_id of the wrong rows
    recorded = json.loads((Path(result.run_dir) / "run.json").read_text())
    for name in ("predictions_uri", "errors_uri"):
        assert recorded["outputs"][name] == result.outputs[name]


def test_the_api_status_lists_the_per_turn_outputs(client: "ApiClient", isolated_settings: Path) -> None:
    rows = tagged_rows(sentences("test")[:4])
    rows[0]["raw.intent"] = "goodbye" if rows[0]["intent_y"] != "goodbye" else "pay_bill"
    data = write_csv(rows, isolated_settings / "artifacts" / "eval" / "tagged.csv")  # a readable location
    created = client.run("eval_voicebot_xlmr_pipeline", {"s3_path_data": data, "org_id": "acme"})
    assert created.status_code == 200, created.text
    final = client.wait_final(created.json()["response"]["run_id"], timeout=120)["response"]
    assert final["state"] == "SUCCEEDED", final
    outputs = final["outputs"]
    assert outputs["predictions_uri"] in final["uris"] and outputs["errors_uri"] in final["uris"]
    assert len(pd.read_csv(outputs["errors_uri"])) == 1


def test_bad_dataset_fails_the_training_step_with_its_reason(tmp_path: Path) -> None:
    rows = [{"alternatives": '[[{"transcript": "hi"}]]', "state": "S"}] * 3
    data = write_csv(rows, tmp_path / "unlabelled.csv")
    result = get_runner().run(
        "train_voicebot_intent_model_xlmr", {"dataset_path": data, "model_name": "unused"}
    )
    assert result.state == RunState.FAILED
    assert result.failed_step == "train-intent-model-2"
    assert "no label column 'intent_y'" in result.error


@pytest.mark.parametrize(
    ("name", "gpu_step", "cpu_step"),
    [
        ("train_voicebot_intent_model_xlmr", "exec-train-intent-model", "exec-train-intent-model-2"),
        ("eval_voicebot_xlmr_pipeline", "exec-predict-intents", "exec-predict-intents-2"),
    ],
)
def test_only_the_use_gpu_branch_requests_a_gpu(
    name: str, gpu_step: str, cpu_step: str, tmp_path: Path
) -> None:
    spec = yaml.safe_load(compile_pipeline(name, tmp_path).read_text())
    executors = spec["deploymentSpec"]["executors"]
    requested = {
        step: executor["container"].get("resources", {}).get("accelerator")
        for step, executor in executors.items()
    }
    assert requested[gpu_step] == {
        "count": "1",
        "resourceCount": "1",
        "resourceType": "nvidia.com/gpu",
        "type": "nvidia.com/gpu",
    }
    assert [step for step, accelerator in requested.items() if accelerator] == [gpu_step]
    assert requested[cpu_step] is None
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert defaults["use_gpu"]["defaultValue"] is False  # CPU unless asked
