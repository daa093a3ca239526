"""A truth file and a prediction file joined on id: an inner join as the reference, left-out rows counted."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import classification_report

from skit_pipelines.jobs.intent_eval import evaluate_tagged_dataset
from skit_pipelines.metrics.intent.evaluation import evaluate_intents
from skit_pipelines.metrics.prediction_join import join_predictions
from skit_pipelines.metrics.tagged import InvalidDatasetError
from skit_pipelines.runner.base import RunState, get_runner


def test_join_keeps_shared_ids_and_counts_the_rest() -> None:
    truth = pd.DataFrame(
        {"data_id": ["1", "2", "3", None], "intent_y": ["a", "b", "c", "a"], "raw.intent": ["x"] * 4}
    )
    predictions = pd.DataFrame({"data_id": ["3", "2", "9", ""], "raw.intent": ["c", "a", "b", "a"]})
    joined = join_predictions(
        truth, predictions, true_label_column="intent_y", pred_label_column="raw.intent"
    )
    assert joined.frame[["data_id", "intent_y", "raw.intent"]].values.tolist() == [
        ["2", "b", "a"],
        ["3", "c", "c"],
    ]  # the prediction file's column replaced the dataset's; the dataset's row order kept
    assert joined.pred_column == "raw.intent"
    counts = joined.counts
    assert (counts.joined, counts.only_in_truth, counts.only_in_predictions) == (2, 1, 1)
    assert (counts.truth_without_id, counts.predictions_without_id) == (1, 1)
    assert len(counts.issues()) == 4


def test_same_label_column_name_on_both_sides() -> None:
    truth = pd.DataFrame({"id": ["1", "2"], "intent": ["a", "b"]})
    predictions = pd.DataFrame({"id": ["1", "2"], "intent": ["a", "a"], "confidence": ["0.9", "0.4"]})
    joined = join_predictions(truth, predictions, true_label_column="intent", pred_label_column="intent")
    assert joined.pred_column == "intent (prediction file)"
    assert joined.frame["intent"].tolist() == ["a", "b"]
    assert joined.frame["intent (prediction file)"].tolist() == ["a", "a"]
    assert joined.frame["confidence"].tolist() == ["0.9", "0.4"]


def test_bad_joins_are_named() -> None:
    truth = pd.DataFrame({"id": ["1", "2"], "intent_y": ["a", "b"]})
    with pytest.raises(InvalidDatasetError, match=r"prediction file repeats ids in column 'id'.*lines 2, 3"):
        join_predictions(
            truth,
            pd.DataFrame({"id": ["1", "1"], "p": ["a", "b"]}),
            true_label_column="intent_y",
            pred_label_column="p",
        )
    with pytest.raises(InvalidDatasetError, match="share no id"):
        join_predictions(
            truth,
            pd.DataFrame({"id": ["7"], "p": ["a"]}),
            true_label_column="intent_y",
            pred_label_column="p",
        )
    with pytest.raises(InvalidDatasetError, match=r"prediction file has no column 'p' \(pred_label_column"):
        join_predictions(
            truth,
            pd.DataFrame({"id": ["1"], "q": ["a"]}),
            true_label_column="intent_y",
            pred_label_column="p",
        )
    with pytest.raises(InvalidDatasetError, match=r"dataset has no column 'turn' \(id_column\)"):
        join_predictions(
            truth,
            pd.DataFrame({"turn": ["1"], "p": ["a"]}),
            true_label_column="intent_y",
            pred_label_column="p",
            id_column="turn",
        )
    with pytest.raises(InvalidDatasetError, match="prediction file has no id column"):
        join_predictions(
            truth, pd.DataFrame({"x": ["1"], "p": ["a"]}), true_label_column="intent_y", pred_label_column="p"
        )


def random_files(rng: np.random.Generator, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    labels = np.array(["a", "b", "c", "d", "e"])
    ids = rng.permutation(n + 60).astype(str)
    truth = pd.DataFrame({"id": ids[:n], "intent_y": rng.choice(labels, n), "raw.intent": "production"})
    pred_ids = rng.permutation(ids[30:])  # 30 ids only in the dataset, 60 only in the predictions
    predictions = pd.DataFrame({"id": pred_ids, "model_intent": rng.choice(labels, len(pred_ids))})
    return truth, predictions


def test_evaluation_of_joined_files_matches_pandas_and_sklearn() -> None:
    truth, predictions = random_files(np.random.default_rng(5))
    evaluation = evaluate_intents(truth, pred_label_column="model_intent", predictions=predictions)
    merged = truth.merge(predictions, on="id", how="inner")
    expected = classification_report(
        merged["intent_y"], merged["model_intent"], output_dict=True, zero_division=0
    )
    assert evaluation.n == len(merged) == 370
    assert list(evaluation.report) == list(expected)
    for key, value in expected.items():
        assert evaluation.report[key] == pytest.approx(value), key
    issues = dict(evaluation.data.issues)
    assert issues["in the dataset but not in the prediction file (left out: no prediction)"] == 30
    assert issues["in the prediction file but not in the dataset (left out: no truth)"] == 60


def test_pipeline_evaluates_a_prediction_file(tmp_path: Path, isolated_settings: Path) -> None:
    truth, predictions = random_files(np.random.default_rng(8), n=120)
    dataset, prediction_file = tmp_path / "tagged.csv", tmp_path / "predictions.csv"
    truth.rename(columns={"id": "turn"}).to_csv(dataset, index=False)
    predictions.rename(columns={"id": "turn"}).to_csv(prediction_file, index=False)
    params = {
        "dataset_path": str(dataset),
        "prediction_path": str(prediction_file),
        "id_column": "turn",
        "pred_label_column": "model_intent",
    }
    result = get_runner().run("irr_from_tog", params)
    assert result.state == RunState.SUCCEEDED, result.error
    merged = truth.merge(predictions, on="id", how="inner")
    expected = classification_report(
        merged["intent_y"], merged["model_intent"], output_dict=True, zero_division=0
    )
    assert result.outputs["n"] == len(merged)
    assert result.outputs["accuracy"] == pytest.approx(expected["accuracy"])
    assert result.outputs["weighted_f1"] == pytest.approx(expected["weighted avg"]["f1-score"])
    assert "30 rows: in the dataset but not in the prediction file" in result.outputs["data_notes"]
    assert "60 rows: in the prediction file but not in the dataset" in result.outputs["data_notes"]
    with pytest.raises(FileNotFoundError, match="prediction_path does not exist"):
        evaluate_tagged_dataset(str(dataset), prediction_uri=str(tmp_path / "nope.csv"), id_column="turn")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidDatasetError, match=r"prediction_path .*empty\.csv: .*empty"):
        evaluate_tagged_dataset(str(dataset), prediction_uri=str(empty), id_column="turn")
