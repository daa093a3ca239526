"""A tagged dataset (spec 2.3) as evaluation input: ids, truth, prediction, and a count of every oddity.

Why a module of its own: the metric functions take clean label arrays; everything a real export throws at
them (a missing column, an empty file, untagged rows, raw tag JSON instead of an intent, several labels on
one turn, duplicate conversations) is dealt with here, once, and *counted*. Nothing is dropped silently:
missing labels are counted as eevee's ``_`` (the reference's semantics) and reported with the reason.

The dataset's description for the metrics table (the reference's ``extract_info_from_dataset``: language,
number of calls and turns, call and tagging date ranges) is read here too.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from skit_pipelines.asr_nbest import NbestMode, parse_nbest
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.metrics.tags import MISSING_LABEL, SEVERAL, intents_from_tags
from skit_pipelines.read_errors import content_free_reason

log = logging.getLogger(__name__)

__all__ = [
    "DatasetInfo",
    "IntentData",
    "InvalidDatasetError",
    "dataset_info",
    "intent_data",
    "read_tagged_csv",
]

ID_COLUMNS = ("id", "data_id")
TEXT_COLUMNS = ("alternatives", "raw.utterances", "utterances", "raw.alternatives")
PLAIN_TEXT_COLUMNS = ("text", "utterance", "raw.primary_utterance", "primary_utterance")
SCORE_COLUMNS = ("raw.intent_score", "intent_score", "confidence")
PREDICTION_JSON_COLUMNS = ("raw.prediction", "prediction")


class InvalidDatasetError(SkitPipelinesError, ValueError):
    """The dataset cannot be evaluated; the message names the column or the problem and what was expected."""


@dataclass
class IntentData:
    """Aligned evaluation rows. ``frame`` has ``id``, ``true``, ``predicted`` (labels, missing ones as ``_``)
    and the source row position ``row``; ``issues`` maps a reason to its row count."""

    frame: pd.DataFrame
    source: pd.DataFrame
    true_column: str
    pred_column: str
    issues: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.frame)

    def issue_lines(self) -> list[str]:
        return [f"{count} rows: {reason}" for reason, count in self.issues.items() if count]


def read_tagged_csv(path: str | Path) -> pd.DataFrame:
    """Read a tagged CSV keeping every cell as text (only empty cells are missing: an intent called ``NA``
    or ``null`` stays a label). A file that is not a CSV is an error that says where, never what (the
    parser's own message may quote the file)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise InvalidDatasetError(f"dataset {path} is empty: expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidDatasetError(
            f"dataset {path} is not a readable CSV: {content_free_reason(exc)}"
        ) from None
    return frame


# Column names this tool knows; only these are ever named back from a dataset's header (issue 11.1: the
# header of a file that is not the dataset the caller meant must not reach the run's error).
KNOWN_COLUMNS = (
    *ID_COLUMNS,
    *TEXT_COLUMNS,
    *PLAIN_TEXT_COLUMNS,
    *SCORE_COLUMNS,
    *PREDICTION_JSON_COLUMNS,
    "intent_x",
    "intent_y",
    "intent",
    "raw.intent",
    "tag",
)


def _missing_column(frame: pd.DataFrame, column: str, parameter: str) -> InvalidDatasetError:
    header = [str(c) for c in frame.columns]
    known = [c for c in dict.fromkeys((*KNOWN_COLUMNS, column)) if c in header and c != column]
    close = difflib.get_close_matches(column, known, n=3, cutoff=0.5)
    hint = f"; similar columns: {', '.join(close)}" if close else ""
    shown = f"; known columns present: {', '.join(known)}" if known else ""
    return InvalidDatasetError(
        f"column {column!r} ({parameter}) is not in the dataset{hint} "
        f"(the dataset has {len(header)} columns{shown})"
    )


