"""Intent model: train → archive → open → predict in-process, every bad input of spec §6, MiniLM learning.

The tiny XLM-R (real XLM-R tokenizer, 1 random layer) checks plumbing; MiniLM checks that a pretrained
checkpoint actually learns. Everything is offline: checkpoints come from installed packages.
"""

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from skit_pipelines import runtime
from skit_pipelines.config import get_settings
from skit_pipelines.jobs.model_archive import open_model, upload_model
from skit_pipelines.jobs.model_inputs import apply_storage_options
from skit_pipelines.jobs.predict import predict_job
from skit_pipelines.jobs.train_model import train_job, train_request_from
from skit_pipelines.metrics.intent.oos import OutOfScopeSpec, choose_threshold
from skit_pipelines.models.archive import ArchiveError, save_model
from skit_pipelines.models.checkpoint import ModelLoadError
from skit_pipelines.models.predict import predict_intents
from skit_pipelines.models.train import (
    BestEpoch,
    Examples,
    TrainConfig,
    TrainingDataError,
    label_set,
    train_intent_classifier,
)
from skit_pipelines.parameters import InvalidParameterError
from tests.conftest import forget_settings, import_or_skip
from tests.model_fixtures import minilm_path, sentences, tagged_rows, tiny_xlmr, write_csv

EXPECTED_LABELS = ["check_balance", "goodbye", "pay_bill", "talk_to_agent"]


@pytest.fixture(scope="session")
def xlmr_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr") / "model")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, xlmr_dir: str) -> dict:
    """One training run shared by the module: validation split, early stopping, rows to leave out."""
    work = tmp_path_factory.mktemp("trained")
    rows = tagged_rows(sentences("train"))
    rows[0]["alternatives"] = "[]"  # no ASR text
    rows[1]["alternatives"] = json.dumps([[{"transcript": "  "}]])  # blank ASR text
    rows[2]["intent_y"] = ""  # no label
    dataset = write_csv(rows, work / "train.csv")
    # A module fixture runs before the per-test settings isolation: it configures its own (as an entry point).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKIT_HOME", str(work / "skit-home"))
        forget_settings()
        runtime.configure(lambda: get_settings().runtime())
        result = train_job(
            train_request_from(
                dict(
                    dataset_path=dataset,
                    model_path=str(work / "out" / "model.tar.gz"),
                    version="v1",
                    org_id="acme",
                    use_state=True,
                    model_name=xlmr_dir,
                    num_train_epochs=3,
                    seed=7,
                    validation_split=0.25,
                    use_early_stopping=True,
                    early_stopping_patience=1,
                    learning_rate=1e-3,
                )
            )
        )
    forget_settings()
    extracted = open_model(result.model_uri, work / "opened")
    return {"result": result, "dataset": dataset, "rows": len(rows), "archive": extracted, "work": work}


# ------------------------------------------------------------------------------------------ the archive


def test_archive_holds_labels_as_json_and_full_metadata(trained: dict) -> None:
    result, archive = trained["result"], trained["archive"]
    assert result.model_uri == str(trained["work"] / "out" / "model.tar.gz")
    with tarfile.open(result.model_uri) as tar:
        names = tar.getnames()
    assert "model/labels.json" in names and "model/metadata.json" in names and "model/config.json" in names
    assert not [n for n in names if n.endswith((".pkl", ".pickle"))]
    assert json.loads((archive.path / "labels.json").read_text()) == {"labels": EXPECTED_LABELS}
    assert archive.labels == EXPECTED_LABELS

    meta = archive.metadata
    digest = hashlib.sha256(Path(trained["dataset"]).read_bytes()).hexdigest()
    assert meta["dataset"] == {"uri": trained["dataset"], "sha256": digest, "rows": trained["rows"]}
    assert meta["skipped_rows"] == {"empty_text": 2, "missing_label": 1}
    usable = trained["rows"] - 3
    assert meta["validation_rows"] == 30 and meta["train_rows"] == usable - 30  # ceil(0.25 * 117) = 30
    assert result.train_rows == usable - 30 and result.labels == 4
    assert meta["use_state"] is True and meta["separators"] == {"start": "<s>", "end": "</s>"}
    assert meta["parameters"]["learning_rate"] == 1e-3 and meta["parameters"]["seed"] == 7
    assert meta["version"] == "v1" and meta["org_id"] == "acme" and meta["device"] == "cpu"
    assert {"python", "torch", "transformers", "skit-pipelines"} <= set(meta["libraries"])
    assert sum(meta["label_counts"].values()) == meta["train_rows"]
    # validation without out-of-scope rows: nothing to trade off, so no threshold (and the reason)
    assert meta["fallback_intent"] == "_oos_" and meta["out_of_scope"]["confidence_threshold"] is None
    assert "no out-of-scope rows in the validation data" in meta["out_of_scope"]["reason"]
    assert archive.confidence_threshold is None and archive.fallback_intent == "_oos_"
    assert "No confidence threshold recommended: no out-of-scope rows" in result.message

    history = meta["history"]
    assert 1 <= len(history) <= 3 and meta["epochs_run"] == len(history)
    assert all(
        h["train_loss"] > 0 and h["validation_loss"] is not None and 0 <= h["validation_accuracy"] <= 1
        for h in history
    )
    losses = [h["validation_loss"] for h in history]
    assert meta["best_epoch"] == losses.index(min(losses)) + 1
    # patience 1: it stops at the first epoch that does not improve on the best so far
    first_bad = next((i + 1 for i in range(1, len(losses)) if losses[i] >= min(losses[:i])), None)
    assert len(history) == (first_bad or 3)
    assert meta["stopped_early"] == (first_bad is not None and first_bad < 3)


