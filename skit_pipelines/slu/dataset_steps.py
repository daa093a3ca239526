"""The steps of dataset preparation, one function each (the order and the rules: :mod:`.dataset_prep`).

Each step takes frames and returns frames plus what it did (counts), so the orchestrator can fill the
:class:`~skit_pipelines.slu.prep_report.PreparationReport` and tests can check a rule on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.features import TEXT_SOURCES
from skit_pipelines.metrics.intent.scores import apply_alias
from skit_pipelines.metrics.tags import SEVERAL, intents_from_tags
from skit_pipelines.slu.prep_report import SourceCount

__all__ = [
    "INTENT",
    "PREDICTION",
    "TAG",
    "TAGGED_INTENT",
    "DatasetPreparationError",
    "apply_aliases",
    "concat_new_data",
    "drop_duplicates",
    "empty_like",
    "ensure_intent_column",
    "pick_first_tags",
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


def empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """No rows, the same columns (so an empty side still concatenates and writes a CSV with a header)."""
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
        return frame.reset_index(drop=True), empty_like(frame), 0
    aside = empty_like(frame)
    rest = frame
    if stratify:
        sizes = frame[TAG].map(frame[TAG].value_counts())
        aside, rest = frame[sizes < 2], frame[sizes >= 2]
    rows = len(rest)
    n_train = rows * percent // 100
    n_test = rows - n_train
    if n_train == 0:  # too few rows for the share: every one is tested (or there is none)
        train, test = empty_like(frame), rest
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
