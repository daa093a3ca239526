"""Span scores under the SemEval-2013 schemes: each pair relation by hand, per-type rows and alignment."""

from typing import Any

import pytest

from skit_pipelines.metrics.entity.spans import (
    EXACT_OTHER,
    EXACT_SAME,
    MISSED,
    OVERLAP_OTHER,
    OVERLAP_SAME,
    SPURIOUS,
    align,
    span_report,
)
from skit_pipelines.metrics.entity.values import ComparedEntity


def E(kind: str, start: int | None, end: int | None) -> ComparedEntity:
    return ComparedEntity(kind, None, "", start, end)


def row(report: Any, scheme: str, entity: str = "overall") -> dict[str, Any]:
    table = report.table
    return table[(table["scheme"] == scheme) & (table["entity"] == entity)].iloc[0].to_dict()


def scores(report: Any, scheme: str, entity: str = "overall") -> tuple[float, float, float]:
    r = row(report, scheme, entity)
    return r["precision"], r["recall"], r["f1"]


# One turn per SemEval scenario; expected (precision, recall) per scheme, each turn on its own.
@pytest.mark.parametrize(
    "truth, pred, expected",
    [
        # I. same boundaries and type: correct everywhere
        (
            [E("date", 0, 5)],
            [E("date", 0, 5)],
            {"strict": (1, 1), "exact": (1, 1), "partial": (1, 1), "type": (1, 1)},
        ),
        # IV. same boundaries, other type
        (
            [E("date", 0, 5)],
            [E("time", 0, 5)],
            {"strict": (0, 0), "exact": (1, 1), "partial": (1, 1), "type": (0, 0)},
        ),
        # V. overlap, same type: partial earns half
        (
            [E("date", 0, 5)],
            [E("date", 2, 8)],
            {"strict": (0, 0), "exact": (0, 0), "partial": (0.5, 0.5), "type": (1, 1)},
        ),
        # VI. overlap, other type
        (
            [E("date", 0, 5)],
            [E("time", 4, 9)],
            {"strict": (0, 0), "exact": (0, 0), "partial": (0.5, 0.5), "type": (0, 0)},
        ),
        # II + III. no overlap: one missed and one spurious (touching spans do not overlap)
        (
            [E("date", 0, 5)],
            [E("date", 5, 9)],
            {"strict": (0, 0), "exact": (0, 0), "partial": (0, 0), "type": (0, 0)},
        ),
    ],
)
def test_each_scenario(
    truth: list[ComparedEntity], pred: list[ComparedEntity], expected: dict[str, tuple[float, float]]
) -> None:
    report = span_report([truth], [pred])
    for scheme, (precision, recall) in expected.items():
        p, r, _ = scores(report, scheme)
        assert (p, r) == (precision, recall), scheme


def test_counts_and_scores_over_several_turns_by_hand() -> None:
    truth = [
        [E("date", 0, 5), E("number", 10, 12)],  # date exact; number overlapped by a people prediction
        [E("time", 3, 8)],  # missed
        [],
        [E("date", 0, 4)],  # date overlapped by a date prediction
    ]
    pred = [
        [E("date", 0, 5), E("people", 11, 14)],
        [],
        [E("number", 0, 2)],  # spurious
        [E("date", 1, 4)],
    ]
    report = span_report(truth, pred)
    strict = row(report, "strict")
    counts = [strict[k] for k in ("correct", "incorrect", "partial", "missed", "spurious")]
    assert counts == [1, 2, 0, 1, 1]
    assert (strict["possible"], strict["actual"]) == (4, 4)
    assert scores(report, "strict") == (0.25, 0.25, 0.25)
    assert scores(report, "exact") == (0.25, 0.25, 0.25)
    partial = row(report, "partial")
    assert (partial["correct"], partial["partial"]) == (1, 2)
    assert scores(report, "partial")[:2] == (0.5, 0.5)  # (1 + 0.5 * 2) / 4
    assert scores(report, "type")[:2] == (0.5, 0.5)  # date exact + date overlap
    # Per type: recall counts the true entities of the type, precision the predicted ones.
    assert scores(report, "type", "date") == (1.0, 1.0, 1.0)
    number = row(report, "partial", "number")
    assert (number["possible"], number["actual"], number["partial"], number["spurious"]) == (1, 1, 1, 1)
    assert (number["recall"], number["precision"]) == (0.5, 0.0)  # its pair's prediction is a people
    people = row(report, "partial", "people")
    assert (people["possible"], people["actual"], people["precision"], people["recall"]) == (0, 1, 0.5, 0.0)
    assert scores(report, "strict", "time") == (0.0, 0.0, 0.0)


def test_alignment_is_one_to_one_and_prefers_exact_then_same_type() -> None:
    truth = [("date", 0, 10)]
    pred = [("date", 2, 5), ("date", 0, 10), ("time", 0, 10)]
    assert sorted(align(truth, pred)) == sorted(
        [(EXACT_SAME, "date", "date"), (SPURIOUS, None, "date"), (SPURIOUS, None, "time")]
    )
    # Two true entities overlapped by one prediction: it pairs with the longer overlap; the other is missed.
    assert sorted(align([("date", 0, 4), ("time", 3, 10)], [("time", 2, 9)])) == sorted(
        [(OVERLAP_SAME, "time", "time"), (MISSED, "date", None)]
    )
    assert align([("a", 0, 3)], [("b", 0, 3)]) == [(EXACT_OTHER, "a", "b")]
    assert align([("a", 0, 3)], [("b", 1, 3)]) == [(OVERLAP_OTHER, "a", "b")]
    assert align([("a", 4, 4)], [("a", 4, 4)]) == [(EXACT_SAME, "a", "a")]  # identical empty spans match


def test_entities_without_offsets_are_counted_not_scored() -> None:
    report = span_report([[E("date", None, None), E("time", 0, 3)]], [[E("time", 0, 3)]])
    assert report.entities_without_span == 1 and report.entities_with_span == 2
    assert scores(report, "strict") == (1.0, 1.0, 1.0)


def test_no_entities_gives_zero_scores_not_an_error() -> None:
    report = span_report([[], []], [[], []])
    assert scores(report, "strict") == (0.0, 0.0, 0.0)
    assert list(report.table["entity"].unique()) == ["overall"]