def _tar(source: Path, target: Path, arcname: str, mode: str = "w:gz") -> str:
    with tarfile.open(target, mode) as tar:
        tar.add(source, arcname=arcname)
    return str(target)


def test_open_model_does_not_care_how_the_folder_was_tarred(trained: dict, tmp_path: Path) -> None:
    folder = trained["archive"].path
    variants = {
        "root": _tar(folder, tmp_path / "root.tar.gz", "."),
        "deep": _tar(folder, tmp_path / "deep.tar.gz", "tmp/abc/outputs/data"),  # the reference's layout
        "plain-tar": _tar(folder, tmp_path / "plain.tar", "model", "w"),
        "folder": str(folder),
    }
    for name, uri in variants.items():
        opened = open_model(uri, tmp_path / f"open-{name}")
        assert opened.labels == EXPECTED_LABELS, name
        assert (opened.path / "config.json").is_file(), name


def test_archive_problems_are_named(trained: dict, tmp_path: Path) -> None:
    no_labels = tmp_path / "no-labels"
    shutil.copytree(trained["archive"].path, no_labels)
    (no_labels / "labels.json").unlink()
    with pytest.raises(ArchiveError, match="has no labels.json"):
        open_model(_tar(no_labels, tmp_path / "a.tar.gz", "model"), tmp_path / "a")
    (no_labels / "labelencoder.pkl").write_bytes(b"\x80\x04K\x01.")  # a reference archive
    with pytest.raises(ArchiveError, match="labelencoder.pkl: a reference simpletransformers archive"):
        open_model(str(no_labels), tmp_path / "b")

    bad_labels = tmp_path / "bad-labels"
    shutil.copytree(trained["archive"].path, bad_labels)
    (bad_labels / "labels.json").write_text('{"labels": ["only-one"]}')
    with pytest.raises(ArchiveError, match="two or more"):
        open_model(str(bad_labels), tmp_path / "c")

    two = tmp_path / "two"
    shutil.copytree(trained["archive"].path, two / "m1")
    shutil.copytree(trained["archive"].path, two / "m2")
    with pytest.raises(ArchiveError, match="holds 2 folders with labels.json"):
        open_model(str(two), tmp_path / "d")

    not_tar = tmp_path / "model.tar.gz"
    not_tar.write_text("not an archive")
    with pytest.raises(ArchiveError, match="neither a tar"):
        open_model(str(not_tar), tmp_path / "e")


def test_archive_round_trip_through_s3(trained: dict, s3_bucket: str, tmp_path: Path) -> None:
    uri = upload_model(trained["archive"].path, reference="acme-v1", output_path="models/acme/v1.tar.gz")
    assert uri == f"s3://{s3_bucket}/prefix/models/acme/v1.tar.gz"
    assert open_model(uri, tmp_path / "from-s3").labels == EXPECTED_LABELS


# ------------------------------------------------------------------------------------------ prediction


