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
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.features import TEXT_SOURCES
from skit_pipelines.metrics.intents import apply_alias
from skit_pipelines.metrics.tags import SEVERAL, intents_from_tags
from skit_pipelines.parameters import split_list

__all__ = [
    "INTENT",
    "TAG",
    "DatasetPreparationError",
    "PreparationOptions",
    "PreparationReport",
    "PreparedDatasets",
    "PreviousDataset",
    "SourceCount",
    "apply_aliases",
    "concat_new_data",
    "drop_duplicates",
    "ensure_intent_column",
    "pick_first_tags",
    "prepare_datasets",
    "remove_intents",
    "split_new_data",
    "text_keys",
]

TAG = "tag"  # the intent of a row in the project's datasets (the reference's column)
INTENT = "intent"  # test sets: the deployed model's prediction (the reference's ``slu test`` reads it)
TAGGED_INTENT = "intent_y"  # our tagged CSVs: the first intent, already read from the annotation
PREDICTION = "raw.intent"  # our tagged CSVs: the prediction the call was made with


class DatasetPreparationError(SkitPipelinesError, ValueError):
    """The datasets cannot be prepared (no new rows, a bad option, no intent left); the message says why."""


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


# ------------------------------------------------------------------------------------------ report


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
            f"{self.evaluation_rows:,} evaluation rows, {len(self.intents)} intents"
        )
        return out

    def summary(self) -> str:
        """One line naming the data sources and the result (the commit message's subject material)."""
        names = ", ".join(source.name for source in self.sources) or "no new source"
        return (
            f"{self.new_rows:,} new rows from {names}; "
            f"{self.train_rows:,} train / {self.test_rows:,} test rows, {len(self.intents)} intents"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON outputs and run records)."""
        return asdict(self)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(
        f"{name}: {count:,}" for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


@dataclass
class PreparedDatasets:
    """The next ``train.csv`` and ``test.csv``, the rows to evaluate on, and the report of how they came."""

    train: pd.DataFrame
    test: pd.DataFrame
    evaluation: pd.DataFrame
    report: PreparationReport


# ------------------------------------------------------------------------------------------ steps


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0].copy()


def text_keys(frame: pd.DataFrame) -> pd.Series:
    """The text of every row: its first non-empty column of :data:`~skit_pipelines.features.TEXT_SOURCES`.

    Row by row rather than one column for the frame, because combined datasets may hold old rows whose
    text is in ``data`` and new ones whose text is in ``alternatives``. Missing text is ``""``.
    """
    columns = [c for c in TEXT_SOURCES if c in frame.columns]
    if not columns or frame.empty:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    keys = pd.Series("", index=frame.index, dtype=object)
    for column in reversed(columns):  # the earliest column with text wins
        values = frame[column]
        text = values.astype(str)
        present = values.notna() & (text.str.strip() != "")
        keys = text.where(present, keys)
    return keys.astype(object)


def _check_text(frame: pd.DataFrame, name: str) -> None:
    if len(frame) and not any(c in frame.columns for c in TEXT_SOURCES):
        raise DatasetPreparationError(
            f"{name}: none of the text columns {', '.join(TEXT_SOURCES)} is present "
            f"(columns: {', '.join(map(str, frame.columns[:12]))}{'…' if len(frame.columns) > 12 else ''}); "
            "expected a tagged dataset CSV (fetch_tagged_calls_dataset) or an SLU train.csv"
        )


def pick_first_tags(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, SourceCount]:
    """``tag`` replaced by its first intent; rows without one dropped and counted by reason."""
    if frame.empty:
        return frame.copy(), SourceCount(name, 0, 0)
    _check_text(frame, name)
    out = frame.copy()
    if TAG in out.columns:
        labels, reasons = intents_from_tags(out[TAG])
    elif TAGGED_INTENT in out.columns:
        raw = out[TAGGED_INTENT].astype(object)
        missing = raw.isna() | (raw.astype(str).str.strip() == "")
        labels = raw.where(~missing, None)
        reasons = Counter({"empty intent_y": int(missing.sum())}) if missing.any() else Counter()
    else:
        raise DatasetPreparationError(
            f"{name}: no {TAG!r} column (nor {TAGGED_INTENT!r}) to read the intent from; "
            f"columns: {', '.join(map(str, frame.columns[:12]))}"
        )
    keep = labels.notna()
    out[TAG] = labels.map(lambda v: None if v is None else str(v).strip())
    keep &= out[TAG].fillna("") != ""
    several = int(reasons.get(SEVERAL, 0))
    dropped = {reason: count for reason, count in reasons.items() if reason != SEVERAL and count}
    unexplained = int((~keep).sum()) - sum(dropped.values())
    if unexplained > 0:
        dropped["blank intent"] = unexplained
    out = out[keep].reset_index(drop=True)
    return out, SourceCount(name, len(frame), len(out), dropped, several)


def concat_new_data(
    sources: Sequence[tuple[str, pd.DataFrame]],
) -> tuple[pd.DataFrame, list[SourceCount]]:
    """The new rows of every source, first tag picked, in source order; no row at all is an error."""
    if not sources or all(frame.empty for _name, frame in sources):
        named = ", ".join(name for name, _frame in sources) or "none given"
        raise DatasetPreparationError(
            f"no new data to train on: every source is empty ({named}); give labelstudio_project_ids / "
            "job_ids with annotations in the date range, or a dataset_path CSV with rows"
        )
    frames, counts = [], []
    for name, frame in sources:
        picked, count = pick_first_tags(frame, name)
        counts.append(count)
        if not picked.empty:
            frames.append(picked)
    if not frames:
        detail = "; ".join(count.line() for count in counts)
        raise DatasetPreparationError(f"no new row has an intent: {detail}")
    return pd.concat(frames, ignore_index=True, sort=False), counts


def split_new_data(
    frame: pd.DataFrame, percent: int, *, stratify: bool = False, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(train, test, rows of single-row intents put in train): ``percent`` % of the rows train.

    Counts are whole rows: ``train = rows * percent // 100`` (of the stratifiable rows when stratified),
    computed in integers so that 29 % of 100 rows is 29, not 28 as ``0.29 * 100`` rounds down to. The
    train side is rounded down, so below 100 % at least one row is tested.
    Rows keep their input order within each side, so the same inputs and seed give the same files.
    """
    if percent >= 100 or frame.empty:
        return frame.reset_index(drop=True), _empty_like(frame), 0
    aside = _empty_like(frame)
    rest = frame
    if stratify:
        sizes = frame[TAG].map(frame[TAG].value_counts())
        aside, rest = frame[sizes < 2], frame[sizes >= 2]
    rows = len(rest)
    n_train = rows * percent // 100
    n_test = rows - n_train
    if n_train == 0:  # too few rows for the share: every one is tested (or there is none)
        train, test = _empty_like(frame), rest
    else:
        try:
            from sklearn.model_selection import train_test_split
        except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency of the slu extra
            raise DatasetPreparationError(
                "splitting needs scikit-learn: pip install 'skit-pipelines[slu]'"
            ) from exc
        try:
            train_pos, test_pos = train_test_split(
                np.arange(rows),
                train_size=n_train,
                test_size=n_test,
                random_state=seed,
                stratify=rest[TAG].to_numpy() if stratify else None,
            )
        except ValueError as exc:
            raise DatasetPreparationError(
                f"cannot split {rows:,} rows of {rest[TAG].nunique()} intents stratified into {n_train:,} "
                f"train and {n_test:,} test rows ({exc}); set stratify=false, or a train_split_percent that "
                "leaves at least one row of every intent on each side"
            ) from None
        train = rest.iloc[np.sort(train_pos)]
        test = rest.iloc[np.sort(test_pos)]
    if len(aside):
        train = pd.concat([train, aside]).sort_index(kind="stable")
    return train.reset_index(drop=True), test.reset_index(drop=True), len(aside)


