"""A generated conversation: its turns, how an answer is read into them, and what makes one valid.

Why a strict reader: an LLM answer is text someone will annotate and maybe train on. An answer that cannot
be read as BOT/USER turns, that names a third speaker, or that is too short or too long to be a call is
*counted and reported* (with the reason), never uploaded; it is not repaired, because a repaired
conversation is not what the model said.

Speakers are the labels of the compliance transcripts (``BOT`` / ``USER``), so a generated conversation
reads like a real call's transcript and can be judged the same way. Common synonyms a model uses (agent,
customer, debtor, ...) are mapped to them; anything else is an unknown speaker.

A conversation's identity (:func:`conversation_key`) is the SHA-256 of its situation id and its turns: the
same conversation generated twice (the template generator always, an LLM at temperature 0 often) is one row
and one Label Studio task, however many times the pipeline runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skit_pipelines.errors import SkitPipelinesError

__all__ = [
    "BOT",
    "USER",
    "ConversationFormatError",
    "ConversationLimits",
    "Generated",
    "Turn",
    "call_text",
    "check_turns",
    "conversation_key",
    "parse_turns",
    "read_output",
]

BOT, USER = "BOT", "USER"

SPEAKER_ALIASES: dict[str, str] = {
    **dict.fromkeys(("bot", "agent", "assistant", "voicebot", "collector", "representative"), BOT),
    **dict.fromkeys(("user", "customer", "caller", "debtor", "borrower", "client"), USER),
}
"""Lower-cased speaker labels read as BOT or USER; every other label is an unknown speaker."""

_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z _-]{0,30}?)\s*:\s*(.*)$")


class ConversationFormatError(SkitPipelinesError, ValueError):
    """An answer that cannot be read as turns at all (the reason is what gets reported)."""


@dataclass(frozen=True)
class ConversationLimits:
    """Length bounds of a valid conversation (turns, and characters of one turn)."""

    min_turns: int = 4
    max_turns: int = 60
    max_turn_chars: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.min_turns <= self.max_turns:
            raise ValueError(f"need 1 <= min_turns <= max_turns, got {self.min_turns}, {self.max_turns}")


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str


def _speaker(label: Any) -> str:
    """BOT, USER, or the label as given (an unknown speaker, reported by :func:`check_turns`)."""
    text = str(label if label is not None else "").strip()
    return SPEAKER_ALIASES.get(text.lower(), text)


def _from_lines(text: str) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for number, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        if line.strip() in ("<call>", "</call>"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConversationFormatError(f"line {number} has no speaker label ('BOT: ...' / 'USER: ...')")
        turns.append(Turn(_speaker(match[1]), match[2].strip()))
    return tuple(turns)


def _from_items(items: Sequence[Any]) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, str):
            turns.extend(_from_lines(item))
            continue
        if not isinstance(item, Mapping):
            raise ConversationFormatError(f"turn {number} is a {type(item).__name__}, not an object")
        label = next((item[k] for k in ("speaker", "role", "name") if k in item), None)
        text = next((item[k] for k in ("text", "content", "utterance") if k in item), None)
        if label is None or text is None:
            raise ConversationFormatError(f"turn {number} needs a speaker and a text")
        turns.append(Turn(_speaker(label), str(text).strip()))
    return tuple(turns)


def parse_turns(answer: Any) -> tuple[Turn, ...]:
    """The turns of an answer: ``{"turns": [{"speaker", "text"}, ...]}`` (what the packaged prompt asks
    for), ``{"conversation": ...}`` holding such a list or ``BOT: ...`` lines, a bare list, or text lines.
    """
    if isinstance(answer, str):
        stripped = answer.strip()
        if stripped.startswith(("{", "[")):
            try:
                return parse_turns(json.loads(stripped))
            except ValueError:
                pass
        return _from_lines(answer)
    if isinstance(answer, Mapping):
        for key in ("turns", "conversation", "dialogue", "messages"):
            if key in answer:
                return parse_turns(answer[key])
        raise ConversationFormatError(
            f"no turns in the answer (keys: {', '.join(map(str, answer)) or 'none'}; expected 'turns')"
        )
    if isinstance(answer, Sequence):
        return _from_items(answer)
    raise ConversationFormatError(f"an answer of type {type(answer).__name__} holds no turns")


def check_turns(turns: Sequence[Turn], limits: ConversationLimits) -> list[str]:
    """Why these turns are not a valid conversation ([] when they are)."""
    problems: list[str] = []
    unknown = sorted({t.speaker for t in turns if t.speaker not in (BOT, USER)})
    if unknown:
        problems.append(f"unknown speaker(s) {', '.join(map(repr, unknown))} (expected {BOT} or {USER})")
    if not (limits.min_turns <= len(turns) <= limits.max_turns):
        problems.append(f"{len(turns)} turns (expected {limits.min_turns} to {limits.max_turns})")
    speakers = {t.speaker for t in turns}
    missing = [s for s in (BOT, USER) if s not in speakers]
    if turns and missing:
        problems.append(f"no {' or '.join(missing)} turn")
    empty = [str(n) for n, t in enumerate(turns, start=1) if not t.text]
    if empty:
        problems.append(f"empty turn(s) {', '.join(empty[:5])}")
    long = [str(n) for n, t in enumerate(turns, start=1) if len(t.text) > limits.max_turn_chars]
    if long:
        problems.append(f"turn(s) {', '.join(long[:5])} longer than {limits.max_turn_chars} characters")
    return problems


def call_text(turns: Sequence[Turn]) -> str:
    """What annotators read (the ``call`` column): one ``SPEAKER: text`` line per turn."""
    return "\n".join(f"{t.speaker}: {t.text}" for t in turns)


def conversation_key(situation_id: int, turns: Sequence[Turn]) -> str:
    """The identity of a conversation of a situation: hex SHA-256 of the id and the turns."""
    payload = json.dumps([situation_id, [[t.speaker, t.text] for t in turns]], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Generated:
    """One output of a generator for one situation: valid turns, or the problems that make it invalid.

    ``generator`` names what produced it (``template`` or ``llm``), ``model`` which one (the template
    generator's version, or the LLM's model name); ``raw`` is the answer as received (kept for invalid ones).
    """

    situation_id: int
    number: int
    generator: str
    model: str
    turns: tuple[Turn, ...] = ()
    problems: tuple[str, ...] = ()
    raw: str = ""
    tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def key(self) -> str:
        return conversation_key(self.situation_id, self.turns)

    @property
    def call(self) -> str:
        return call_text(self.turns)


def read_output(
    answer: Any,
    *,
    situation_id: int,
    number: int,
    generator: str,
    model: str,
    limits: ConversationLimits,
    raw: str = "",
    error: str = "",
    tokens: int = 0,
) -> Generated:
    """An answer (or the ``error`` that replaced it) read and checked into a :class:`Generated`."""
    common = dict(situation_id=situation_id, number=number, generator=generator, model=model, tokens=tokens)
    if error:
        return Generated(problems=(error,), raw=raw, **common)
    try:
        turns = parse_turns(answer)
    except ConversationFormatError as exc:
        return Generated(problems=(f"unreadable: {exc}",), raw=raw, **common)
    return Generated(turns=turns, problems=tuple(check_turns(turns, limits)), raw=raw, **common)