def _clean_labels(values: pd.Series, normalise: bool = False) -> pd.Series:
    """Labels (object dtype) with empty cells as None.

    By default labels are kept exactly as given, as the reference did: `` greet`` and ``greet`` are two
    labels, and the number ``5`` and the text ``"5"`` are not merged (they cannot be told apart in a
    report, so the evaluation refuses them). ``normalise`` turns every label into stripped text, so those
    pairs become one label and a blank cell is missing.
    """
    if normalise:
        text = values.astype("string").str.strip()
        text = text.mask(text == "")
        return text.astype(object).where(text.notna(), None)
    labels = values.astype(object)
    missing = labels.isna() | (labels == "")
    return labels.where(~missing, None)


def intent_data(
    frame: pd.DataFrame,
    true_label_column: str = "intent_y",
    pred_label_column: str = "raw.intent",
    *,
    normalise_labels: bool = False,
) -> IntentData:
    """Truth and prediction of every row of a tagged dataset, with a count of each oddity.

    Labels are kept as given unless ``normalise_labels`` (see :func:`_clean_labels`).

    - the truth is ``true_label_column``; when that column is absent (or is ``tag``) it is derived from
      the raw ``tag`` JSON with :func:`~skit_pipelines.metrics.tags.pick_1st_tag`;
    - missing truths and predictions are counted as ``_`` (the reference's semantics) and reported;
    - an empty dataset, a missing column, or a side with no label at all is an error naming it.
    """
    if frame.empty or len(frame) == 0:
        raise InvalidDatasetError("the dataset has no rows: nothing to evaluate")
    issues: Counter[str] = Counter()
    notes: list[str] = []
    explained = 0  # missing truths already counted under a reason of their tag

    if pred_label_column not in frame.columns:
        raise _missing_column(frame, pred_label_column, "pred_label_column")
    if true_label_column in frame.columns and true_label_column != "tag":
        truth = _clean_labels(frame[true_label_column], normalise_labels)
    elif "tag" in frame.columns:
        if true_label_column != "tag":
            notes.append(f"column {true_label_column!r} absent: the truth is the first label of 'tag'")
            log.info(notes[-1])
        labels, reasons = intents_from_tags(frame["tag"])
        truth = _clean_labels(labels, normalise_labels)
        for reason, count in reasons.items():
            issues[reason if reason == SEVERAL else f"{reason} (counted as {MISSING_LABEL!r})"] += count
        explained = sum(count for reason, count in reasons.items() if reason != SEVERAL)
    else:
        raise _missing_column(frame, true_label_column, "true_label_column (or a raw 'tag' column)")
    pred = _clean_labels(frame[pred_label_column], normalise_labels)

    n = len(frame)
    true_missing = int(truth.isna().sum())
    pred_missing = int(pred.isna().sum())
    if true_missing == n:
        raise InvalidDatasetError(
            f"column {true_label_column!r} has no label in any of the {n} rows: nothing to evaluate "
            "(is it the right true_label_column?)"
        )
    if pred_missing == n:
        raise InvalidDatasetError(
            f"column {pred_label_column!r} has no label in any of the {n} rows: nothing to evaluate "
            "(is it the right pred_label_column?)"
        )
    if true_missing > explained:
        issues[f"no true label (counted as {MISSING_LABEL!r})"] += true_missing - explained
    if pred_missing:
        issues[f"no predicted label (counted as {MISSING_LABEL!r})"] += pred_missing

    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_column is None:
        ids = pd.Series(np.arange(n).astype(str), index=frame.index, dtype=object)
        issues["no id column (id or data_id): row numbers used as ids"] += n
    else:
        ids = frame[id_column].astype(object)
        missing_ids = int(ids.isna().sum())
        if missing_ids:
            issues[f"no {id_column} (row number used)"] += missing_ids
            ids = ids.where(ids.notna(), pd.Series(np.arange(n).astype(str), index=frame.index))
        duplicated = int(ids.duplicated().sum())
        if duplicated:
            issues[f"duplicate {id_column} (each row evaluated)"] += duplicated

    out = pd.DataFrame(
        {
            "row": np.arange(n, dtype=np.int64),
            "id": ids.to_numpy(dtype=object),
            "true": truth.fillna(MISSING_LABEL).to_numpy(dtype=object),
            "predicted": pred.fillna(MISSING_LABEL).to_numpy(dtype=object),
        }
    )
    for reason, count in issues.items():
        if count:
            log.warning("%d rows: %s", count, reason)
    return IntentData(
        frame=out,
        source=frame.reset_index(drop=True),
        true_column=true_label_column,
        pred_column=pred_label_column,
        issues=issues,
        notes=notes,
    )


