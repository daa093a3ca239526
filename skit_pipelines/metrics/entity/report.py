"""Entity evaluation: the reference's first-entity report, an all-entities report, and the bad-input rules.

Plain Python (no kfp, no storage): the ``eer_from_tog`` pipeline and the tests call these functions on
lists of parsed entities (:mod:`skit_pipelines.metrics.entity.values`); span-level scores live in
:mod:`skit_pipelines.metrics.entity.spans`.

**First-entity report** (the reference, eevee 1.3 ``entity_report``; spec 5.2). Only the *first* entity
of each side of a turn is compared:

- neither side has an entity: a true negative, no counter moves;
- same type: **tp** when the values are equal by the typed rules of ``entity_values.values_equal``, else
  **mm** (mismatch);
- different types (or one side empty): **fn** for the true type, **fp** for the predicted type;
- ``datetime`` on either side is split into ``date`` and ``time``: datetime vs datetime compares both
  parts (tp/mm each); datetime vs date (or time) compares that part and counts the other part as fn (truth
  datetime) or fp (predicted datetime); datetime vs anything else is fn (or fp) for both parts plus fp (or
  fn) for the other type.

Per entity type: ``Support`` = turns whose first true entity has that type or whose outcome has the type
in tp/fn/mm; ``Negatives`` = turns − Support; ``FPR = fp / Negatives``, ``FNR = fn / (fn + tp + mm)``,
``Mismatch Rate = mm / (tp + mm)`` (0 when a denominator is 0). Report rows are the types of *every*
entity in either column (as the reference listed them), without ``datetime``. Two deliberate fixes:
``date`` and ``time`` rows appear when they only arise from splitting a datetime (the reference dropped
them, so a datetime-only dataset gave an empty report), and an empty list ``[]`` is "no entity" (the
reference crashed on it). For every type, tp + fn + mm = Support and tp + fp + fn + mm + true negatives =
turns.

**All-entities report** (beyond the reference): every entity of a turn counts. Datetimes are split into
a date and a time entity as above; then, per turn and per type, true and predicted entities with equal
values are paired (tp), the remaining ones are paired in order (mm), and what is left is fn (truth) or fp
(prediction). Per type and overall: ``reference = tp + fn + mm`` (true entities), ``predicted = tp + fp +
mm``, precision = tp / predicted, recall = tp / reference, F1, and the **entity error rate**
``(fp + fn + mm) / reference`` (like WER, it can exceed 1 when a model over-predicts).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.metrics.entity.values import (
    CellError,
    ComparedEntity,
    parse_cell,
    value_problem,
    values_equal,
)

__all__ = [
    "ALIASES",
    "REPORT_COLUMNS",
    "FirstEntityReport",
    "InvalidEntityDatasetError",
    "ParsedEntities",
    "all_entity_report",
    "compare_first",
    "first_entity_report",
    "no_gc",
    "parse_entity_columns",
    "require_columns",
]

ID_COLUMN = "data_id"
TRUTH_COLUMN = "truth_entities"
PRED_COLUMN = "predicted_entities"
# Column names of the reference's ``modify_entity_dataset``, accepted when ours are absent.
ALIASES = {
    TRUTH_COLUMN: ("truth_entities_with_duckling",),
    PRED_COLUMN: ("predicted_entities_with_modifications",),
    ID_COLUMN: ("id", "conversation_uuid"),
}
REPORT_COLUMNS = ["FPR", "FNR", "Mismatch Rate", "Support", "Negatives"]
DATETIME = "datetime"
DATE_TIME_PARTS = ("date", "time")
EXAMPLES_PER_REASON = 5


class InvalidEntityDatasetError(SkitPipelinesError, ValueError):
    """The dataset cannot be evaluated at all: a missing column, no rows, or no readable row."""


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small tuples are built.

    The objects made here hold no reference cycles; the collector would only rescan them again and again
    (it doubled the parse time of a million turns). The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ------------------------------------------------------------------------------------------- bad input


def require_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Map our column names to the frame's (aliases allowed); raise naming every missing column."""
    found: dict[str, str] = {}
    missing = []
    for name in (ID_COLUMN, TRUTH_COLUMN, PRED_COLUMN):
        for candidate in (name, *ALIASES.get(name, ())):
            if candidate in frame.columns:
                found[name] = candidate
                break
        else:
            missing.append(name)
    if missing:
        # The header is not named back: the file may not be the dataset the caller meant (issue 11.1).
        raise InvalidEntityDatasetError(
            f"the entity dataset lacks column(s) {', '.join(repr(m) for m in missing)} "
            f"(expected {ID_COLUMN!r}, {TRUTH_COLUMN!r} and {PRED_COLUMN!r}: JSON lists of "
            f"{{type, value, text, start, end}}); it has {len(frame.columns)} other columns"
        )
    return found


