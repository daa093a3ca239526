"""The true intent of a tagged turn, read from its raw annotation JSON (spec 2.4), with counts of odd shapes.

Why counts: the reference's ``pick_1st_tag`` returned None for any shape it did not expect and kept only
the first of several labels, both silently (spec 14 item 15). Here every row gets a truth or a reason,
and :func:`intents_from_tags` returns how many rows had each kind of oddity so the pipeline reports them.

Accepted shapes (after decoding JSON once or twice, for double-encoded tags):

- a plain string that is not JSON (Label Studio exports already flattened to the intent) → itself;
- a Label Studio annotation ``result`` (the ``tag`` column of our download: items naming their control
  in ``from_name``) → the intent control's labels, read by the download's own reader
  (:func:`skit_pipelines.annotation.flatten.read_answers`), so gold flags and entity spans in the same
  result are never taken for the intent; a result of another label config (no item of the intent control)
  falls back to the choices of each item;
- one result item ``{"from_name", "type", "value"}`` → the choices of its value (its ``type`` is the kind
  of control, never a label: reading it as ``{"type": "x"}`` made every Label Studio row ``choices``);
- ``{"choices": ["x", ...]}`` → ``x``; ``{"taxonomy": [["x", ...]]}`` → ``x`` (both read by
  :func:`~skit_pipelines.annotation.flatten.choice_labels`, the download's reader);
- ``{"type": "x"}`` (tog) → ``x``; ``{"value": {...}}`` → the labels of its value;
- a list of the above → its first element that yields a label (the others are counted as extra labels);
- a JSON scalar such as ``123`` or ``true`` → its text (the reference returned None for these).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from skit_pipelines.annotation.flatten import choice_labels, is_result_item, read_answers

log = logging.getLogger(__name__)

__all__ = ["MISSING_LABEL", "TagParse", "intents_from_tags", "parse_tag", "pick_1st_tag"]

MISSING_LABEL = "_"  # eevee's spelling of "no label" (spec 2.4)

# Reasons a row's truth is missing or partial; the keys of ``TagParse.reasons`` and the outputs' counts.
EMPTY = "empty tag"
UNEXPECTED = "tag of unexpected shape"
SEVERAL = "tag with several labels (first kept)"


@dataclass(frozen=True)
class TagParse:
    """One tag: its first label (None when there is none) and what was odd about it."""

    label: str | None
    issue: str = ""
    labels: tuple[str, ...] = field(default=())


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        return value  # not JSON: an already-flattened label
    if isinstance(decoded, str):  # double-encoded JSON, or a JSON string literal
        try:
            return json.loads(decoded)
        except json.JSONDecodeError:
            return decoded
    if decoded is None or isinstance(decoded, (list, dict)):
        return decoded
    return text  # JSON scalar (123, true): the label is its text


def _labels_of(item: Any) -> list[str]:
    """Every label one annotation item holds, in order."""
    if item is None:
        return []
    if isinstance(item, str):
        return [item] if item.strip() else []  # kept as given (spaces too), as the reference did
    if isinstance(item, (int, float, bool)):
        return [str(item)]
    if isinstance(item, list):
        if any(is_result_item(element) for element in item):
            # A Label Studio annotation result: the intent is what the intent control holds, read as the
            # download reads it (gold flags and entity spans are other controls, not labels).
            intents = read_answers([e for e in item if is_result_item(e)]).intents
            if intents:
                return intents
        return [label for element in item for label in _labels_of(element)]
    if isinstance(item, dict):
        if is_result_item(item):  # one Label Studio result item: its "type" names the control, not a label
            return choice_labels(item["value"])
        if "choices" in item or "taxonomy" in item:
            return choice_labels(item)
        if "type" in item:
            return _labels_of(item["type"])
        if "value" in item:
            return _labels_of(item["value"])
    return []


def parse_tag(tag: Any) -> TagParse:
    """The first label of a raw tag and what was odd about the tag (see the module docstring)."""
    if tag is None or (isinstance(tag, float) and pd.isna(tag)):
        return TagParse(None, EMPTY)
    decoded = _decode(tag)
    if decoded is None or decoded == [] or decoded == {}:
        return TagParse(None, EMPTY)
    labels = _labels_of(decoded)
    if not labels:
        return TagParse(None, UNEXPECTED)
    return TagParse(labels[0], SEVERAL if len(set(labels)) > 1 else "", tuple(labels))


def pick_1st_tag(tag: Any) -> str | None:
    """The first intent of a raw tag, or None (the reference's helper, made robust)."""
    return parse_tag(tag).label


def intents_from_tags(tags: pd.Series) -> tuple[pd.Series, Counter[str]]:
    """The first intent of every tag (None where there is none) and the count of each oddity.

    Distinct tag strings are parsed once, so a large export with few distinct tags is cheap.
    """
    codes, uniques = pd.factorize(tags, use_na_sentinel=True)
    parsed = [parse_tag(value) for value in uniques]
    labels = pd.Series([p.label for p in parsed] + [None], dtype=object).to_numpy()[codes]
    reasons: Counter[str] = Counter()
    per_unique = Counter(codes.tolist())
    for code, count in per_unique.items():
        issue = EMPTY if code < 0 else parsed[code].issue
        if issue:
            reasons[issue] += count
    if reasons:
        log.warning("tags: %s", ", ".join(f"{count} rows with {reason}" for reason, count in reasons.items()))
    return pd.Series(labels, index=tags.index, dtype=object), reasons