def test_predict_every_row_with_unseen_truth_labels(trained: dict, tmp_path: Path) -> None:
    rows = tagged_rows(sentences("test"))
    rows[0]["intent_y"] = "brand_new_intent"
    rows[1]["intent_y"] = "brand_new_intent"
    rows[2]["alternatives"] = "[]"
    frame = pd.DataFrame(rows)
    predictions = predict_intents(frame, trained["archive"], top_k=3)
    out = predictions.frame
    assert len(out) == len(rows) and list(out["data_id"]) == list(frame["data_id"])  # every row, in order
    assert set(out["intent_x"]) <= set(EXPECTED_LABELS)
    assert predictions.unseen_truth_labels == {"brand_new_intent": 2}
    assert predictions.empty_text_rows == 1 and predictions.use_state is True  # from the archive
    for _, row in out.iterrows():
        top = json.loads(row["intent_x_top_k"])
        assert len(top) == 3 and top[0]["intent"] == row["intent_x"]
        assert top[0]["score"] == pytest.approx(row["intent_x_confidence"])
        assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
        assert sum(t["score"] for t in top) <= 1.0 + 1e-6
    wide = predict_intents(frame.head(2), trained["archive"], top_k=10)  # more than there are labels
    assert len(json.loads(wide.frame["intent_x_top_k"].iloc[0])) == 4


def test_predict_job_stores_predictions_and_reports_use_state_mismatch(trained: dict, tmp_path: Path) -> None:
    data = write_csv(tagged_rows(sentences("test")[:8]), tmp_path / "test.csv")
    result = predict_job(
        data_path=data, model_path=trained["result"].model_uri, org_id="acme", use_state="false"
    )
    stored = pd.read_csv(result.predictions_uri)
    columns = {"intent_x", "intent_x_model", "intent_x_confidence", "intent_x_top_k"}
    assert len(stored) == 8 and columns <= set(stored.columns)
    assert "use_state=False ignored: the model was trained with use_state=True" in result.message
    assert result.rows == 8 and result.unseen_truth_rows == 0
    assert "No confidence threshold (none given, none stored in the model)" in result.message
    spec = OutOfScopeSpec.from_json(result.out_of_scope)
    assert spec == OutOfScopeSpec(
        "_oos_", None, "none", tuple(EXPECTED_LABELS), "intent_x_model", "intent_x_confidence"
    )
    # the default (empty) follows the archive: nothing to report
    default = predict_job(data_path=data, model_path=trained["result"].model_uri, use_state="")
    assert "use_state" not in default.message
    with pytest.raises(InvalidParameterError, match="use_state: expected true, false or empty"):
        predict_job(data_path=data, model_path=trained["result"].model_uri, use_state="maybe")
    with pytest.raises(InvalidParameterError, match="confidence_threshold: must be in \\[0, 1\\]"):
        predict_job(data_path=data, model_path=trained["result"].model_uri, confidence_threshold="1.5")


def test_a_confidence_threshold_turns_low_confidence_predictions_into_the_fallback(
    trained: dict, tmp_path: Path
) -> None:
    frame = pd.DataFrame(tagged_rows(sentences("test")))
    plain = predict_intents(frame, trained["archive"]).frame
    confidence = plain["intent_x_confidence"]
    threshold = float(confidence.median())  # about half the rows are below it
    low = confidence < threshold
    assert 0 < low.sum() < len(frame)

    given = predict_intents(frame, trained["archive"], confidence_threshold=threshold)
    out = given.frame
    assert (out.loc[low, "intent_x"] == "_oos_").all()  # below the threshold: the fallback
    assert (out.loc[~low, "intent_x"] == plain.loc[~low, "intent_x"]).all()  # at or above: the model's
    assert (out["intent_x_model"] == plain["intent_x"]).all()  # the model's own best intent is kept
    assert (out["intent_x_confidence"] == confidence).all()
    assert (given.fallback_rows, given.threshold_source) == (int(low.sum()), "argument")

    # an archive whose training stored a threshold (and another fallback name) applies it by default
    stored = tmp_path / "stored"
    shutil.copytree(trained["archive"].path, stored)
    meta = json.loads((stored / "metadata.json").read_text())
    meta["out_of_scope"] = {"fallback_intent": "sorry", "confidence_threshold": threshold}
    (stored / "metadata.json").write_text(json.dumps(meta))
    archive = open_model(str(stored), tmp_path / "opened")
    by_default = predict_intents(frame, archive)
    assert (by_default.frame["intent_x"] == out["intent_x"].replace("_oos_", "sorry")).all()
    assert (by_default.threshold_source, by_default.confidence_threshold) == ("archive", threshold)
    switched_off = predict_intents(frame, archive, confidence_threshold=0.0)
    assert (switched_off.frame["intent_x"] == plain["intent_x"]).all() and switched_off.fallback_rows == 0
    renamed = predict_intents(frame, archive, fallback_intent="_oos_")
    assert set(renamed.frame.loc[low, "intent_x"]) == {"_oos_"}