@dataclass
class ParsedEntities:
    """Parsed entity lists of the rows that could be read, and an account of those that could not."""

    truth: list[tuple[ComparedEntity, ...]]
    pred: list[tuple[ComparedEntity, ...]]
    rows: list[int]  # positions in the input of the kept rows
    total_rows: int
    skipped: dict[str, int] = field(default_factory=dict)  # reason → rows
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason → a few "id: detail"

    @property
    def skipped_rows(self) -> int:
        return sum(self.skipped.values())

    def describe_skipped(self) -> list[str]:
        return [
            f"{count} row(s) skipped: {reason} (e.g. {'; '.join(self.examples.get(reason, []))})"
            for reason, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
        ]


def parse_entity_columns(
    ids: Sequence[Any],
    truth_cells: Sequence[Any],
    pred_cells: Sequence[Any],
    truth_name: str = TRUTH_COLUMN,
    pred_name: str = PRED_COLUMN,
    *,
    normalise_labels: bool = False,
) -> ParsedEntities:
    """Parse both entity columns; a row with a malformed cell is skipped and counted under its reason.

    Entity types are lower-cased and otherwise kept as given; ``normalise_labels`` also strips them.

    Raises :class:`InvalidEntityDatasetError` when there are no rows, or when no row could be read (then
    the reasons are in the message): an evaluation of nothing must not look like a perfect score.
    """
    total = len(ids)
    if total == 0:
        raise InvalidEntityDatasetError("the entity dataset has no rows: nothing to evaluate")
    truth: list[tuple[ComparedEntity, ...]] = []
    pred: list[tuple[ComparedEntity, ...]] = []
    rows: list[int] = []
    skipped: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    memo: dict[str, tuple[ComparedEntity, ...]] = {}  # identical cells ("[]", repeated tags) are parsed once
    with no_gc():
        for position, (row_id, t_cell, p_cell) in enumerate(zip(ids, truth_cells, pred_cells, strict=True)):
            try:
                column = truth_name
                t = memo.get(t_cell) if isinstance(t_cell, str) else None
                if t is None:
                    t = parse_cell(t_cell, normalise_labels)
                    if isinstance(t_cell, str) and len(memo) < 100_000:
                        memo[t_cell] = t
                column = pred_name
                p = memo.get(p_cell) if isinstance(p_cell, str) else None
                if p is None:
                    p = parse_cell(p_cell, normalise_labels)
                    if isinstance(p_cell, str) and len(memo) < 100_000:
                        memo[p_cell] = p
            except CellError as exc:
                reason = f"{column}: {exc.reason}"
                skipped[reason] += 1
                sample = examples.setdefault(reason, [])
                if len(sample) < EXAMPLES_PER_REASON:
                    sample.append(f"{row_id}: {exc.detail}" if exc.detail else str(row_id))
                continue
            truth.append(t)
            pred.append(p)
            rows.append(position)
    parsed = ParsedEntities(truth, pred, rows, total, dict(skipped), examples)
    if not rows:
        raise InvalidEntityDatasetError(
            f"no row of the {total} in the entity dataset could be read: "
            + " | ".join(parsed.describe_skipped())
        )
    return parsed


def value_warnings(
    truth: Sequence[tuple[ComparedEntity, ...]],
    pred: Sequence[tuple[ComparedEntity, ...]],
    truth_name: str = TRUTH_COLUMN,
    pred_name: str = PRED_COLUMN,
) -> dict[str, int]:
    """Counts of entities whose value cannot be compared by type (kept, compared by raw equality)."""
    counts: Counter[str] = Counter()
    for name, column in ((truth_name, truth), (pred_name, pred)):
        for ents in column:
            for ent in ents:
                problem = value_problem(ent.type, ent.value)
                if problem:
                    counts[f"{name}: {ent.type} entity with {problem}"] += 1
    return dict(counts)


# --------------------------------------------------------------------------------- first-entity report

Outcome = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # tp, fp, fn, mm