# ----------------------------------------------------------------------------------- text, confidence


def _score_from_prediction(value: Any) -> float:
    try:
        data = json.loads(value) if isinstance(value, str) else value
        intents = data.get("intents") if isinstance(data, dict) else None
        if intents:
            return float(intents[0].get("score"))
        if isinstance(data, dict) and "score" in data:
            return float(data["score"])
    except (TypeError, ValueError, AttributeError, json.JSONDecodeError):
        pass
    return math.nan


def texts(source: pd.DataFrame, rows: np.ndarray) -> list[str] | None:
    """The text of the given rows (first transcript of the n-best, or a plain text column), if any."""
    column = next((c for c in TEXT_COLUMNS if c in source.columns), None)
    if column is not None:
        return [
            parse_nbest(v, NbestMode.FIRST_TRANSCRIPT) for v in source[column].to_numpy(dtype=object)[rows]
        ]
    column = next((c for c in PLAIN_TEXT_COLUMNS if c in source.columns), None)
    if column is not None:
        return ["" if pd.isna(v) else str(v) for v in source[column].to_numpy(dtype=object)[rows]]
    return None


def confidences(source: pd.DataFrame, rows: np.ndarray, pred_column: str = "") -> np.ndarray | None:
    """Confidence of the prediction for the given rows: ``<pred_column>_confidence`` (a model's
    ``intent_x_confidence``) when present, else ``raw.intent_score`` or the score in ``raw.prediction``."""
    own = f"{pred_column}_confidence" if pred_column else ""
    column = own if own in source.columns else next((c for c in SCORE_COLUMNS if c in source.columns), None)
    if column is not None:
        return pd.to_numeric(source[column].iloc[rows], errors="coerce").to_numpy(dtype=np.float64)
    column = next((c for c in PREDICTION_JSON_COLUMNS if c in source.columns), None)
    if column is not None:
        return np.asarray(
            [_score_from_prediction(v) for v in source[column].to_numpy(dtype=object)[rows]], dtype=np.float64
        )
    return None


def errors_table(data: IntentData, true_labels: np.ndarray, pred_labels: np.ndarray) -> pd.DataFrame:
    """Rows where the (possibly aliased) truth and prediction differ: id, text, true, predicted, and the
    confidence when the dataset has one; ``true_original``/``predicted_original`` when aliasing changed
    a label."""
    wrong = np.flatnonzero(true_labels != pred_labels)
    rows = data.frame["row"].to_numpy()[wrong]
    table = pd.DataFrame({"id": data.frame["id"].to_numpy(dtype=object)[wrong]})
    text = texts(data.source, rows)
    if text is not None:
        table["text"] = text
    table["true"] = true_labels[wrong]
    table["predicted"] = pred_labels[wrong]
    original_true = data.frame["true"].to_numpy(dtype=object)[wrong]
    original_pred = data.frame["predicted"].to_numpy(dtype=object)[wrong]
    renamed = (original_true != table["true"].to_numpy()) | (original_pred != table["predicted"].to_numpy())
    if renamed.any():
        table["true_original"] = original_true
        table["predicted_original"] = original_pred
    scores = confidences(data.source, rows, data.pred_column)
    if scores is not None:
        table["confidence"] = scores
    return table


