"""Span-level entity scores under the four SemEval-2013 (task 9.1) schemes: strict, exact, partial, type.

Why: the reference compared only the first entity of a turn, by type and value. Span scores say whether
the model found *where* each entity is and *what kind* it is, for every entity of a turn, in the scheme
that NER evaluations use (Segura-Bedmar et al. 2013; the ``nervaluate`` package popularised it). No
library is used: nervaluate's alignment counts one true entity several times when several predictions
overlap it, which breaks ``possible = number of true entities``; ours is a one-to-one alignment.

Definitions (an entity is ``(type, start, end)``, character offsets, end exclusive):

1. **Alignment** per turn, one-to-one. Two spans *overlap* when ``max(starts) < min(ends)``, or when they
   are identical (so empty spans can match). Candidate pairs (true, predicted) are all overlapping pairs,
   taken greedily in this order: identical boundaries first, then same type, then longer overlap, then
   earlier true entity, then earlier prediction. Each entity is in at most one pair.
2. **Per pair**, the outcome in each scheme:

   ============================  =======  =======  =======  =======
   pair                          strict   exact    partial  type
   ============================  =======  =======  =======  =======
   same boundaries, same type    COR      COR      COR      COR
   same boundaries, other type   INC      COR      COR      INC
   overlap, same type            INC      INC      PAR      COR
   overlap, other type           INC      INC      PAR      INC
   ============================  =======  =======  =======  =======

   A true entity in no pair is MIS (missed) and a predicted one is SPU (spurious), in every scheme.
3. **Scores**: ``possible = COR + INC + PAR + MIS`` (true entities), ``actual = COR + INC + PAR + SPU``
   (predicted entities); credit = COR + 0.5 × PAR (PAR occurs only in the partial scheme);
   precision = credit / actual, recall = credit / possible, F1 their harmonic mean (0 when a
   denominator is 0, like scikit-learn's ``zero_division=0``).
4. **Per type**: possible and COR/INC/PAR/MIS count the true entities of that type; actual and SPU the
   predicted entities of that type. Recall takes the credit of pairs whose *true* entity has the type,
   precision the credit of pairs whose *predicted* entity has it (they differ only in the exact and
   partial schemes, which ignore types). Summing over types gives the overall row.

Entities without usable offsets (``start``/``end`` missing, negative or reversed) cannot be placed; they
are left out of the span scores and counted in ``SpanReport.entities_without_span``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from skit_pipelines.metrics.entity.values import ComparedEntity

__all__ = ["SCHEMES", "SPAN_COLUMNS", "SpanReport", "align", "span_report"]

SCHEMES = ("strict", "exact", "partial", "type")
SPAN_COLUMNS = [
    "scheme",
    "entity",
    "correct",
    "incorrect",
    "partial",
    "missed",
    "spurious",
    "possible",
    "actual",
    "precision",
    "recall",
    "f1",
]
OVERALL = "overall"

# Pair relations and their outcome per scheme (index in SCHEMES order).
EXACT_SAME, EXACT_OTHER, OVERLAP_SAME, OVERLAP_OTHER, MISSED, SPURIOUS = range(6)
_OUTCOMES = {
    EXACT_SAME: ("COR", "COR", "COR", "COR"),
    EXACT_OTHER: ("INC", "COR", "COR", "INC"),
    OVERLAP_SAME: ("INC", "INC", "PAR", "COR"),
    OVERLAP_OTHER: ("INC", "INC", "PAR", "INC"),
}
_CREDIT = {"COR": 1.0, "PAR": 0.5, "INC": 0.0}

Span = tuple[str, int, int]


def _overlap(a: Span, b: Span) -> int:
    """Overlap length; identical spans overlap even when empty (returned as 0 only if both are empty)."""
    return min(a[2], b[2]) - max(a[1], b[1])


def align(truth: Sequence[Span], pred: Sequence[Span]) -> list[tuple[int, str | None, str | None]]:
    """One turn's ``(relation, true type, predicted type)`` triples (see the module docstring)."""
    if not truth:
        return [(SPURIOUS, None, p[0]) for p in pred]
    if not pred:
        return [(MISSED, t[0], None) for t in truth]
    if len(truth) == 1 and len(pred) == 1:  # the common case
        t, p = truth[0], pred[0]
        same_bounds = t[1] == p[1] and t[2] == p[2]
        if same_bounds:
            return [(EXACT_SAME if t[0] == p[0] else EXACT_OTHER, t[0], p[0])]
        if _overlap(t, p) > 0:
            return [(OVERLAP_SAME if t[0] == p[0] else OVERLAP_OTHER, t[0], p[0])]
        return [(MISSED, t[0], None), (SPURIOUS, None, p[0])]
    candidates = []
    for i, t in enumerate(truth):
        for j, p in enumerate(pred):
            same_bounds = t[1] == p[1] and t[2] == p[2]
            length = _overlap(t, p)
            if same_bounds or length > 0:
                candidates.append((not same_bounds, t[0] != p[0], -length, i, j))
    candidates.sort()
    used_t: set[int] = set()
    used_p: set[int] = set()
    out: list[tuple[int, str | None, str | None]] = []
    for other_bounds, other_type, _, i, j in candidates:
        if i in used_t or j in used_p:
            continue
        used_t.add(i)
        used_p.add(j)
        if other_bounds:
            relation = OVERLAP_OTHER if other_type else OVERLAP_SAME
        else:
            relation = EXACT_OTHER if other_type else EXACT_SAME
        out.append((relation, truth[i][0], pred[j][0]))
    out.extend((MISSED, t[0], None) for i, t in enumerate(truth) if i not in used_t)
    out.extend((SPURIOUS, None, p[0]) for j, p in enumerate(pred) if j not in used_p)
    return out


