"""Intent metrics from one confusion matrix: hand-computed cases, agreement with sklearn, invariants."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import classification_report as sk_report
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from skit_pipelines.metrics.intent.scores import (
    LayersSpec,
    apply_alias,
    category_name,
    classification_report,
    cohen_kappa,
    confusion_counts,
    group_reports,
    intent_report_json,
    layer_breakdowns,
    layers_report,
    report_frame,
    top_confusions,
)

TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]


def sk_kappa(y_true, y_pred) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(y_true, y_pred)


# ------------------------------------------------------------------------------------ hand-computed


def test_hand_computed_report() -> None:
    confusion = confusion_counts(TRUE, PRED)
    assert confusion.labels == ("a", "b", "c")
    assert confusion.matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    report = classification_report(confusion)
    assert report["a"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1-score": pytest.approx(0.8),
        "support": 3.0,
    }
    assert report["b"] == {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2.0}
    assert report["c"] == {"precision": 0.5, "recall": 1.0, "f1-score": pytest.approx(2 / 3), "support": 1.0}
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro avg"]["precision"] == pytest.approx(2 / 3)
    assert report["macro avg"]["recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert report["macro avg"]["f1-score"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report["weighted avg"]["precision"] == pytest.approx(4.5 / 6)
    assert report["weighted avg"]["recall"] == pytest.approx(4 / 6)
    assert report["weighted avg"]["f1-score"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)
    assert report["weighted avg"]["support"] == 6.0
    # po = 4/6, pe = (3*2 + 2*2 + 1*2) / 36 = 1/3 → kappa = (2/3 - 1/3) / (2/3)
    assert cohen_kappa(confusion) == pytest.approx(0.5)


def test_report_frame_reads_as_sklearn_prints_it() -> None:
    frame = report_frame(classification_report(confusion_counts(TRUE, PRED)))
    assert list(frame.index) == ["a", "b", "c", "accuracy", "macro avg", "weighted avg"]
    assert list(frame.columns) == ["precision", "recall", "f1-score", "support"]
    accuracy = frame.loc["accuracy"]
    assert pd.isna(accuracy["precision"]) and pd.isna(accuracy["recall"])
    assert accuracy["f1-score"] == pytest.approx(4 / 6) and accuracy["support"] == 6
    assert frame.loc["a", "support"] == 3  # first class row keeps its values


def test_confusion_frame_is_crosstab() -> None:
    confusion = confusion_counts(TRUE, PRED)
    crosstab = pd.crosstab(pd.Series(TRUE, name="t"), pd.Series(PRED, name="p"))
    assert (confusion.to_frame().to_numpy() == crosstab.to_numpy()).all()
    assert confusion.n == 6 and confusion.correct == 4


def test_top_confusions_and_rasa_report() -> None:
    confusion = confusion_counts(["a"] * 5 + ["b"] * 3, ["b", "b", "c", "d", "a", "a", "a", "b"])
    top = top_confusions(confusion, limit=None)
    assert list(zip(top["true"], top["predicted"], top["count"], strict=True)) == [
        ("a", "b", 2),
        ("b", "a", 2),
        ("a", "c", 1),
        ("a", "d", 1),
    ]
    assert top["share_of_true"].tolist() == pytest.approx([2 / 5, 2 / 3, 1 / 5, 1 / 5])
    rasa = intent_report_json(confusion)
    assert rasa["a"]["confused_with"] == {"b": 2, "c": 1, "d": 1}
    assert rasa["b"]["confused_with"] == {"a": 2}
    assert rasa["c"]["confused_with"] == {} and rasa["c"]["support"] == 0
    assert set(rasa["a"]) == {"precision", "recall", "f1-score", "support", "confused_with"}
    assert rasa["accuracy"] == pytest.approx(2 / 8)
    assert "confused_with" not in rasa["weighted avg"]


def test_confused_with_keeps_only_the_top_three() -> None:
    confusion = confusion_counts(["a"] * 10, list("bbbbccc" + "dd" + "e"))
    assert intent_report_json(confusion)["a"]["confused_with"] == {"b": 4, "c": 3, "d": 2}


def test_kappa_undefined_for_one_label_like_sklearn() -> None:
    assert math.isnan(cohen_kappa(confusion_counts(["x", "x"], ["x", "x"])))
    assert math.isnan(sk_kappa(["x", "x"], ["x", "x"]))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="empty"):
        confusion_counts([], [])
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        confusion_counts(["a", "b", "c"], ["a", "b"])
    with pytest.raises(ValueError, match="1 in y_true and 0 in y_pred"):
        confusion_counts(["a", None], ["a", "b"])


# ---------------------------------------------------------------------------------------- sklearn


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = np.array([f"intent_{i}" for i in range(12)], dtype=object)
    n = int(rng.integers(50, 3000))
    y_true = labels[rng.integers(0, 10, n)]
    y_pred = np.where(rng.random(n) < 0.6, y_true, labels[rng.integers(0, 12, n)])
    confusion = confusion_counts(y_true, y_pred)
    assert classification_report(confusion) == sk_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert (confusion.matrix == confusion_matrix(y_true, y_pred, labels=list(confusion.labels))).all()
    assert cohen_kappa(confusion) == pytest.approx(sk_kappa(y_true, y_pred), abs=1e-12)
    subset = list(rng.choice(labels, 4, replace=False)) + ["never_seen"]
    assert classification_report(confusion, labels=subset) == sk_report(
        y_true, y_pred, labels=subset, output_dict=True, zero_division=0
    )


label_lists = st.lists(
    st.sampled_from(["_confirm_", "_cancel_", "ask_time", "_", "oos"]), min_size=1, max_size=60
)


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_agrees_with_sklearn_property(data: st.DataObject) -> None:
    y_true = data.draw(label_lists)
    y_pred = data.draw(
        st.lists(
            st.sampled_from(["_confirm_", "_cancel_", "ask_time", "_", "x"]),
            min_size=len(y_true),
            max_size=len(y_true),
        )
    )
    confusion = confusion_counts(y_true, y_pred)
    assert classification_report(confusion) == sk_report(y_true, y_pred, output_dict=True, zero_division=0)
    ours, theirs = cohen_kappa(confusion), sk_kappa(y_true, y_pred)
    assert (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(label_lists)
def test_perfect_predictions_score_one_everywhere(labels: list[str]) -> None:
    confusion = confusion_counts(labels, labels)
    report = classification_report(confusion)
    for label in set(labels):
        assert report[label]["precision"] == report[label]["recall"] == report[label]["f1-score"] == 1.0
    assert report["accuracy"] == 1.0
    for average in ("macro avg", "weighted avg"):
        assert report[average]["precision"] == report[average]["recall"] == report[average]["f1-score"] == 1.0
    if len(set(labels)) > 1:
        assert cohen_kappa(confusion) == 1.0
    assert top_confusions(confusion).empty


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_row_order_changes_nothing(data: st.DataObject) -> None:
    y_true = data.draw(label_lists)
    y_pred = data.draw(
        st.lists(
            st.sampled_from(["_confirm_", "ask_time", "oos"]), min_size=len(y_true), max_size=len(y_true)
        )
    )
    order = data.draw(st.permutations(range(len(y_true))))
    a = confusion_counts(y_true, y_pred)
    b = confusion_counts([y_true[i] for i in order], [y_pred[i] for i in order])
    assert a.labels == b.labels and (a.matrix == b.matrix).all()
    assert classification_report(a) == classification_report(b)
    assert intent_report_json(a) == intent_report_json(b)
    assert cohen_kappa(a) == cohen_kappa(b) or (math.isnan(cohen_kappa(a)) and math.isnan(cohen_kappa(b)))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_counts_add_up_to_the_rows(data: st.DataObject) -> None:
    y_true = data.draw(label_lists)
    y_pred = data.draw(
        st.lists(
            st.sampled_from(["_confirm_", "ask_time", "new"]), min_size=len(y_true), max_size=len(y_true)
        )
    )
    confusion = confusion_counts(y_true, y_pred)
    report = classification_report(confusion)
    n = len(y_true)
    assert confusion.n == n
    assert sum(report[label]["support"] for label in confusion.labels) == n
    assert report["weighted avg"]["support"] == report["macro avg"]["support"] == n
    assert int(top_confusions(confusion, limit=None)["count"].sum()) + confusion.correct == n
    assert sum(confusion.pred_counts) == n


# ---------------------------------------------------------------------------------- alias, groups


def test_alias_renames_on_both_sides() -> None:
    alias = {"_confirm_": ["_confirm_", "_confirm_wifi_", "yes_please"], "_cancel_": ["_cancel_browse_"]}
    labels = pd.Series(["_confirm_wifi_", "yes_please", "_cancel_browse_", "other", None])
    renamed = apply_alias(labels, alias)
    assert renamed.tolist() == ["_confirm_", "_confirm_", "_cancel_", "other", None]
    confusion = confusion_counts(
        apply_alias(["_confirm_wifi_", "_cancel_"], alias),
        apply_alias(["_confirm_", "_cancel_browse_"], alias),
    )
    assert confusion.accuracy == 1.0 and confusion.labels == ("_cancel_", "_confirm_")


def test_group_reports_match_sklearn_restricted_to_the_group() -> None:
    confusion = confusion_counts(TRUE, PRED)
    reports = group_reports(confusion, {"smalltalk_intents": ["a", "b"], "rare": ["c", "zzz"]})
    expected = sk_report(TRUE, PRED, labels=["a", "b"], output_dict=True, zero_division=0)
    assert reports["smalltalk_intents"] == expected
    micro = reports["smalltalk_intents"]["micro avg"]  # tp 3, predicted 4, true 5
    assert (micro["precision"], micro["recall"], micro["support"]) == (0.75, 0.6, 5.0)
    assert reports["rare"]["zzz"]["support"] == 0.0
    assert category_name("smalltalk_intents") == "smalltalk"
    assert category_name("Critical-Intent") == "Critical"
    assert category_name("intents") == "intents"  # never an empty name


def test_a_label_listed_twice_in_a_group_counts_once() -> None:
    confusion = confusion_counts(TRUE, PRED)
    reports = group_reports(confusion, {"g": ["a", "a", "b"]})
    expected = sk_report(TRUE, PRED, labels=["a", "b"], output_dict=True, zero_division=0)
    assert reports["g"] == expected
    turns_in_group = sum(label in {"a", "b"} for label in TRUE)
    assert reports["g"]["weighted avg"]["support"] == turns_in_group == 5
    assert reports["g"]["macro avg"]["support"] <= len(TRUE)


def test_a_group_covering_every_label_reports_micro_avg() -> None:
    confusion = confusion_counts(TRUE, PRED)
    report = group_reports(confusion, {"everything": ["c", "b", "a"]})["everything"]
    assert "accuracy" not in report
    precision, recall, f1, _ = precision_recall_fscore_support(
        TRUE, PRED, labels=["c", "b", "a"], average="micro", zero_division=0
    )
    assert report["micro avg"] == {
        "precision": pytest.approx(precision),
        "recall": pytest.approx(recall),
        "f1-score": pytest.approx(f1),
        "support": float(len(TRUE)),
    }
    expected = sk_report(TRUE, PRED, labels=["c", "b", "a"], output_dict=True, zero_division=0)
    for key in ("c", "b", "a", "macro avg", "weighted avg"):
        assert report[key] == expected[key]


def test_layers_hand_computed() -> None:
    layers = LayersSpec(
        true_layers={"acoustic_oos": ["noise", "_"], "lexical_oos": ["ood"]},
        pred_layers={"oos": ["oos", "_"]},
    )
    y_true = ["noise", "noise", "ood", "ood", "_", "yes", "yes"]
    y_pred = ["oos", "yes", "oos", "_", "oos", "oos", "yes"]
    frame = layers_report(y_true, y_pred, layers)
    assert list(frame.index) == ["layer-acoustic_oos", "layer-lexical_oos", "layer-oos"]
    assert frame.loc["layer-acoustic_oos"].tolist() == pytest.approx([0.4, 2 / 3, 0.5, 3])
    assert frame.loc["layer-lexical_oos"].tolist() == pytest.approx([0.4, 1.0, 4 / 7, 2])
    assert frame.loc["layer-oos"].tolist() == pytest.approx([0.8, 0.8, 0.8, 5])


def test_layer_breakdowns_are_full_reports_of_each_layer_view() -> None:
    layers = LayersSpec(
        true_layers={"acoustic_oos": ["noise", "_"], "lexical_oos": ["ood"]},
        pred_layers={"oos": ["oos", "_"]},
    )
    rng = np.random.default_rng(3)
    y_true = rng.choice(["noise", "_", "ood", "yes", "no"], 500).tolist()
    y_pred = rng.choice(["oos", "_", "yes", "no", "ood"], 500).tolist()
    breakdowns = layer_breakdowns(y_true, y_pred, layers)
    assert list(breakdowns) == ["layer-acoustic_oos", "layer-lexical_oos", "layer-oos"]
    # Independently: fold with pandas as the docs describe, then sklearn on the folded labels.
    truth = pd.Series(y_true).replace({"noise": "acoustic_oos", "_": "acoustic_oos", "ood": "lexical_oos"})
    pred = pd.Series(y_pred).replace({"_": "oos"})
    views = {
        "layer-acoustic_oos": (truth, pred.replace({"oos": "acoustic_oos"})),
        "layer-lexical_oos": (truth, pred.replace({"oos": "lexical_oos"})),
        "layer-oos": (truth.replace({"acoustic_oos": "oos", "lexical_oos": "oos"}), pred),
    }
    rows = layers_report(y_true, y_pred, layers)
    for name, (view_true, view_pred) in views.items():
        expected = sk_report(view_true, view_pred, output_dict=True, zero_division=0)
        assert breakdowns[name].keys() == expected.keys()
        for key, value in expected.items():
            assert breakdowns[name][key] == pytest.approx(value), (name, key)
        layer = name.removeprefix("layer-")
        assert rows.loc[name].tolist() == pytest.approx(list(breakdowns[name][layer].values()))


def test_benchmark_code_runs_small() -> None:
    from bench.intent_eval import bench_intent_eval

    result = bench_intent_eval(rows=5000, intents=40, repeat=1)
    assert result.seconds > 0 and result.baseline_seconds > 0 and result.extra["intents"] == 40