def test_training_with_out_of_scope_validation_rows_stores_a_threshold(tmp_path: Path) -> None:
    train = write_csv(tagged_rows(sentences("train")[::10]), tmp_path / "train.csv")  # 12 rows, 4 intents
    validation_rows = tagged_rows(sentences("test")[::6])  # 8 in-scope rows
    validation_rows += tagged_rows([("what is the weather like", "_oos_"), ("play some music", "_oos_")])
    validation_rows += tagged_rows([("book me a flight", "book_flight")])  # an intent never trained
    validation = write_csv(validation_rows, tmp_path / "validation.csv")
    result = train_job(
        train_request_from(
            dict(
                dataset_path=train,
                validation_dataset_path=validation,
                model_name=minilm_path(),
                num_train_epochs=1,
                max_seq_length=24,
                batch_size=8,
                model_path=str(tmp_path / "model.tar.gz"),
            )
        )
    )
    archive = open_model(result.model_uri, tmp_path / "opened")
    stored = archive.metadata["out_of_scope"]
    assert (stored["in_scope_rows"], stored["oos_rows"]) == (8, 3)
    assert stored["fallback_intent"] == "_oos_" and "in-scope accuracy + OOS recall" in stored["criterion"]
    threshold = stored["confidence_threshold"]
    assert isinstance(threshold, float) and 0 <= threshold <= 1
    assert archive.confidence_threshold == threshold == result.confidence_threshold
    assert f"Recommended confidence threshold {threshold:g}" in result.message
    # the stored threshold is what an evaluation on the validation rows would have chosen
    predicted = predict_intents(pd.DataFrame(validation_rows), archive, confidence_threshold=0.0).frame
    again = choose_threshold(
        predicted["intent_y"],
        predicted["intent_x_model"],
        predicted["intent_x_confidence"],
        fallback_intent="_oos_",
        known_labels=archive.labels,
    )
    assert again.confidence_threshold == pytest.approx(threshold, abs=0.011)
    applied = predict_intents(pd.DataFrame(validation_rows), archive)
    assert applied.threshold_source == "archive" and applied.confidence_threshold == threshold


# ------------------------------------------------------------------------------------------ bad input


def test_dataset_without_label_column(tmp_path: Path, xlmr_dir: str) -> None:
    frame = pd.DataFrame(tagged_rows(sentences("train")[:6])).drop(columns=["intent_y", "tag"])
    with pytest.raises(TrainingDataError, match="no label column 'intent_y'"):
        train_intent_classifier(frame, TrainConfig(model_name=xlmr_dir))


