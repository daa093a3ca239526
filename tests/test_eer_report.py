"""The first-entity report (the reference's, exactly), the all-entities report, bad input and invariants.

Expected numbers are worked out by hand in the comments next to the fixture turns.
"""

import json
import random
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import classification_report as sk_report

from skit_pipelines.metrics.entity.evaluation import evaluate_entity_frame
from skit_pipelines.metrics.entity.report import (
    InvalidEntityDatasetError,
    all_entity_report,
    compare_first,
    first_entity_report,
    parse_entity_columns,
    require_columns,
)
from skit_pipelines.metrics.entity.values import ComparedEntity


def ent(kind: str, value: Any, start: int | None = 0, end: int | None = 5) -> dict[str, Any]:
    return {"type": kind, "value": value, "text": "t", "start": start, "end": end}


def frame(turns: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]], **extra: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "data_id": [f"t{i}" for i in range(1, len(turns) + 1)],
            "truth_entities": [json.dumps(t) for t, _ in turns],
            "predicted_entities": [json.dumps(p) for _, p in turns],
            **extra,
        }
    )


D12, D13, D14 = "2026-03-12", "2026-03-13", "2026-03-14"
TURNS = [
    ([ent("date", D12)], [ent("date", D12)]),  # t1: date tp
    ([ent("date", D12)], [ent("date", D13)]),  # t2: date mm
    ([ent("number", 3)], []),  # t3: number fn
    ([], [ent("people", 2)]),  # t4: people fp
    ([ent("datetime", f"{D12}T10:00:00")], [ent("date", D12)]),  # t5: date tp, time fn
    ([], []),  # t6: true negative
    ([ent("people", 2)], [ent("number", 2)]),  # t7: people fn, number fp
    ([ent("time", "10:00:00")], [ent("datetime", f"{D14}T10:00:00")]),  # t8: time tp, date fp
    (
        [ent("product_kind", "credit_card"), ent("number", 5, 9, 10)],
        [ent("product_kind", "debit_card"), ent("number", 5, 9, 10)],
    ),  # t9: product_kind mm (first only)
    ([ent("datetime", f"{D12}T10:00:00")], [ent("datetime", f"{D12}T11:00:00")]),  # t10: date tp, time mm
    ([], [ent("datetime", f"{D12}T10:00:00")]),  # t11: date fp, time fp
    ([ent("number", 1), ent("duration", 60, 9, 12)], [ent("number", 1)]),  # t12: number tp; duration 2nd only
]


@pytest.fixture(scope="module")
def evaluation() -> Any:
    return evaluate_entity_frame(frame(TURNS))


def test_reference_report_by_hand(evaluation: Any) -> None:
    report = evaluation.report
    assert list(report.columns) == ["FPR", "FNR", "Mismatch Rate", "Support", "Negatives"]
    assert report.index.name == "Entity"
    # datetime is split into date and time; duration only ever appears second, and still gets a row.
    assert list(report.index) == ["date", "duration", "number", "people", "product_kind", "time"]
    expected = {  # FPR, FNR, Mismatch Rate, Support, Negatives
        "date": (2 / 8, 0 / 4, 1 / 4, 4, 8),  # tp t1 t5 t10, mm t2, fp t8 t11
        "duration": (0.0, 0.0, 0.0, 0, 12),
        "number": (1 / 10, 1 / 2, 0.0, 2, 10),  # fn t3, tp t12, fp t7
        "people": (1 / 11, 1.0, 0.0, 1, 11),  # fp t4, fn t7
        "product_kind": (0.0, 0.0, 1.0, 1, 11),  # mm t9
        "time": (1 / 9, 1 / 3, 1 / 2, 3, 9),  # tp t8, mm t10, fn t5, fp t11
    }
    for kind, (fpr, fnr, mmr, support, negatives) in expected.items():
        row = report.loc[kind]
        assert row["FPR"] == pytest.approx(fpr) and row["FNR"] == pytest.approx(fnr), kind
        assert row["Mismatch Rate"] == pytest.approx(mmr), kind
        assert (row["Support"], row["Negatives"]) == (support, negatives), kind