def predictions_table(data: IntentData, true_labels: np.ndarray, pred_labels: np.ndarray) -> pd.DataFrame:
    """Every evaluated row: id, text, true, predicted, correct, the confidence and the top-k alternatives
    (``<pred_column>_top_k``) when the dataset has them: the per-example view behind the aggregate scores."""
    rows = data.frame["row"].to_numpy()
    table = pd.DataFrame({"id": data.frame["id"].to_numpy(dtype=object)})
    text = texts(data.source, rows)
    if text is not None:
        table["text"] = text
    table["true"] = true_labels
    table["predicted"] = pred_labels
    table["correct"] = true_labels == pred_labels
    scores = confidences(data.source, rows, data.pred_column)
    if scores is not None:
        table["confidence"] = scores
    top_k = f"{data.pred_column}_top_k"
    if top_k in data.source.columns:
        table["top_k"] = data.source[top_k].to_numpy(dtype=object)[rows]
    return table


# ---------------------------------------------------------------------------------- dataset info


@dataclass(frozen=True)
class DatasetInfo:
    """What the metrics table records about the evaluated dataset (the reference's extract_info)."""

    language: str | None
    n_calls: int | None
    n_turns: int
    calls_from_date: dt.datetime | None
    calls_to_date: dt.datetime | None
    tagged_from_date: dt.datetime | None
    tagged_to_date: dt.datetime | None
    duplicate_turns: int = 0


def _first_present(frame: pd.DataFrame, *columns: str) -> str | None:
    return next((c for c in columns if c in frame.columns and frame[c].notna().any()), None)


def _time_range(values: pd.Series, zone: ZoneInfo) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Earliest and latest time; offsets in the data are kept, naive times are taken in ``zone``."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return None, None
    has_offset = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    moments = []
    if has_offset.any():
        moments.append(pd.to_datetime(text[has_offset], utc=True, format="ISO8601", errors="coerce"))
    if (~has_offset).any():
        naive = pd.to_datetime(text[~has_offset], format="ISO8601", errors="coerce")
        moments.append(
            naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
        )
    parsed = pd.concat(moments).dropna()
    if parsed.empty:
        return None, None
    return (parsed.min().to_pydatetime().astimezone(zone), parsed.max().to_pydatetime().astimezone(zone))


def dataset_info(frame: pd.DataFrame, timezone: str = "UTC") -> DatasetInfo:
    """Language, number of calls and turns, and date ranges of a tagged dataset."""
    zone = ZoneInfo(timezone or "UTC")
    language_column = _first_present(frame, "raw.language", "language")
    language = str(frame[language_column].dropna().iloc[0]) if language_column else None
    call_column = _first_present(frame, "raw.call_uuid", "call_uuid")
    n_calls = int(frame[call_column].nunique()) if call_column else None
    turn_column = _first_present(frame, "raw.conversation_uuid", "conversation_uuid", "data_id")
    n_turns = int(frame[turn_column].nunique()) if turn_column else len(frame)
    duplicates = int(frame[turn_column].dropna().duplicated().sum()) if turn_column else 0
    if duplicates:
        log.warning("%d rows repeat a turn already in the dataset (%s)", duplicates, turn_column)
    reftime = _first_present(frame, "reftime", "raw.reftime")
    calls_range = _time_range(frame[reftime], zone) if reftime else (None, None)
    tagged = _first_present(frame, "tagged_time")
    tagged_range = _time_range(frame[tagged], zone) if tagged else (None, None)
    return DatasetInfo(
        language=language,
        n_calls=n_calls,
        n_turns=n_turns,
        calls_from_date=calls_range[0],
        calls_to_date=calls_range[1],
        tagged_from_date=tagged_range[0],
        tagged_to_date=tagged_range[1],
        duplicate_turns=duplicates,
    )