def _compare_datetime(true_ent: ComparedEntity | None, pred_ent: ComparedEntity | None) -> Outcome:
    true_type = true_ent.type if true_ent is not None else None
    pred_type = pred_ent.type if pred_ent is not None else None
    tp: list[str] = []
    fp: list[str] = []
    fn: list[str] = []
    mm: list[str] = []
    if true_type == DATETIME and pred_type == DATETIME:
        for part in DATE_TIME_PARTS:
            (tp if values_equal(part, true_ent.value, pred_ent.value) else mm).append(part)  # type: ignore[union-attr]
    elif true_type == DATETIME:
        if pred_type in DATE_TIME_PARTS:
            (tp if values_equal(pred_type, true_ent.value, pred_ent.value) else mm).append(pred_type)  # type: ignore[union-attr,arg-type]
            fn.append("date" if pred_type == "time" else "time")
        else:
            fn.extend(DATE_TIME_PARTS)
            if pred_type is not None:
                fp.append(pred_type)
    else:  # the prediction is a datetime
        if true_type in DATE_TIME_PARTS:
            (tp if values_equal(true_type, true_ent.value, pred_ent.value) else mm).append(true_type)  # type: ignore[union-attr,arg-type]
            fp.append("date" if true_type == "time" else "time")
        else:
            fp.extend(DATE_TIME_PARTS)
            if true_type is not None:
                fn.append(true_type)
    return tuple(tp), tuple(fp), tuple(fn), tuple(mm)


def compare_first(truth: Sequence[ComparedEntity], pred: Sequence[ComparedEntity]) -> Outcome | None:
    """The reference's comparison of the first entity of each side; None when both sides are empty."""
    true_ent = truth[0] if truth else None
    pred_ent = pred[0] if pred else None
    if true_ent is None:
        if pred_ent is None:
            return None
        if pred_ent.type == DATETIME:
            return (), DATE_TIME_PARTS, (), ()
        return (), (pred_ent.type,), (), ()
    if pred_ent is None:
        if true_ent.type == DATETIME:
            return (), (), DATE_TIME_PARTS, ()
        return (), (), (true_ent.type,), ()
    if true_ent.type == DATETIME or pred_ent.type == DATETIME:
        return _compare_datetime(true_ent, pred_ent)
    if true_ent.type == pred_ent.type:
        if values_equal(true_ent.type, true_ent.value, pred_ent.value):
            return (true_ent.type,), (), (), ()
        return (), (), (), (true_ent.type,)
    return (), (pred_ent.type,), (true_ent.type,), ()


@dataclass
class FirstEntityReport:
    """The reference report (``report``: index Entity, :data:`REPORT_COLUMNS`), its counts and error rows.

    ``counts`` has per type tp, fp, fn, mm, support, negatives and true_negatives. ``errors`` maps "fp",
    "fn", "mm" to ``(row, entity_type)`` pairs, row being a position in the evaluated lists, sorted by
    entity type then row (the reference's dump order).
    """

    report: pd.DataFrame
    counts: pd.DataFrame
    errors: dict[str, list[tuple[int, str]]]
    turns: int