def test_counts_add_up_to_the_turns(evaluation: Any) -> None:
    counts = evaluation.first.counts
    assert counts.loc["date"].to_dict() == {
        "tp": 3,
        "fp": 2,
        "fn": 0,
        "mm": 1,
        "support": 4,
        "negatives": 8,
        "true_negatives": 6,
    }
    total = counts[["tp", "fp", "fn", "mm", "true_negatives"]].sum(axis=1)
    assert (total == 12).all()


def test_error_tables_name_each_row_and_type(evaluation: Any) -> None:
    fp = evaluation.errors["fp"]
    assert list(fp.columns[:6]) == [
        "id",
        "entity_type",
        "true_ent_type",
        "pred_ent_type",
        "true_entities",
        "pred_entities",
    ]
    assert list(zip(fp["entity_type"], fp["id"], strict=True)) == [
        ("date", "t8"),
        ("date", "t11"),
        ("number", "t7"),
        ("people", "t4"),
        ("time", "t11"),
    ]
    fn = evaluation.errors["fn"]
    assert list(zip(fn["entity_type"], fn["id"], strict=True)) == [
        ("number", "t3"),
        ("people", "t7"),
        ("time", "t5"),
    ]
    mm = evaluation.errors["mm"]
    assert list(zip(mm["entity_type"], mm["id"], strict=True)) == [
        ("date", "t2"),
        ("product_kind", "t9"),
        ("time", "t10"),
    ]
    assert fp.loc[fp["id"] == "t7", "true_ent_type"].item() == "people"
    assert json.loads(fp.loc[fp["id"] == "t4", "pred_entities"].item())[0]["type"] == "people"


def test_all_entities_report_by_hand(evaluation: Any) -> None:
    table = evaluation.all_entities
    assert table.loc["date", ["tp", "fp", "fn", "mm"]].tolist() == [3, 2, 0, 1]
    assert table.loc["date", "entity_error_rate"] == pytest.approx(3 / 4)
    assert table.loc["date", "precision"] == pytest.approx(3 / 6) and table.loc["date", "recall"] == 0.75
    assert table.loc["time", ["tp", "fp", "fn", "mm"]].tolist() == [1, 1, 1, 1]
    assert table.loc["number", ["tp", "fp", "fn", "mm"]].tolist() == [2, 1, 1, 0]  # t9's second entity counts
    assert table.loc["people", "entity_error_rate"] == pytest.approx(2.0)  # fp + fn over one true entity
    assert table.loc["duration", ["tp", "fp", "fn", "mm"]].tolist() == [0, 0, 1, 0]
    overall = table.loc["overall"]
    assert overall[["tp", "fp", "fn", "mm", "reference", "predicted"]].tolist() == [6, 5, 4, 3, 13, 14]
    assert overall["entity_error_rate"] == pytest.approx(12 / 13)
    assert overall["precision"] == pytest.approx(6 / 14) and overall["recall"] == pytest.approx(6 / 13)
    assert evaluation.headline()["entity_error_rate"] == pytest.approx(12 / 13)


def E(kind: str, value: Any) -> ComparedEntity:
    return ComparedEntity(kind, value, "", None, None)


DT = "2019-04-21T17:00:00+05:30"


