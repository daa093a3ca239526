"""New annotations + an SLU project's previous dataset -> its next train and test sets (spec 7.3 d, g, i).

The rules, in the order they run (docs/slu-projects.md says the same for users):

1. **First tag** of every new row (:func:`pick_first_tags`): the raw annotation in ``tag`` is replaced by
   its first intent, read by the product's one tag reader (:mod:`skit_pipelines.metrics.tags`). Rows
   without an intent are dropped and counted by reason; rows with several labels keep the first and are
   counted. A source without ``tag`` but with ``intent_y`` (our tagged CSVs carry both) uses ``intent_y``.
2. **Concatenate** the new sources (Label Studio projects, dataset CSVs); no new row at all is an error.
3. **Split** the new rows (:func:`split_new_data`): ``train_split_percent`` (1..100) of them train, the rest
   test; seeded; with ``stratify`` every intent keeps its share in both (intents with a single row go to
   train, counted). A custom test set means 100 % train.
4. **Combine** with the previous dataset when ``use_previous_dataset`` (and there is one): below 100 %,
   old train + new train and old test + new test; at 100 %, old train + new rows, and the test set is the
   old one. The rows a model is evaluated on are the custom test set when given, else the test set.
5. **Alias** (``{alias: [intent, ...]}``: each listed intent becomes its alias), then **remove_intents**
   (rows of those intents leave train and test; naming an intent the data does not have is an error).
6. **De-duplicate** identical (text, tag) rows within train and within test, counted.
7. At least one intent must be left in train, and one test row to evaluate on.

Every step's counts go into a :class:`PreparationReport`, which the job logs and puts in the commit message,
so a reviewer sees what the data went through. Frames in, frames out: the job reads and writes the CSVs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines.features import TEXT_SOURCES
from skit_pipelines.parameters import split_list
from skit_pipelines.slu.dataset_steps import (
    TAG,
    DatasetPreparationError,
    apply_aliases,
    concat_new_data,
    drop_duplicates,
    empty_like,
    ensure_intent_column,
    pick_first_tags,
    remove_intents,
    split_new_data,
    text_keys,
)
from skit_pipelines.slu.prep_report import PreparationReport

__all__ = [
    "PreparationOptions",
    "PreparedDatasets",
    "PreviousDataset",
    "prepare_datasets",
]


# ------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class PreparationOptions:
    """The retraining parameters that shape the datasets (names as the ``retrain_slu`` pipeline's).

    ``remove_intents`` may be a comma list (``"a, b"``) or a sequence; an alias's members a list or one name.
    """

    train_split_percent: int = 85
    stratify: bool = False
    seed: int = 42
    use_previous_dataset: bool = True
    aliases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    remove_intents: Sequence[str] = ()

    def __post_init__(self) -> None:
        # A comma list or a bare alias member given as text would otherwise be read character by character
        # (the reference's ignore_callers bug, spec 14 item 12): text is split here, once.
        if isinstance(self.remove_intents, str):
            object.__setattr__(self, "remove_intents", split_list(self.remove_intents))
        aliases = {
            str(alias): split_list(members) if isinstance(members, str) else tuple(map(str, members))
            for alias, members in self.aliases.items()
        }
        object.__setattr__(self, "aliases", aliases)
        percent = self.train_split_percent
        if isinstance(percent, bool) or not isinstance(percent, (int, np.integer)) or not 1 <= percent <= 100:
            raise DatasetPreparationError(
                f"train_split_percent must be a whole number from 1 to 100 (100: every new row trains), "
                f"got {percent!r}"
            )
        owners: dict[str, str] = {}
        for alias, members in self.aliases.items():
            for member in members:
                other = owners.setdefault(str(member), str(alias))
                if other != str(alias):
                    raise DatasetPreparationError(
                        f"alias YAML lists intent {member!r} under two aliases, {other!r} and {alias!r}: "
                        "an intent can be renamed to one alias only"
                    )


@dataclass(frozen=True)
class PreviousDataset:
    """The project's datasets before this run (``dvc pull`` of the base branch); ``test`` may be missing."""

    train: pd.DataFrame
    test: pd.DataFrame | None = None


@dataclass
class PreparedDatasets:
    """The next ``train.csv`` and ``test.csv``, the rows to evaluate on, and the report of how they came."""

    train: pd.DataFrame
    test: pd.DataFrame
    evaluation: pd.DataFrame
    report: PreparationReport


def _labels(*frames: pd.DataFrame) -> set[str]:
    return {str(v) for f in frames if not f.empty for v in f[TAG].dropna().unique()}


def _prepare_old(frame: pd.DataFrame | None, name: str, report: PreparationReport) -> pd.DataFrame | None:
    """A previous dataset as stored: plain intents in ``tag``; rows with a blank tag are dropped, noted."""
    if frame is None:
        return None
    if len(frame) and TAG not in frame.columns:
        raise DatasetPreparationError(
            f"{name}: no {TAG!r} column; the project's datasets name the intent 'tag'"
        )
    out = frame.reset_index(drop=True)
    if not len(out):
        return out
    out = out.copy()
    out[TAG] = out[TAG].map(lambda v: "" if v is None or pd.isna(v) else str(v).strip())
    blank = out[TAG] == ""
    if blank.any():
        report.notes.append(f"{name}: {int(blank.sum()):,} rows without an intent in 'tag' left out")
        out = out[~blank].reset_index(drop=True)
    return out


# ------------------------------------------------------------------------------------------ the whole


@dataclass
class _Sets:
    """Train, test, and the custom test set when there is one (else the test set is evaluated)."""

    train: pd.DataFrame
    test: pd.DataFrame
    custom: pd.DataFrame | None = None

    def each(self, step: Any) -> Counter[str]:
        """Apply ``step(frame) -> (frame, Counter)`` to every set; the counts summed."""
        total: Counter[str] = Counter()
        self.train, counted = step(self.train)
        total += counted
        self.test, counted = step(self.test)
        total += counted
        if self.custom is not None:
            self.custom, counted = step(self.custom)
            total += counted
        return total

    @property
    def evaluation(self) -> pd.DataFrame:
        return self.test if self.custom is None else self.custom


def _new_data(
    new_sources: Sequence[tuple[str, pd.DataFrame]],
    custom_test: pd.DataFrame | None,
    custom_test_name: str,
    report: PreparationReport,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Steps 1-2: the new rows with their first tags, and the custom test set's (None when not given)."""
    new, report.sources = concat_new_data(new_sources)
    report.new_rows = len(new)
    if custom_test is None or custom_test.empty:
        return new, None
    custom, report.custom_test = pick_first_tags(custom_test, custom_test_name)
    if custom.empty:
        raise DatasetPreparationError(
            f"no row of the custom test set has an intent: {report.custom_test.line()}"
        )
    return new, custom


def _split_and_combine(
    new: pd.DataFrame,
    custom: pd.DataFrame | None,
    previous: PreviousDataset | None,
    options: PreparationOptions,
    report: PreparationReport,
) -> _Sets:
    """Steps 3-4: the new rows split (100 % train with a custom test set), then the previous dataset added."""
    percent = 100 if custom is not None else int(options.train_split_percent)
    report.train_split_percent = percent
    new_train, new_test, report.single_row_intents_to_train = split_new_data(
        new, percent, stratify=options.stratify, seed=options.seed
    )
    report.new_train_rows, report.new_test_rows = len(new_train), len(new_test)

    old_train = _prepare_old(previous.train, "previous train.csv", report) if previous is not None else None
    old_test = _prepare_old(previous.test, "previous test.csv", report) if previous is not None else None
    if old_train is not None:
        report.previous_train_rows = len(old_train)
        report.previous_test_rows = None if old_test is None else len(old_test)
    use_previous = options.use_previous_dataset and old_train is not None
    report.used_previous = use_previous
    if options.use_previous_dataset and old_train is None:
        report.notes.append("use_previous_dataset is true but there is no previous dataset (first training)")

    train = pd.concat([old_train, new_train], ignore_index=True, sort=False) if use_previous else new_train
    if percent < 100:
        parts = [old_test, new_test] if use_previous and old_test is not None else [new_test]
        test = pd.concat(parts, ignore_index=True, sort=False)
    elif old_test is not None:
        test = old_test  # the reference's copy of the old test set
    else:
        test = custom if custom is not None else empty_like(new)
    sets = _Sets(train, test, custom)
    if sets.evaluation.empty:
        raise DatasetPreparationError(
            "no test rows to evaluate the model on: train_split_percent is 100 and there is neither a "
            "custom test set nor a previous test.csv; set train_split_percent below 100 or give "
            "custom_test_dataset_path"
        )
    return sets


def _alias_and_remove(sets: _Sets, options: PreparationOptions, report: PreparationReport) -> None:
    """Step 5: aliases, then remove_intents (an intent the data does not have is a typo, not a no-op)."""
    report.aliased = dict(sets.each(lambda frame: apply_aliases(frame, options.aliases)))
    wanted = [str(i).strip() for i in options.remove_intents if str(i).strip()]
    known = _labels(sets.train, sets.test, sets.evaluation)
    unknown = sorted(set(wanted) - known)
    if unknown:
        aliased_away = sorted(u for u in unknown if any(u in map(str, m) for m in options.aliases.values()))
        hint = f"; {', '.join(aliased_away)} became an alias: name the alias instead" if aliased_away else ""
        raise DatasetPreparationError(
            f"remove_intents names intents the datasets do not have: {', '.join(unknown)}{hint} "
            f"(known, after aliases: {', '.join(sorted(known)[:30])}{' …' if len(known) > 30 else ''})"
        )
    report.removed = dict(sets.each(lambda frame: remove_intents(frame, wanted)))


def _deduplicate(sets: _Sets, report: PreparationReport) -> None:
    """Step 6: identical (text, tag) rows, within each set."""
    sets.train, dropped_train = drop_duplicates(sets.train)
    sets.test, dropped_test = drop_duplicates(sets.test)
    report.duplicates_removed = {"train": dropped_train, "test": dropped_test}
    if sets.custom is not None:
        sets.custom, report.duplicates_removed["custom test"] = drop_duplicates(sets.custom)


def _check_left(sets: _Sets, report: PreparationReport) -> list[str]:
    """Step 7: something left to train on and to evaluate on; returns the training intents."""
    intents = sorted(_labels(sets.train))
    removed = ", ".join(sorted(report.removed))
    if not intents:
        raise DatasetPreparationError(
            "no intent is left in the training set"
            + (f" after remove_intents ({removed})" if removed else "")
            + ": remove fewer intents or add annotated data"
        )
    if sets.evaluation.empty:
        raise DatasetPreparationError(
            f"no test row is left to evaluate on after remove_intents ({removed}): "
            "remove fewer intents or give another test set"
        )
    return intents


def prepare_datasets(
    new_sources: Sequence[tuple[str, pd.DataFrame]],
    options: PreparationOptions,
    previous: PreviousDataset | None = None,
    custom_test: pd.DataFrame | None = None,
    custom_test_name: str = "custom test set",
) -> PreparedDatasets:
    """The next train and test sets, and the rows to evaluate on (the module docstring lists the rules).

    ``new_sources`` are ``(name, frame)`` pairs, the name being what the report and commit message call
    the source (e.g. ``"labelstudio project 12"`` or a CSV's URI). ``previous`` is None on a first training.
    """
    report = PreparationReport(
        requested_split_percent=int(options.train_split_percent),
        stratify=options.stratify,
        seed=options.seed,
    )
    new, custom = _new_data(new_sources, custom_test, custom_test_name, report)
    sets = _split_and_combine(new, custom, previous, options, report)
    _alias_and_remove(sets, options, report)
    _deduplicate(sets, report)
    report.intents = _check_left(sets, report)

    train_keys = set(zip(text_keys(sets.train), sets.train[TAG], strict=True))
    evaluation = sets.evaluation
    report.test_rows_also_in_train = sum(
        key in train_keys for key in zip(text_keys(evaluation), evaluation[TAG], strict=True)
    )
    _note_mixed_text_columns(sets.train, "train", report)
    test = ensure_intent_column(sets.test)
    evaluation = test if sets.custom is None else ensure_intent_column(sets.custom)
    report.train_rows, report.test_rows, report.evaluation_rows = len(sets.train), len(test), len(evaluation)
    return PreparedDatasets(train=sets.train, test=test, evaluation=evaluation, report=report)


def _note_mixed_text_columns(frame: pd.DataFrame, name: str, report: PreparationReport) -> None:
    """Say when rows keep their text in different columns: the trainer reads one column per dataset."""
    columns = [c for c in TEXT_SOURCES if c in frame.columns]
    if len(columns) < 2 or frame.empty:
        return
    first = frame[columns[0]]
    elsewhere = int((first.isna() | (first.astype(str).str.strip() == "")).sum())
    if elsewhere:
        report.notes.append(
            f"{elsewhere:,} {name} rows have no text in {columns[0]!r} (the column the trainer reads first); "
            f"their text is in {', '.join(repr(c) for c in columns[1:])}"
        )
