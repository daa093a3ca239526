"""A judge's verdicts scored against the demo warehouse's hidden compliance labels.

The demo warehouse's debt-collection audit flow (``warehouse/data/demo/debt_audit.yaml``) writes each
call's label into every turn's ``context`` as ``demo_compliance`` = ``{"breach": bool, "case": str,
"names": [debtor's full name, agent's name]}``; the case is one of :data:`CASES`, and the names are what a
PII redactor must remove from the call (:func:`leaked_names` counts what it left). The label travels
through ``fetch_calls``' CSV like any other column, so the test and the benchmark read it from the very
table the pipeline reads, never from the generator.

Scoring counts a verdict with ``is_breach=True`` as "breach" and anything else (no breach, or a
``judge_error``) as "no breach", so a judge that fails on a breach loses recall instead of vanishing from
the numbers; errors are counted apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from skit_pipelines.compliance.judge import JudgeVerdict

CONTEXT_KEY = "demo_compliance"
#: The label's cases and whether each is a breach (the demo generator's, ``demo_tables.AUDIT_CASES``).
CASES: dict[str, bool] = {
    "verified_debtor_told": False,
    "told_before_verification": True,
    "third_party_told_amount": True,
    "third_party_told_nothing": False,
}


@dataclass(frozen=True)
class Label:
    breach: bool
    case: str


def _label(context: object) -> Label | None:
    if not isinstance(context, str) or CONTEXT_KEY not in context:
        return None
    value = json.loads(context).get(CONTEXT_KEY)
    if not isinstance(value, dict):
        return None
    return Label(bool(value["breach"]), str(value["case"]))


def demo_labels(turns: pd.DataFrame) -> dict[str, Label]:
    """``call_uuid`` → label, for the calls of a turns table (``fetch_calls``' CSV) that carry one."""
    if turns.empty:
        return {}
    first = turns.drop_duplicates("call_uuid")[["call_uuid", "context"]]
    labels = {
        uuid: _label(context) for uuid, context in zip(first["call_uuid"], first["context"], strict=True)
    }
    return {uuid: label for uuid, label in labels.items() if label is not None}


def demo_names(turns: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """``call_uuid`` → the names the generator put in the call (debtor, agent), for the labelled calls."""
    if turns.empty:
        return {}
    first = turns.drop_duplicates("call_uuid")[["call_uuid", "context"]]
    found = {}
    for uuid, context in zip(first["call_uuid"], first["context"], strict=True):
        if isinstance(context, str) and CONTEXT_KEY in context:
            value = json.loads(context).get(CONTEXT_KEY)
            if isinstance(value, dict) and isinstance(value.get("names"), list):
                found[uuid] = tuple(str(name) for name in value["names"])
    return found


def leaked_names(text: str, names: Sequence[str]) -> list[str]:
    """The words of ``names`` (first and last names) still readable in ``text``: whole words, any case."""
    words = sorted({word for name in names for word in name.split() if word})
    if not words:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
    return [match.group() for match in pattern.finditer(text)]


def calls_with_a_name_left(
    call_uuids: Sequence[str], texts: Sequence[str], names: Mapping[str, Sequence[str]]
) -> int:
    """How many calls (with known names) still show one of their names after redaction."""
    return sum(
        bool(leaked_names(text, names[uuid]))
        for uuid, text in zip(call_uuids, texts, strict=True)
        if uuid in names
    )


@dataclass
class CaseScore:
    calls: int = 0
    flagged: int = 0  # verdicts of breach


@dataclass
class JudgeScore:
    """Precision and recall of "breach" over the labelled calls, and the breakdown by case."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    errors: int = 0
    by_case: dict[str, CaseScore] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return self.true_positives + self.false_positives + self.false_negatives + self.true_negatives

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        breaches = self.true_positives + self.false_negatives
        return self.true_positives / breaches if breaches else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
            "tn": self.true_negatives,
            "errors": self.errors,
        }


def score(
    call_uuids: Sequence[str], verdicts: Sequence[JudgeVerdict], labels: Mapping[str, Label]
) -> JudgeScore:
    """Score one verdict per call (same order as ``call_uuids``) against ``labels``; calls without a label
    are left out. Raises ``ValueError`` when the two sequences differ in length."""
    if len(call_uuids) != len(verdicts):
        raise ValueError(f"{len(verdicts)} verdicts for {len(call_uuids)} calls")
    result = JudgeScore(by_case={case: CaseScore() for case in CASES})
    for uuid, verdict in zip(call_uuids, verdicts, strict=True):
        label = labels.get(uuid)
        if label is None:
            continue
        flagged = verdict.is_breach is True
        result.errors += bool(verdict.judge_error)
        case = result.by_case.setdefault(label.case, CaseScore())
        case.calls += 1
        case.flagged += flagged
        if label.breach:
            result.true_positives += flagged
            result.false_negatives += not flagged
        else:
            result.false_positives += flagged
            result.true_negatives += not flagged
    return result
