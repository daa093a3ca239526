"""Model text from a turn's ASR n-best (spec 6.1), and the true intent of a tagged turn (spec 2.4).

Why this shape: an intent classifier sees more than the top transcript. Every ASR alternative is wrapped
in the checkpoint's own start/end tokens (``<s> … </s>`` for XLM-R, ``[CLS] … [SEP]`` for BERT-like
checkpoints) so the encoder sees where one hypothesis ends and the next begins, exactly as the reference
did for XLM-R; with ``use_state`` the bot's dialogue state is appended the same way, because the same words
mean different intents in different states. The separators come from the tokenizer rather than being
hard-coded so that any checkpoint (XLM-R, MiniLM, a local one) gets tokens it actually knows.

ASR columns arrive in several shapes depending on where a dataset came from (warehouse ``utterances``,
annotation ``alternatives``, a flattened ``data`` JSON, or a plain ``text`` column of a public dataset):
``[[{"transcript": …}, …]]``, ``[{"transcript": …}]``, ``["plain", "strings"]``, a JSON string of any of
those, or a bare string. All are accepted; rows whose alternatives are empty are counted and reported,
never dropped silently. Only the n-best columns (:data:`NBEST_SOURCES`) are decoded as JSON: a ``text``
cell is the sentence itself, so ``'"hello"'`` or ``'[1,2]'`` stay what the user wrote. Plain Python:
pandas only for the column plumbing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from skit_pipelines.asr_nbest import NbestMode, decode_json_cell, parse_nbest
from skit_pipelines.errors import SkitPipelinesError

#: Columns a turn's ASR alternatives are read from, in order of preference (spec 6.1 + plain text datasets).
TEXT_SOURCES = ("utterances", "alternatives", "data", "text")
#: The columns that hold an ASR n-best (JSON); any other text source is plain text, never decoded.
NBEST_SOURCES = ("utterances", "alternatives", "data")
STATE_COLUMN = "state"
TAG_COLUMN = "tag"


class FeatureError(SkitPipelinesError, ValueError):
    """A dataset cannot be turned into model text or labels; the message names the column and the fix."""


@dataclass(frozen=True)
class Separators:
    """The tokens that open and close one ASR alternative (the checkpoint's own special tokens)."""

    start: str = "<s>"
    end: str = "</s>"

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> Separators:
        """``bos``/``eos`` when the tokenizer has them (XLM-R, RoBERTa), else ``cls``/``sep`` (BERT)."""
        start = getattr(tokenizer, "bos_token", None) or getattr(tokenizer, "cls_token", None)
        end = getattr(tokenizer, "eos_token", None) or getattr(tokenizer, "sep_token", None)
        if not start or not end:
            raise FeatureError(
                f"tokenizer {type(tokenizer).__name__} has neither bos/eos nor cls/sep tokens: "
                "cannot separate ASR alternatives; use a checkpoint whose tokenizer defines them"
            )
        return cls(str(start), str(end))


@dataclass
class ModelTexts:
    """Model text for every row, and which rows had no ASR text at all (0-based positions)."""

    texts: list[str]
    source_column: str
    empty_rows: list[int] = field(default_factory=list)

    @property
    def empty_count(self) -> int:
        return len(self.empty_rows)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _from_data(value: Any, key: str) -> Any:
    decoded = decode_json_cell(value)
    return decoded.get(key) if isinstance(decoded, dict) else None


def model_text(alternatives: Sequence[str], state: str = "", separators: Separators = Separators()) -> str:
    """``"<s> alt1 </s> <s> alt2 </s>"`` plus ``" <s> state </s>"`` when ``state`` is given (spec 6.1)."""
    parts = [f"{separators.start} {alt} {separators.end}" for alt in alternatives]
    if state:
        parts.append(f"{separators.start} {state} {separators.end}")
    return " ".join(parts)


def text_source_column(frame: pd.DataFrame) -> str:
    """The first column of :data:`TEXT_SOURCES` present in ``frame``, or a FeatureError naming them."""
    for column in TEXT_SOURCES:
        if column in frame.columns:
            return column
    raise FeatureError(
        f"dataset has none of the ASR text columns {', '.join(TEXT_SOURCES)} "
        f"(it has {len(frame.columns)} other columns); expected a tagged or sampled calls CSV"
    )


def build_model_texts(frame: pd.DataFrame, separators: Separators, use_state: bool = False) -> ModelTexts:
    """Model text for every row of ``frame`` (same order, same length).

    With ``use_state`` the ``state`` column (or ``data.state``) is appended; a dataset without any state
    is an error then, because the model would silently learn something other than what was asked for.
    """
    column = text_source_column(frame)
    values = frame[column].tolist()
    if column == "data":
        alternatives = [
            parse_nbest(
                _from_data(v, "utterances") or _from_data(v, "alternatives"), NbestMode.ALL_ALTERNATIVES
            )
            for v in values
        ]
    elif column in NBEST_SOURCES:
        alternatives = [parse_nbest(v, NbestMode.ALL_ALTERNATIVES) for v in values]
    else:  # plain text: one alternative, the cell as written
        alternatives = [[] if _is_missing(v) or not str(v).strip() else [str(v).strip()] for v in values]
    if use_state:
        if STATE_COLUMN in frame.columns:
            states = ["" if _is_missing(s) else str(s).strip() for s in frame[STATE_COLUMN].tolist()]
        elif "data" in frame.columns:
            states = [str(_from_data(v, "state") or "").strip() for v in frame["data"].tolist()]
        else:
            raise FeatureError(
                f"use_state is true but the dataset has no {STATE_COLUMN!r} column: set use_state=false or "
                "use a dataset with the bot state of every turn"
            )
    else:
        states = [""] * len(values)
    texts = [model_text(alts, state, separators) for alts, state in zip(alternatives, states, strict=True)]
    empty = [i for i, alts in enumerate(alternatives) if not alts]
    return ModelTexts(texts=texts, source_column=column, empty_rows=empty)


# ------------------------------------------------------------------------------------------ true labels


def true_labels(frame: pd.DataFrame, label_column: str = "intent_y") -> list[str | None]:
    """The truth of every row: ``label_column`` when present, else derived from ``tag`` (spec 2.4).

    Raises a FeatureError naming ``label_column`` when neither column exists.
    """
    if label_column in frame.columns:
        return [None if _is_missing(v) or not str(v).strip() else str(v).strip() for v in frame[label_column]]
    if TAG_COLUMN in frame.columns:
        from skit_pipelines.metrics.tags import intents_from_tags  # the one tag parser (spec 2.4)

        labels, _reasons = intents_from_tags(frame[TAG_COLUMN])  # odd tags are counted and logged there
        return [None if label is None else str(label) for label in labels]
    raise FeatureError(
        f"dataset has no label column {label_column!r} (nor a {TAG_COLUMN!r} column to derive it from); "
        f"it has {len(frame.columns)} other columns"
    )