def test_validation_dataset_rows_that_cannot_be_scored_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    train = pd.DataFrame(tagged_rows(sentences("train")[::10]))  # 12 rows, 4 intents
    validation_rows = tagged_rows(sentences("test")[::8])  # 6 rows
    validation_rows[0]["intent_y"] = "never_trained"
    validation_rows[1]["alternatives"] = "[]"
    config = TrainConfig(model_name=minilm_path(), num_train_epochs=1, max_seq_length=24, batch_size=8)
    with caplog.at_level(logging.INFO, logger="skit_pipelines.models.train"):
        result = train_intent_classifier(train, config, validation_frame=pd.DataFrame(validation_rows))
    # The progress lines a pipeline user reads in the step log.
    lines = [r.getMessage() for r in caplog.records if r.name == "skit_pipelines.models.train"]
    assert "validation: 1 rows have labels never seen in training; left out" in lines
    started = f"training {minilm_path()} on {result.device}: 12 rows, 4 labels, 4 validation rows"
    assert f"{started}, 1 epochs x 2 batches of 8" in lines
    (epoch_line,) = [line for line in lines if line.startswith("epoch 1/1: ")]
    assert re.fullmatch(
        r"epoch 1/1: train loss \d+\.\d{4}, validation loss \d+\.\d{4}, accuracy \d\.\d{3}, "
        r"macro F1 \d\.\d{3} \(\d+\.\d s; ETA 0m00s\)",
        epoch_line,
    ), epoch_line
    assert lines[-1].startswith("kept the model of epoch 1 (lowest validation loss ")
    assert result.skipped == {
        "empty_text": 0,
        "missing_label": 0,
        "validation_empty_text": 1,
        "validation_unseen_label": 1,
    }
    assert result.validation_rows == 4 and result.train_rows == 12 and result.best_epoch == 1
    (epoch,) = result.history
    assert epoch.validation_loss is not None and epoch.validation_accuracy in {0, 0.25, 0.5, 0.75, 1.0}
    # every validation row with text is scored for the threshold, the unseen label included
    scored = result.validation_outputs
    assert scored is not None and scored.truth.count("never_trained") == 1 and len(scored.truth) == 5
    assert set(scored.predicted) <= set(result.labels) and all(0 < c <= 1 for c in scored.confidence)


def test_label_set_is_sorted_with_counts_and_needs_two_classes() -> None:
    examples = Examples(texts=["a", "b", "c"], labels=["pay", "greet", "pay"], rows=3)
    assert label_set(examples, "intent_y") == (["greet", "pay"], {"greet": 1, "pay": 2})
    with pytest.raises(TrainingDataError, match="single class \\('pay'\\) in 2 training rows"):
        label_set(Examples(texts=["a", "b"], labels=["pay", "pay"], rows=2), "intent_y")


def test_best_epoch_keeps_the_weights_of_the_lowest_loss_beyond_delta() -> None:
    torch = import_or_skip("torch", "the ml extra (torch) is not installed")
    model = torch.nn.Linear(2, 1)
    best = BestEpoch(delta=0.1)
    best.update(1.0, 1, model)
    first = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    best.update(0.95, 2, model)  # better, but not by more than delta: not an improvement
    assert (best.epoch, best.loss, best.bad_epochs) == (1, 1.0, 1)
    assert all(torch.equal(best.state[k], first[k]) for k in first)  # a copy, not the live weights
    best.update(0.5, 3, model)
    assert (best.epoch, best.loss, best.bad_epochs) == (3, 0.5, 0)
    assert torch.equal(best.state["weight"], model.weight.detach())


# These two need only a tokenizer: MiniLM's loads in a fraction of the XLM-R one's time.
def test_single_class() -> None:
    frame = pd.DataFrame(tagged_rows([("pay it", "pay_bill"), ("pay now", "pay_bill")]))
    with pytest.raises(TrainingDataError, match="single class \\('pay_bill'\\)"):
        train_intent_classifier(frame, TrainConfig(model_name=minilm_path(), num_train_epochs=1))


def test_empty_texts() -> None:
    frame = pd.DataFrame(tagged_rows(sentences("train")[:4])).assign(alternatives="[]")
    with pytest.raises(TrainingDataError, match="every one of the 4 rows has an empty 'alternatives'"):
        train_intent_classifier(frame, TrainConfig(model_name=minilm_path(), num_train_epochs=1))


def test_model_name_that_cannot_be_loaded_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    frame = pd.DataFrame(tagged_rows(sentences("train")[:6]))
    with pytest.raises(ModelLoadError, match="cannot be loaded offline") as info:
        train_intent_classifier(frame, TrainConfig(model_name="skit-tests/no-such-checkpoint"))
    assert "Point model_name at a local checkpoint directory" in str(info.value)
    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "not-a-model" / "notes.txt").write_text("hi")
    with pytest.raises(ModelLoadError, match="is a directory but not a loadable transformers checkpoint"):
        train_intent_classifier(frame, TrainConfig(model_name=str(tmp_path / "not-a-model")))


def test_parameters_are_checked_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="use_early_stopping needs validation data"):
        train_job(
            train_request_from(dict(dataset_path=str(tmp_path / "missing.csv"), use_early_stopping=True))
        )
    with pytest.raises(ValueError, match="either validation_split or validation_dataset_path"):
        train_job(
            train_request_from(
                dict(dataset_path="x.csv", validation_split=0.1, validation_dataset_path="v.csv")
            )
        )
    with pytest.raises(ValueError, match="learning_rate must be greater than 0"):
        train_job(train_request_from(dict(dataset_path="x.csv", learning_rate=0)))
    with pytest.raises(ValueError, match="model_path is empty"):
        predict_job(data_path="x.csv", model_path="")


