"""What dataset preparation did, in counts: one :class:`PreparationReport` per retraining run.

Why a typed report and not log lines: the same counts go to three places (the run's log, the commit message
that names the data sources, the run's outputs as JSON), and a reviewer must be able to see how many rows each
rule dropped or renamed (the reference dropped rows silently, spec 14 item 15).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PreparationReport", "SourceCount"]


@dataclass(frozen=True)
class SourceCount:
    """One input's rows: how many came, were kept, were dropped (by reason), had several labels."""

    name: str
    rows: int
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    several_labels: int = 0

    def line(self) -> str:
        text = f"{self.name}: {self.rows:,} rows"
        if self.dropped:
            reasons = ", ".join(f"{reason}: {count:,}" for reason, count in sorted(self.dropped.items()))
            text += f", {self.rows - self.kept:,} dropped ({reasons})"
        if self.several_labels:
            text += f", {self.several_labels:,} with several labels (first kept)"
        return text


@dataclass
class PreparationReport:
    """What each preparation step did, in counts (logged by the job and put in the commit message)."""

    sources: list[SourceCount] = field(default_factory=list)
    custom_test: SourceCount | None = None
    new_rows: int = 0
    requested_split_percent: int = 85
    train_split_percent: int = 85
    stratify: bool = False
    seed: int = 42
    new_train_rows: int = 0
    new_test_rows: int = 0
    single_row_intents_to_train: int = 0
    previous_train_rows: int | None = None
    previous_test_rows: int | None = None
    used_previous: bool = False
    aliased: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    duplicates_removed: dict[str, int] = field(default_factory=dict)
    test_rows_also_in_train: int = 0
    train_rows: int = 0
    test_rows: int = 0
    evaluation_rows: int = 0
    intents: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable lines, one per step, for logs, Slack and the commit message body."""
        out = [f"new data: {self.new_rows:,} rows kept from {len(self.sources)} source(s)"]
        out += [f"  {source.line()}" for source in self.sources]
        if self.custom_test is not None:
            out.append(f"custom test set: {self.custom_test.line()}")
        split = f"split: {self.train_split_percent} % train"
        if self.train_split_percent != self.requested_split_percent:
            split += f" (requested {self.requested_split_percent} %; a custom test set means 100 %)"
        if self.train_split_percent < 100:
            split += f", {'stratified' if self.stratify else 'not stratified'}, seed {self.seed}"
        split += f" -> {self.new_train_rows:,} new train / {self.new_test_rows:,} new test rows"
        if self.single_row_intents_to_train:
            split += f" ({self.single_row_intents_to_train:,} rows of single-row intents kept in train)"
        out.append(split)
        if self.used_previous:
            test = "none" if self.previous_test_rows is None else f"{self.previous_test_rows:,}"
            out.append(f"previous dataset: {self.previous_train_rows:,} train + {test} test rows combined")
        elif self.previous_train_rows is not None:
            out.append("previous dataset: not used for training (use_previous_dataset is false)")
        else:
            out.append("previous dataset: none (first training)")
        if self.aliased:
            out.append(f"aliases: {sum(self.aliased.values()):,} rows renamed ({_counts(self.aliased)})")
        if self.removed:
            out.append(
                f"remove_intents: {sum(self.removed.values()):,} rows removed ({_counts(self.removed)})"
            )
        if any(self.duplicates_removed.values()):
            out.append(
                "duplicates removed (identical text and tag): "
                + ", ".join(f"{count:,} {name}" for name, count in self.duplicates_removed.items())
            )
        if self.test_rows_also_in_train:
            out.append(f"note: {self.test_rows_also_in_train:,} evaluation rows also occur in train")
        out += [f"note: {note}" for note in self.notes]
        out.append(
            f"result: {self.train_rows:,} train rows, {self.test_rows:,} test rows, "
            f"{self.evaluation_rows:,} evaluation rows, {_intents(len(self.intents))}"
        )
        return out

    def summary(self) -> str:
        """One line naming the data sources and the result (the commit message's subject material)."""
        names = ", ".join(source.name for source in self.sources) or "no new source"
        return (
            f"{self.new_rows:,} new rows from {names}; "
            f"{self.train_rows:,} train / {self.test_rows:,} test rows, {_intents(len(self.intents))}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON outputs and run records)."""
        return asdict(self)


def _intents(count: int) -> str:
    return f"{count} intent" if count == 1 else f"{count} intents"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(
        f"{name}: {count:,}" for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