# The datetime split, case by case (eevee's compare_datetime_special_entities tests, in our shape).
@pytest.mark.parametrize(
    "truth, pred, outcome",
    [
        ([E("date", "2019-04-21")], [E("datetime", DT)], (("date",), ("time",), (), ())),
        ([E("date", "2019-04-30")], [E("datetime", DT)], ((), ("time",), (), ("date",))),
        ([E("time", "17:00:00")], [E("datetime", DT)], (("time",), ("date",), (), ())),
        ([E("time", "00:00:00")], [E("datetime", DT)], ((), ("date",), (), ("time",))),
        ([E("datetime", DT)], [], ((), (), ("date", "time"), ())),
        ([E("datetime", DT)], [E("time", "17:00:00")], (("time",), (), ("date",), ())),
        ([E("datetime", DT)], [E("date", "2019-04-22")], ((), (), ("time",), ("date",))),
        ([E("datetime", DT)], [E("datetime", DT)], (("date", "time"), (), (), ())),
        ([E("datetime", DT)], [E("datetime", "2019-04-21T12:00:00+05:30")], (("date",), (), (), ("time",))),
        ([E("datetime", DT)], [E("number", 3)], ((), ("number",), ("date", "time"), ())),
        ([E("number", 3)], [E("datetime", DT)], ((), ("date", "time"), ("number",), ())),
        ([], [E("datetime", DT)], ((), ("date", "time"), (), ())),
        ([E("number", 3)], [E("people", 3)], ((), ("people",), ("number",), ())),
        ([E("number", 3), E("people", 1)], [E("number", 3.0)], (("number",), (), (), ())),
        ([], [], None),
    ],
)
def test_compare_first(truth: list[ComparedEntity], pred: list[ComparedEntity], outcome: Any) -> None:
    assert compare_first(truth, pred) == outcome


def test_datetime_only_dataset_still_reports_date_and_time() -> None:
    # The reference listed only types seen in the data minus "datetime": this gave an empty report.
    report = first_entity_report([(E("datetime", DT),)], [(E("datetime", DT),)]).report
    assert list(report.index) == ["date", "time"]
    assert report["Support"].tolist() == [1, 1]


def test_all_entities_pairs_equal_values_before_mismatches() -> None:
    truth = [(E("date", "2026-03-01"), E("date", "2026-03-02"), E("date", "2026-03-03"))]
    pred = [(E("date", "2026-03-09"), E("date", "2026-03-01"))]
    row = all_entity_report(truth, pred).loc["date"]
    assert row[["tp", "fp", "fn", "mm"]].tolist() == [1, 0, 1, 1]


# ------------------------------------------------------------------------------------------ bad input


def test_missing_columns_are_named() -> None:
    with pytest.raises(InvalidEntityDatasetError, match=r"lacks column\(s\) 'predicted_entities' \(expected"):
        require_columns(pd.DataFrame({"data_id": [1], "truth_entities": ["[]"]}))
    with pytest.raises(InvalidEntityDatasetError, match=r"lacks column\(s\) 'data_id', 'truth_entities' \("):
        require_columns(pd.DataFrame({"predicted_entities": ["[]"]}))


def test_reference_column_names_are_accepted() -> None:
    df = pd.DataFrame(
        {
            "id": ["a"],
            "truth_entities_with_duckling": [json.dumps([ent("date", D12)])],
            "predicted_entities_with_modifications": [json.dumps([ent("date", D12)])],
        }
    )
    assert evaluate_entity_frame(df).report.loc["date", "Support"] == 1


def test_a_type_with_spaces_is_another_type_unless_normalised() -> None:
    turns = [([ent("date ", D12)], [ent("date", D12)]), ([ent("date", D13)], [ent("date", D13)])]
    as_given = evaluate_entity_frame(frame(turns))
    assert as_given.first.counts.loc["date ", "fn"] == 1 and as_given.first.counts.loc["date", "fp"] == 1
    normalised = evaluate_entity_frame(frame(turns), normalise_labels=True)
    assert list(normalised.report.index) == ["date"]
    assert normalised.first.counts.loc["date", "tp"] == 2


def first_category(entities: list[dict[str, Any]]) -> str:
    """The test's own reading of the documented rule: first entity with a text value, not date/number."""
    for item in entities:
        kind, value = item["type"].lower(), item.get("value")
        if kind not in {"date", "time", "datetime", "number", "people"} and isinstance(value, str) and value:
            return f"{kind}/{value}"
    return "_"


