"""Out-of-scope metrics (metrics/intent/oos.py): scores against sklearn, the sweep against a brute force,
the recommended threshold on hand-made confidences, the spec's JSON, and the evaluation's report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from skit_pipelines.metrics.intent.evaluation import evaluate_intents, html_report, slack_message
from skit_pipelines.metrics.intent.oos import (
    THRESHOLD_GRID,
    OutOfScopeSpec,
    OutOfScopeSpecError,
    apply_threshold,
    choose_threshold,
    out_of_scope_scores,
    threshold_sweep,
)
from tests.conftest import import_or_skip

OOS = "_oos_"
KNOWN = ["a", "b", "c"]


def _random_case(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(["a", "b", "c", OOS, "never_trained"], size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    model = rng.choice([*KNOWN, OOS], size=n, p=[0.3, 0.3, 0.3, 0.1])
    model = np.where(rng.random(n) < 0.5, truth, model)  # right half of the time (or out of scope)
    model = np.where(model == "never_trained", "a", model)  # the model cannot name what it never saw
    confidence = rng.random(n).round(3)
    confidence[rng.random(n) < 0.03] = np.nan
    return truth.astype(object), model.astype(object), confidence


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_are_sklearns_binary_out_of_scope_scores(seed: int) -> None:
    metrics = import_or_skip("sklearn.metrics", "scikit-learn not installed")
    truth, model, confidence = _random_case(seed)
    final = apply_threshold(model, confidence, 0.4, OOS)
    scores = out_of_scope_scores(truth, final, fallback_intent=OOS, known_labels=KNOWN)
    is_oos = np.isin(truth, [OOS, "never_trained"])
    p, r, f, _ = metrics.precision_recall_fscore_support(
        is_oos, final == OOS, average="binary", zero_division=0
    )
    assert (scores.oos_precision, scores.oos_recall, scores.oos_f1) == pytest.approx((p, r, f))
    in_scope = ~is_oos
    assert scores.in_scope_accuracy == pytest.approx(metrics.accuracy_score(truth[in_scope], final[in_scope]))
    assert (scores.in_scope_rows, scores.oos_rows) == (int(in_scope.sum()), int(is_oos.sum()))
    # a NaN confidence is never below a threshold: the model's label stands
    assert (final[np.isnan(confidence)] == model[np.isnan(confidence)]).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_the_sweep_is_the_scores_at_every_threshold(seed: int) -> None:
    truth, model, confidence = _random_case(seed)
    truth[:5] = "_"  # missing truths count nowhere
    sweep = threshold_sweep(truth, model, confidence, fallback_intent=OOS, known_labels=KNOWN, ignore={"_"})
    assert list(sweep["threshold"]) == list(THRESHOLD_GRID) and len(sweep) == 101
    for threshold in (0.0, 0.07, 0.5, 0.93, 1.0):
        final = apply_threshold(model, confidence, threshold, OOS)
        at = out_of_scope_scores(truth, final, fallback_intent=OOS, known_labels=KNOWN, ignore={"_"})
        row = sweep[np.isclose(sweep["threshold"], threshold)].iloc[0]
        assert row["in_scope_accuracy"] == pytest.approx(at.in_scope_accuracy)
        assert row["oos_recall"] == pytest.approx(at.oos_recall)
        assert row["oos_precision"] == pytest.approx(at.oos_precision)
        assert row["oos_f1"] == pytest.approx(at.oos_f1)
        scored = truth != "_"
        right = (final == truth) & ~np.isin(truth, [OOS, "never_trained"]) | (
            (final == OOS) & np.isin(truth, [OOS, "never_trained"])
        )
        assert row["accuracy"] == pytest.approx(right[scored].mean())
    assert sweep["in_scope_accuracy"].is_monotonic_decreasing and sweep["oos_recall"].is_monotonic_increasing


def test_the_recommended_threshold_is_the_middle_of_the_best_plateau() -> None:
    # in scope: three right answers at 0.9/0.8/0.7 and one wrong at 0.6; out of scope: 0.3/0.4/0.5
    truth = ["a", "b", "c", "a", OOS, "never_trained", OOS]
    model = ["a", "b", "c", "b", "a", "c", "b"]
    confidence = [0.9, 0.8, 0.7, 0.6, 0.3, 0.4, 0.5]
    choice = choose_threshold(truth, model, confidence, fallback_intent=OOS, known_labels=KNOWN)
    # every threshold in (0.5, 0.7] scores 3/4 + 3/3: 0.51 ... 0.70, whose middle grid point is 0.60
    assert choice.confidence_threshold == pytest.approx(0.6)
    assert (choice.in_scope_accuracy, choice.oos_recall) == (0.75, 1.0)
    assert (choice.in_scope_rows, choice.oos_rows) == (4, 3) and not choice.reason
    meta = choice.as_metadata(OOS)
    assert meta["fallback_intent"] == OOS and "in-scope accuracy + OOS recall" in meta["criterion"]
    json.dumps(meta)  # stored in metadata.json as it is


def test_no_threshold_without_out_of_scope_validation_rows() -> None:
    choice = choose_threshold(["a", "b"], ["a", "a"], [0.9, 0.4], fallback_intent=OOS, known_labels=KNOWN)
    assert choice.confidence_threshold is None and "no out-of-scope rows" in choice.reason
    only_oos = choose_threshold([OOS], ["a"], [0.4], fallback_intent=OOS, known_labels=KNOWN)
    assert only_oos.confidence_threshold is None and "no in-scope rows" in only_oos.reason


def test_the_spec_travels_as_json_and_bad_specs_are_named() -> None:
    spec = OutOfScopeSpec(OOS, 0.35, "archive", ("a", "b"), "intent_x_model", "intent_x_confidence")
    assert OutOfScopeSpec.from_json(spec.to_json()) == spec
    assert OutOfScopeSpec.from_json("") is None and OutOfScopeSpec.from_json("  ") is None
    for text, problem in [
        ("{", "is not JSON"),
        ("[1]", "must be a JSON object"),
        ('{"fallback_intent": ""}', "fallback_intent must be a non-empty string"),
        ('{"fallback_intent": "x", "confidence_threshold": 2}', "confidence_threshold must be null or in"),
        ('{"fallback_intent": "x", "known_labels": "a"}', "known_labels must be null or a list"),
        ('{"fallback_intent": "x", "colour": 1}', "unknown key\\(s\\) colour"),
    ]:
        with pytest.raises(OutOfScopeSpecError, match=f"out_of_scope.*{problem}"):
            OutOfScopeSpec.from_json(text)


def _predictions_frame() -> pd.DataFrame:
    rows = [
        ("1", "pay my bill", "pay", "pay", 0.9),
        ("2", "agent please", "agent", "agent", 0.8),
        ("3", "weather today", OOS, "pay", 0.3),  # out of scope, sent to the fallback
        ("4", "sing a song", "sing", "agent", 0.7),  # an intent the model never saw, not caught
        ("5", "pay it", "pay", "agent", 0.2),  # in scope, low confidence: the fallback (wrong)
    ]
    frame = pd.DataFrame(rows, columns=["id", "text", "intent_y", "intent_x_model", "intent_x_confidence"])
    frame["intent_x"] = apply_threshold(frame["intent_x_model"], frame["intent_x_confidence"], 0.5, OOS)
    frame["intent_x_top_k"] = [
        json.dumps([{"intent": m, "score": c}])
        for m, c in zip(frame["intent_x_model"], frame["intent_x_confidence"], strict=True)
    ]
    return frame


def test_an_evaluation_with_out_of_scope_reports_it_everywhere() -> None:
    spec = OutOfScopeSpec(OOS, 0.5, "argument", ("agent", "pay"), "intent_x_model", "intent_x_confidence")
    evaluation = evaluate_intents(_predictions_frame(), pred_label_column="intent_x", out_of_scope=spec)
    oos = evaluation.out_of_scope
    assert oos is not None and oos.sweep is not None
    assert (oos.scores.in_scope_rows, oos.scores.oos_rows, oos.scores.predicted_oos_rows) == (3, 2, 2)
    assert oos.scores.in_scope_accuracy == pytest.approx(2 / 3)
    assert (oos.scores.oos_recall, oos.scores.oos_precision) == (0.5, 0.5)
    assert evaluation.headline()["oos_recall"] == 0.5

    per_turn = evaluation.predictions()
    columns = "id text true predicted model_predicted correct confidence top_k out_of_scope".split()
    assert list(per_turn.columns) == columns
    assert list(per_turn["correct"]) == [True, True, True, False, False]
    assert list(per_turn["out_of_scope"]) == [False, False, True, True, False]
    assert list(per_turn["confidence"]) == [0.9, 0.8, 0.3, 0.7, 0.2]  # intent_x_confidence, the model's
    assert list(evaluation.errors["confidence"]) == [0.7, 0.2]

    page = html_report(evaluation, title="t", images={}, artifacts={}, details={})
    assert "<h2>Out of scope</h2>" in page and "OOS recall" in page and "Threshold sweep" in page
    text = slack_message(evaluation, dataset="d", artifacts={}, metrics_rows=0, mlwr=False)
    assert (
        "Out of scope (fallback '_oos_', confidence threshold 0.5 (given)): in-scope accuracy *0.667*" in text
    )
    assert "recall *0.500*" in text


def test_without_the_models_columns_there_are_scores_but_no_sweep() -> None:
    frame = _predictions_frame().drop(columns=["intent_x_model"])
    spec = OutOfScopeSpec(OOS, None, "none", None, "intent_x_model", "intent_x_confidence")
    evaluation = evaluate_intents(frame, pred_label_column="intent_x", out_of_scope=spec)
    assert evaluation.out_of_scope is not None and evaluation.out_of_scope.sweep is None
    assert "no threshold sweep: the dataset has no intent_x_model column" in evaluation.data.notes
    assert evaluation.out_of_scope.scores.oos_rows == 1  # known_labels None: only the fallback label