def test_the_message_names_the_architecture_actually_loaded(trained: dict, tmp_path: Path) -> None:
    """model_type (default "xlmroberta") is a reference leftover: the message says what was trained."""
    assert "Trained model (XLMRobertaForSequenceClassification, model type xlm-roberta) on 87 rows" in (
        trained["result"].message
    )
    assert trained["archive"].metadata["model_type"] == "xlm-roberta"
    dataset = write_csv(tagged_rows(sentences("train")[::8]), tmp_path / "small.csv")
    result = train_job(
        train_request_from(
            dict(
                dataset_path=dataset,
                model_name=minilm_path(),
                num_train_epochs=1,
                max_seq_length=16,
                org_id="acme",
            )
        )
    )
    assert "(BertForSequenceClassification, model type bert) on 15 rows" in result.message
    assert "xlmroberta" not in result.message


# Runs in a subprocess whose own startup hides torch (a None entry in sys.modules makes `import torch`
# fail exactly as on a machine without the ml extra); nothing of ours is patched.
_WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None
from skit_pipelines.jobs.predict import predict_job
from skit_pipelines.jobs.train_model import train_job, train_request_from
from skit_pipelines.metrics.intent.oos import OutOfScopeSpec, choose_threshold
for call in (lambda: train_job(train_request_from(dict(dataset_path=sys.argv[1], model_name="m"))),
             lambda: predict_job(data_path=sys.argv[1], model_path="m.tar.gz")):
    try:
        call()
    except ImportError as exc:
        print(type(exc).__name__, exc)
"""


def test_without_the_ml_extra_the_error_says_how_to_install_it(tmp_path: Path) -> None:
    dataset = write_csv(tagged_rows(sentences("train")[:4]), tmp_path / "train.csv")
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TORCH, dataset],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    for line, task in zip(lines, ("training", "prediction"), strict=True):
        assert line.startswith(f"MissingMLExtraError {task} needs the ml extra (torch is not installed"), line
        assert line.endswith("pip install 'skit-pipelines[ml]' (or make install-dev)"), line


def test_storage_options_make_keys_into_bucket_uris() -> None:
    options = '{"type": "s3", "bucket": "vernacular-ml"}'
    assert apply_storage_options("data/x.csv", options, "dataset_path") == "s3://vernacular-ml/data/x.csv"
    assert apply_storage_options("s3://other/x.csv", options, "dataset_path") == "s3://other/x.csv"
    assert apply_storage_options("data/x.csv", "", "dataset_path") == "data/x.csv"
    with pytest.raises(ValueError, match="storage_options must be JSON"):
        apply_storage_options("x", "{bucket", "dataset_path")
    with pytest.raises(ValueError, match="expected type 's3' and a bucket"):
        apply_storage_options("x", '{"type": "gcs"}', "dataset_path")


# ------------------------------------------------------------------------------------------ real learning


@pytest.mark.slow
def test_minilm_learns_intents_it_has_not_seen_worded_this_way() -> None:
    """Train on one set of templates, test on other wordings: well above the 25 % of chance."""
    train = pd.DataFrame(tagged_rows(sentences("train")))
    test = pd.DataFrame(tagged_rows(sentences("test")))
    config = TrainConfig(
        model_name=minilm_path(),
        num_train_epochs=5,
        learning_rate=3e-4,
        batch_size=16,
        max_seq_length=48,
        seed=3,
        freeze_embeddings=True,
    )
    trained_model = train_intent_classifier(train, config)
    losses = [h.train_loss for h in trained_model.history]
    assert losses[-1] < losses[0] / 2, losses

    with tempfile.TemporaryDirectory() as scratch:
        archive = open_model(str(save_model(trained_model, Path(scratch) / "m")), Path(scratch) / "o")
        predicted = predict_intents(test, archive).frame["intent_x"]
    accuracy = float((predicted == test["intent_y"]).mean())
    print(f"MiniLM held-out accuracy {accuracy:.3f}, train losses {losses}")
    assert accuracy >= 0.75, accuracy