def test_categorical_report_matches_sklearn_without_the_no_entity_label() -> None:
    rng = random.Random(4)
    values = ["credit_card", "debit_card", "loan"]

    def turn() -> list[dict[str, Any]]:
        choices = [
            [],
            [ent("product_kind", rng.choice(values))],
            [ent("number", 3), ent("product_kind", rng.choice(values))],
            [ent("date", D12)],
            [ent("bank", rng.choice(["hdfc", "sbi"]))],
        ]
        return rng.choice(choices)

    turns = [(turn(), turn()) for _ in range(300)]
    evaluation = evaluate_entity_frame(frame(turns))
    y_true = [first_category(t) for t, _ in turns]
    y_pred = [first_category(p) for _, p in turns]
    labels = sorted(set(y_true + y_pred) - {"_"})
    expected = sk_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    report = evaluation.categorical
    assert [k for k in report if "/" in k] == labels and "_" not in report
    for key in [*labels, "macro avg", "weighted avg", "micro avg"]:
        assert report[key] == pytest.approx(expected[key]), key
    table = evaluation.categorical_table
    assert table.loc["weighted avg", "support"] == sum(label != "_" for label in y_true)


def test_categorical_report_is_empty_without_categorical_entities(evaluation: Any) -> None:
    only_dates = evaluate_entity_frame(frame([([ent("date", D12)], [ent("date", D13)])]))
    assert only_dates.categorical == {} and only_dates.categorical_table.empty
    assert list(evaluation.categorical) == [
        "product_kind/credit_card",
        "product_kind/debit_card",
        "micro avg",
        "macro avg",
        "weighted avg",
    ]


def test_empty_dataset_is_an_error() -> None:
    with pytest.raises(InvalidEntityDatasetError, match="no rows"):
        evaluate_entity_frame(pd.DataFrame({"data_id": [], "truth_entities": [], "predicted_entities": []}))


def test_malformed_rows_are_skipped_and_counted_by_reason() -> None:
    df = frame(TURNS[:3])
    bad = pd.DataFrame(
        {
            "data_id": ["b1", "b2", "b3"],
            "truth_entities": ["{oops", "[]", json.dumps([{"v": 1}])],
            "predicted_entities": ["[]", "17", "[]"],
        }
    )
    evaluation = evaluate_entity_frame(pd.concat([df, bad], ignore_index=True))
    assert evaluation.rows == 6 and evaluation.turns == 3 and evaluation.skipped_rows == 3
    assert evaluation.skipped == {
        "truth_entities: invalid JSON": 1,
        "predicted_entities: not a JSON list of entities": 1,
        "truth_entities: an entity has no 'type'": 1,
    }
    assert evaluation.skipped_examples["truth_entities: invalid JSON"][0].startswith("b1: ")
    notes = evaluation.notes()
    assert any("1 row(s) skipped: truth_entities: invalid JSON (e.g. b1:" in n for n in notes)
    assert evaluation.report.loc["date", "Support"] == 2  # the good rows are still evaluated


def test_all_rows_malformed_is_an_error_with_the_reasons() -> None:
    with pytest.raises(InvalidEntityDatasetError, match=r"no row of the 2 .*invalid JSON"):
        parse_entity_columns(["a", "b"], ["{", "["], ["[]", "[]"])


def test_values_that_cannot_be_compared_by_type_are_counted() -> None:
    df = frame([([ent("date", "someday")], [ent("date", D12)]), ([ent("number", 2.5)], [ent("number", 2.5)])])
    evaluation = evaluate_entity_frame(df)
    assert evaluation.warnings["truth_entities: date entity with unreadable date/time value"] == 1
    assert evaluation.warnings["truth_entities: number entity with non-integer value"] == 1
    assert evaluation.report.loc["date", "Mismatch Rate"] == 1.0
    assert evaluation.report.loc["number", "Mismatch Rate"] == 0.0  # identical raw values are equal