def apply_aliases(
    frame: pd.DataFrame, aliases: Mapping[str, Sequence[str]]
) -> tuple[pd.DataFrame, Counter[str]]:
    """Every intent listed under an alias renamed to the alias; returns the rows renamed per alias."""
    if frame.empty or not aliases:
        return frame, Counter()
    renamed = pd.Series(apply_alias(frame[TAG], aliases), index=frame.index, dtype=object)
    changed = renamed != frame[TAG]
    out = frame.copy()
    out[TAG] = renamed
    return out, Counter(renamed[changed].tolist())


def remove_intents(frame: pd.DataFrame, intents: Sequence[str]) -> tuple[pd.DataFrame, Counter[str]]:
    """Rows whose intent is in ``intents`` removed; returns the rows removed per intent."""
    if frame.empty or not intents:
        return frame, Counter()
    drop = frame[TAG].isin(set(intents))
    return frame[~drop].reset_index(drop=True), Counter(frame.loc[drop, TAG].tolist())


def drop_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The first of each group of rows with identical text and tag (:func:`text_keys`); and how many went."""
    if frame.empty:
        return frame, 0
    keys = pd.DataFrame({"text": text_keys(frame), TAG: frame[TAG].astype(object)})
    duplicate = keys.duplicated(keep="first")
    return frame[~duplicate].reset_index(drop=True), int(duplicate.sum())


def ensure_intent_column(frame: pd.DataFrame) -> pd.DataFrame:
    """A test set with the ``intent`` column the evaluation reads (spec 7.3 k).

    Rows without an ``intent`` take ``raw.intent`` (the prediction in our tagged CSVs) when there is one,
    else ``""``: combined test sets mix old rows that have ``intent`` with new rows that have ``raw.intent``.
    """
    out = frame.copy()
    intent = out[INTENT] if INTENT in out.columns else pd.Series(None, index=out.index, dtype=object)
    missing = intent.isna() | (intent.astype(str).str.strip() == "")
    if PREDICTION in out.columns:
        intent = intent.where(~missing, out[PREDICTION])
    out[INTENT] = intent.where(intent.notna(), "")
    return out


def _labels(*frames: pd.DataFrame) -> set[str]:
    return {str(v) for f in frames if not f.empty for v in f[TAG].dropna().unique()}


def _prepare_old(frame: pd.DataFrame | None, name: str) -> pd.DataFrame | None:
    """A previous dataset as stored: plain intents in ``tag`` (blank tags are an error in a stored file)."""
    if frame is None:
        return None
    if len(frame) and TAG not in frame.columns:
        raise DatasetPreparationError(
            f"{name}: no {TAG!r} column; the project's datasets name the intent 'tag'"
        )
    out = frame.reset_index(drop=True)
    if len(out):
        out = out.copy()
        out[TAG] = out[TAG].map(lambda v: None if v is None or pd.isna(v) else str(v).strip())
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

    old_train = _prepare_old(previous.train, "previous train.csv") if previous is not None else None
    old_test = _prepare_old(previous.test, "previous test.csv") if previous is not None else None
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
        test = custom if custom is not None else _empty_like(new)
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