@dataclass
class SpanReport:
    """``table``: one row per scheme and entity type (plus ``overall``), columns :data:`SPAN_COLUMNS`."""

    table: pd.DataFrame
    entities_without_span: int
    entities_with_span: int

    def overall(self, scheme: str) -> dict[str, float]:
        row = self.table[(self.table["scheme"] == scheme) & (self.table["entity"] == OVERALL)].iloc[0]
        return {"precision": float(row["precision"]), "recall": float(row["recall"]), "f1": float(row["f1"])}


def _spans(ents: Sequence[ComparedEntity]) -> tuple[list[Span], int]:
    spans = [(e.type, e.start, e.end) for e in ents if e.start is not None]
    return spans, len(ents) - len(spans)  # type: ignore[return-value]


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def span_report(
    truth: Sequence[Sequence[ComparedEntity]], pred: Sequence[Sequence[ComparedEntity]]
) -> SpanReport:
    """Span scores over turns (``truth[i]``, ``pred[i]``: the entities of turn i) in all four schemes."""
    if len(truth) != len(pred):
        raise ValueError(f"truth has {len(truth)} turns but pred has {len(pred)}")
    relations: Counter[tuple[int, str | None, str | None]] = Counter()
    without = 0
    placed = 0
    for t_ents, p_ents in zip(truth, pred, strict=True):
        if not t_ents and not p_ents:
            continue
        t_spans, t_missing = _spans(t_ents)
        p_spans, p_missing = _spans(p_ents)
        without += t_missing + p_missing
        placed += len(t_spans) + len(p_spans)
        relations.update(align(t_spans, p_spans))

    types = sorted({k for _, a, b in relations for k in (a, b) if k is not None})
    rows = []
    for index, scheme in enumerate(SCHEMES):
        # per type: correct, incorrect, partial, missed (true side); spurious, actual (pred side); credits
        stats = {
            k: {
                "COR": 0,
                "INC": 0,
                "PAR": 0,
                "MIS": 0,
                "SPU": 0,
                "actual": 0,
                "credit_true": 0.0,
                "credit_pred": 0.0,
            }
            for k in types
        }
        for (relation, true_type, pred_type), n in relations.items():
            if relation == MISSED:
                stats[true_type]["MIS"] += n  # type: ignore[index]
                continue
            if relation == SPURIOUS:
                stats[pred_type]["SPU"] += n  # type: ignore[index]
                stats[pred_type]["actual"] += n  # type: ignore[index]
                continue
            outcome = _OUTCOMES[relation][index]
            credit = _CREDIT[outcome] * n
            stats[true_type][outcome] += n  # type: ignore[index]
            stats[true_type]["credit_true"] += credit  # type: ignore[index]
            stats[pred_type]["actual"] += n  # type: ignore[index]
            stats[pred_type]["credit_pred"] += credit  # type: ignore[index]
        totals = {
            key: sum(s[key] for s in stats.values())
            for key in ("COR", "INC", "PAR", "MIS", "SPU", "actual", "credit_true", "credit_pred")
        }
        for kind, s in [*((k, stats[k]) for k in types), (OVERALL, totals)]:
            possible = s["COR"] + s["INC"] + s["PAR"] + s["MIS"]
            actual = s["actual"]
            precision = s["credit_pred"] / actual if actual else 0.0
            recall = s["credit_true"] / possible if possible else 0.0
            rows.append(
                {
                    "scheme": scheme,
                    "entity": kind,
                    "correct": s["COR"],
                    "incorrect": s["INC"],
                    "partial": s["PAR"],
                    "missed": s["MIS"],
                    "spurious": s["SPU"],
                    "possible": possible,
                    "actual": actual,
                    "precision": precision,
                    "recall": recall,
                    "f1": _f1(precision, recall),
                }
            )
    table = pd.DataFrame(rows, columns=SPAN_COLUMNS)
    return SpanReport(table=table, entities_without_span=without, entities_with_span=placed)