def test_duplicate_ids_are_reported() -> None:
    df = frame(TURNS[:2])
    df["data_id"] = ["same", "same"]
    evaluation = evaluate_entity_frame(df)
    assert evaluation.turns == 2
    assert any("repeat an earlier data_id" in k for k in evaluation.warnings)


# ------------------------------------------------------------------------------------------ invariants

TYPES = ["date", "time", "datetime", "number", "people", "product_kind"]
VALUES = {
    "date": st.sampled_from(["2026-03-01", "2026-03-02", {"from": "2026-03-01", "to": "2026-03-02"}]),
    "time": st.sampled_from(["10:00:00", "11:30:00", "2026-03-01T10:00:00"]),
    "datetime": st.sampled_from(["2026-03-01T10:00:00", "2026-03-02T10:00:00", "2026-03-01T11:30:00+05:30"]),
    "number": st.sampled_from([1, 2, 3]),
    "people": st.sampled_from([1, 2]),
    "product_kind": st.sampled_from(["card", "loan"]),
}


@st.composite
def entities(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(TYPES))
    start = draw(st.integers(0, 20))
    return {
        "type": kind,
        "value": draw(VALUES[kind]),
        "text": "x",
        "start": start,
        "end": start + draw(st.integers(1, 6)),
    }


turn_lists = st.lists(
    st.tuples(st.lists(entities(), max_size=3), st.lists(entities(), max_size=3)), min_size=1, max_size=25
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(turn_lists)
def test_perfect_predictions_score_perfectly(turns: list[Any]) -> None:
    truths = [t for t, _ in turns]
    assume(any(truths))
    evaluation = evaluate_entity_frame(frame([(t, t) for t in truths]))
    report = evaluation.report
    assert (report[["FPR", "FNR", "Mismatch Rate"]] == 0).all().all()
    overall = evaluation.all_entities.loc["overall"]
    assert overall["entity_error_rate"] == 0 and overall["f1"] == 1
    for scheme in ("strict", "exact", "partial", "type"):
        assert evaluation.spans.overall(scheme) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert all(table.empty for table in evaluation.errors.values())


@FAST
@given(turn_lists, st.randoms(use_true_random=False))
def test_row_order_changes_nothing(turns: list[Any], rng: Any) -> None:
    df = frame(turns)
    shuffled = df.sample(frac=1.0, random_state=rng.randint(0, 2**31)).reset_index(drop=True)
    a, b = evaluate_entity_frame(df), evaluate_entity_frame(shuffled)
    pd.testing.assert_frame_equal(a.report, b.report)
    pd.testing.assert_frame_equal(a.all_entities, b.all_entities)
    pd.testing.assert_frame_equal(a.spans.table, b.spans.table)
    for kind in ("fp", "fn", "mm"):
        assert sorted(zip(a.errors[kind]["id"], a.errors[kind]["entity_type"], strict=True)) == sorted(
            zip(b.errors[kind]["id"], b.errors[kind]["entity_type"], strict=True)
        )


@FAST
@given(turn_lists)
def test_first_entity_counts_add_up_to_the_turns(turns: list[Any]) -> None:
    evaluation = evaluate_entity_frame(frame(turns))
    counts = evaluation.first.counts
    assert (counts[["tp", "fp", "fn", "mm", "true_negatives"]].sum(axis=1) == len(turns)).all()
    assert (counts["tp"] + counts["fn"] + counts["mm"] == counts["support"]).all()
    assert (counts["true_negatives"] >= 0).all()
    overall = evaluation.all_entities.loc["overall"]
    # a datetime counts twice (a date and a time)
    n_true = sum(len(t) + sum(e["type"] == "datetime" for e in t) for t, _ in turns)
    assert overall["reference"] == n_true


def test_a_dataset_without_any_entity_says_so() -> None:
    evaluation = evaluate_entity_frame(frame([([], []), ([], [])]))
    assert evaluation.report.empty and evaluation.headline()["entity_error_rate"] == 0.0
    assert any("neither column has any entity" in note for note in evaluation.notes())