def _rate(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def first_entity_report(
    truth: Sequence[Sequence[ComparedEntity]], pred: Sequence[Sequence[ComparedEntity]]
) -> FirstEntityReport:
    """The reference's entity report over turns (``truth[i]`` and ``pred[i]`` are the entities of turn i)."""
    if len(truth) != len(pred):
        raise ValueError(f"truth has {len(truth)} turns but pred has {len(pred)}")
    turns = len(truth)
    seen: set[str] = set()
    signatures: Counter[tuple[str | None, Outcome]] = Counter()
    errors: dict[str, list[tuple[int, str]]] = {"fp": [], "fn": [], "mm": []}
    with no_gc():
        for row, (t, p) in enumerate(zip(truth, pred, strict=True)):
            for ent in t:
                seen.add(ent.type)
            for ent in p:
                seen.add(ent.type)
            outcome = compare_first(t, p)
            if outcome is None:
                continue
            signatures[(t[0].type if t else None, outcome)] += 1
            _, fp, fn, mm = outcome
            if fp:
                errors["fp"].extend((row, kind) for kind in fp)
            if fn:
                errors["fn"].extend((row, kind) for kind in fn)
            if mm:
                errors["mm"].extend((row, kind) for kind in mm)

    counts: dict[str, list[int]] = {}  # type → [tp, fp, fn, mm, support]
    for (true_type, (tp, fp, fn, mm)), n in signatures.items():
        for index, kinds in enumerate((tp, fp, fn, mm)):
            for kind in kinds:
                counts.setdefault(kind, [0, 0, 0, 0, 0])[index] += n
        supported = set(tp) | set(fn) | set(mm)
        if true_type is not None and true_type != DATETIME:
            supported.add(true_type)
        for kind in supported:
            counts.setdefault(kind, [0, 0, 0, 0, 0])[4] += n
    for kind in seen:
        if kind != DATETIME:
            counts.setdefault(kind, [0, 0, 0, 0, 0])

    records = []
    report_rows = []
    for kind in sorted(counts):
        tp, fp, fn, mm, support = counts[kind]
        negatives = turns - support
        records.append(
            {
                "Entity": kind,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "mm": mm,
                "support": support,
                "negatives": negatives,
                "true_negatives": negatives - fp,
            }
        )
        report_rows.append(
            {
                "Entity": kind,
                "FPR": _rate(fp, negatives),
                "FNR": _rate(fn, fn + tp + mm),
                "Mismatch Rate": _rate(mm, tp + mm),
                "Support": support,
                "Negatives": negatives,
            }
        )
    report = pd.DataFrame(report_rows, columns=["Entity", *REPORT_COLUMNS]).set_index("Entity")
    count_frame = pd.DataFrame(
        records, columns=["Entity", "tp", "fp", "fn", "mm", "support", "negatives", "true_negatives"]
    ).set_index("Entity")
    for key in errors:
        errors[key].sort(key=lambda pair: (pair[1], pair[0]))
    return FirstEntityReport(report=report, counts=count_frame, errors=errors, turns=turns)


# -------------------------------------------------------------------------------- all-entities report

ALL_ENTITY_COLUMNS = [
    "tp",
    "fp",
    "fn",
    "mm",
    "reference",
    "predicted",
    "precision",
    "recall",
    "f1",
    "entity_error_rate",
]
OVERALL = "overall"


def _split_datetimes(ents: Sequence[ComparedEntity]) -> list[ComparedEntity]:
    out: list[ComparedEntity] = []
    for ent in ents:
        if ent.type == DATETIME:
            out.append(ent._replace(type="date"))
            out.append(ent._replace(type="time"))
        else:
            out.append(ent)
    return out


def _match_turn(
    truth: Sequence[ComparedEntity], pred: Sequence[ComparedEntity], counts: dict[str, list[int]]
) -> None:
    """Add one turn's tp/fp/fn/mm per type to ``counts`` (type → [tp, fp, fn, mm])."""
    if len(truth) == 1 and len(pred) == 1:  # the common case, without grouping
        t, p = truth[0], pred[0]
        if t.type != DATETIME and p.type != DATETIME:
            if t.type == p.type:
                slot = counts.setdefault(t.type, [0, 0, 0, 0])
                slot[0 if values_equal(t.type, t.value, p.value) else 3] += 1
            else:
                counts.setdefault(t.type, [0, 0, 0, 0])[2] += 1
                counts.setdefault(p.type, [0, 0, 0, 0])[1] += 1
            return
    truth_split = _split_datetimes(truth)
    pred_split = _split_datetimes(pred)
    by_type: dict[str, tuple[list[ComparedEntity], list[ComparedEntity]]] = {}
    for ent in truth_split:
        by_type.setdefault(ent.type, ([], []))[0].append(ent)
    for ent in pred_split:
        by_type.setdefault(ent.type, ([], []))[1].append(ent)
    for kind, (ts, ps) in by_type.items():
        slot = counts.setdefault(kind, [0, 0, 0, 0])
        if not ps:
            slot[2] += len(ts)
            continue
        if not ts:
            slot[1] += len(ps)
            continue
        free = list(ps)
        unmatched_truth = []
        for t in ts:
            for index, p in enumerate(free):
                if values_equal(kind, t.value, p.value):
                    slot[0] += 1
                    del free[index]
                    break
            else:
                unmatched_truth.append(t)
        paired = min(len(unmatched_truth), len(free))
        slot[3] += paired
        slot[2] += len(unmatched_truth) - paired
        slot[1] += len(free) - paired


def _scores(tp: int, fp: int, fn: int, mm: int) -> dict[str, float | int]:
    reference = tp + fn + mm
    predicted = tp + fp + mm
    precision = _rate(tp, predicted)
    recall = _rate(tp, reference)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "mm": mm,
        "reference": reference,
        "predicted": predicted,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "entity_error_rate": _rate(fp + fn + mm, reference),
    }


def all_entity_report(
    truth: Sequence[Sequence[ComparedEntity]], pred: Sequence[Sequence[ComparedEntity]]
) -> pd.DataFrame:
    """Every entity of every turn: per type and ``overall`` tp/fp/fn/mm, P/R/F1 and entity error rate."""
    if len(truth) != len(pred):
        raise ValueError(f"truth has {len(truth)} turns but pred has {len(pred)}")
    counts: dict[str, list[int]] = {}
    with no_gc():
        for t, p in zip(truth, pred, strict=True):
            if t or p:
                _match_turn(t, p, counts)
    rows = [{"Entity": kind, **_scores(*counts[kind])} for kind in sorted(counts)]
    totals = [sum(c[i] for c in counts.values()) for i in range(4)]
    rows.append({"Entity": OVERALL, **_scores(*totals)})
    return pd.DataFrame(rows, columns=["Entity", *ALL_ENTITY_COLUMNS]).set_index("Entity")
