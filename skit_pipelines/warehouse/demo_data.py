"""A realistic, deterministic demo call warehouse: what `make demo` and the tests sample from.

Why it is shaped like this:

- **Every pipeline needs a warehouse to read.** Without production access, users and tests still need calls
  that look like a voicebot's: several clients in several timezones and languages, inbound and outbound
  flows, noisy ASR n-best lists, and production SLU predictions that are sometimes wrong. Sampling, tagging,
  evaluation and reporting demos are only convincing on data with that texture.
- **Conversations, not random rows.** Each call walks a per-flow dialogue state machine (GREETING,
  IDENTITY_CHECK, COF, PAYMENT_DATE, ...). The caller's true intent is drawn from what makes sense in the
  current state, the next state follows from it, and the call's disposition and end status follow from
  the path. So a `states=COF` or `intents=inform_pay_later` filter returns turns that read coherently.
- **Ground truth travels with the data.** The production prediction is wrong at ``wrong_rate`` with a
  plausible confusion (``inform_pay_later`` is mistaken for ``ask_for_installment`` far more often than
  ``_confirm_`` for ``_cancel_``), and the truth is kept in each turn's ``context`` (``demo_true_intent``,
  ``demo_true_entities``, ``demo_transcript``), so evaluation demos have real errors to find and a key to
  check them against. The debt-collection audit flow (``debt_audit.yaml``, client 106) walks scripts instead
  of a state machine: each script fixes what the bot discloses and when, and every turn of its calls carries
  the call's compliance label (``demo_compliance``: breach or not, and which case), for judging the judges.
- **Deterministic.** Everything, uuids included, comes from one seeded :class:`random.Random`: the same seed
  and arguments write identical rows, so tests can assert exact values and a bug report can name a seed.
  The wall clock is only read to default ``now``, where the data ends: no call lies in the future.
- **Never somebody else's data.** A database it writes is marked as demo data; one holding calls without
  that mark is refused (:mod:`skit_pipelines.warehouse.demo_marker`).
- **Data apart from logic.** Clients, dialogue machines, what bots and callers say and the entity lexicons
  are YAML package data (``warehouse/data/demo/*.yaml``, read and checked by
  :mod:`skit_pipelines.warehouse.demo_tables`); this module is the simulation that walks them.
- **Fast enough for 100k calls.** Templates are compiled once at import, weighted choices use precomputed
  cumulative weights, and rows go in with SQLAlchemy Core ``executemany`` batches with pre-assigned keys in
  one transaction, so the whole replace is atomic and 100k calls (about half a million turns) take under a
  minute on SQLite.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import re
import time
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.demo_marker import check_demo_or_empty, write_marker
from skit_pipelines.warehouse.demo_tables import AuditLabel, Client, Flow, Option, load_demo_tables

T = TypeVar("T")
GENERATOR = "skit_pipelines.warehouse.demo_data v3"  # bump when the rows of a seed change
UTC = dt.timezone.utc

MIN_TURNS = 3
MAX_TURNS = 15
MAX_VISITS = 3  # turns in one state without progress before the bot hands over to a person
MAX_SILENCES = 3  # silent turns in a row before the bot hangs up
SILENCE = "_silence_"
END = "END"
CALL_MARGIN = dt.timedelta(minutes=30)  # no call starts later than this before now: its turns are past too
MONTH_SECONDS = 30 * 86400  # Duckling's normalised month
WEEK_SECONDS = 7 * 86400


class Weighted(Generic[T]):
    """A weighted choice with precomputed cumulative weights: one ``random()`` and one bisect per draw."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        items, weights = zip(*pairs, strict=True)
        self.items: tuple[T, ...] = tuple(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect(self.cum, rng.random() * self.total)]


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """Uniform choice; cheaper than ``Random.choice`` (one ``random()``, no rejection sampling)."""
    return items[int(rng.random() * len(items))]


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """A version-4 uuid from the seeded generator (same text as ``uuid.UUID(int=..., version=4)``)."""
    h = "%032x" % ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ------------------------------------------------------------------------------------------------------------
# Data tables: skit_pipelines/warehouse/data/demo/*.yaml, read and checked once by demo_tables
# ------------------------------------------------------------------------------------------------------------

_TABLES = load_demo_tables()
CLIENTS: tuple[Client, ...] = _TABLES.clients
NAMES = _TABLES.names
_SHARED_STATES = _TABLES.shared_states
_TRANSFER_BASE = _TABLES.transfer_base
_TRANSFER_TOPICS = _TABLES.transfer_topics
_MACHINE_STATES = _TABLES.machine_states
#: Disposition of a call that ended normally without a more specific outcome.
DEFAULT_DISPOSITION = _TABLES.default_disposition
_SKIP_IF_FILLED = _TABLES.skip_if_filled
_REPROMPT = _TABLES.reprompt
_CLOSING = _TABLES.closing
_SHARED_BOT = _TABLES.shared_bot
_MACHINE_BOT = _TABLES.machine_bot
_TEMPLATES = _TABLES.templates
_TEMPLATE_FALLBACK = _TABLES.template_fallback
_CONFUSIONS = _TABLES.confusions
_WEEKDAYS = _TABLES.weekdays
_MONTHS = _TABLES.months
_DIGIT_WORDS = _TABLES.digit_words
_FORMS = _TABLES.forms
_AMOUNT_FORMS = _TABLES.amount_forms
_AMOUNT_STEP = _TABLES.amount_step
_DUE_RANGE = _TABLES.due_range
ENTITY_TYPES = _TABLES.entity_types
_SLOT_NAMES = _TABLES.slot_names
_HOMOPHONES = _TABLES.homophones
_NUMBER_WORDS = _TABLES.number_words
_WORD_NUMBERS = {word: digits for digits, word in _NUMBER_WORDS.items()}
_FILLERS = _TABLES.fillers
_ASR_LATENCY = _TABLES.asr_latency
_AUDIT = _TABLES.audit
#: The machine of the debt-collection audit flow (debt_audit.yaml), walked by script, not by state options.
AUDIT_MACHINE = _AUDIT.machine
_AUDIT_SHE = frozenset(_AUDIT.she)

# Call-level rates: tuning of the simulation, not content, so they stay next to the code that uses them.
#: Fewer calls at weekends (Monday = 0).
_DAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5)
CALL_TEST_RATE = 0.03
REPORTED_RATE = 0.02
REPEAT_CALLER_RATE = 0.08
HIDDEN_CALLER_RATE = 0.005
HANGUP_RATE = 0.03
MISSING_AUDIO_RATE = 0.01


# ------------------------------------------------------------------------------------------------------------
# Compiled tables (built once at import)
# ------------------------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Template:
    """A caller template split into literals (even positions) and placeholder names (odd positions)."""

    parts: tuple[str, ...]
    placeholders: frozenset[str]


def _compile_template(text: str) -> Template:
    parts = tuple(_PLACEHOLDER.split(text))
    return Template(parts, frozenset(parts[1::2]))


@dataclass(frozen=True)
class TemplateSet:
    all: tuple[Template, ...]
    by_placeholder: dict[str, tuple[Template, ...]]


def _template_set(texts: Sequence[str]) -> TemplateSet:
    compiled = tuple(_compile_template(text) for text in texts)
    names = {name for template in compiled for name in template.placeholders}
    by_placeholder = {name: tuple(t for t in compiled if name in t.placeholders) for name in names}
    return TemplateSet(compiled, by_placeholder)


def _compile_templates() -> dict[tuple[str, str], TemplateSet]:
    intents = {intent for table in _TEMPLATES.values() for intent in table}
    compiled = {}
    for lang in _TEMPLATES:
        for intent in intents:
            texts = (
                _TEMPLATES[lang].get(intent)
                or _TEMPLATES[_TEMPLATE_FALLBACK[lang]].get(intent)
                or _TEMPLATES["en"][intent]
            )
            compiled[(lang, intent)] = _template_set(texts)
    return compiled


@dataclass(frozen=True)
class State:
    name: str
    expects: str | None
    options: Weighted[tuple[str, str, str | None, str | None]]  # (intent, next, goal, disposition)


@dataclass(frozen=True)
class Machine:
    name: str
    states: dict[str, State]
    intents: frozenset[str]
    confusions: dict[str, Weighted[str]]
    skips: dict[str, tuple[str, str]]


def _compile_state(name: str, expects: str | None, options: list[Option]) -> State:
    compiled = []
    for intent, weight, target, disposition in options:
        nxt, _, goal = target.partition(">")
        compiled.append(((intent, nxt, goal or None, disposition), weight))
    return State(name, expects, Weighted(compiled))


def _confusions(states: Iterable[State]) -> tuple[frozenset[str], dict[str, Weighted[str]]]:
    """A machine's intents and, per intent, the production SLU's plausible mistakes among them."""
    intents = frozenset(opt[0] for state in states for opt in state.options.items) | {"_oos_"}
    intents -= {SILENCE}
    confusions = {}
    for intent in sorted(intents):
        candidates = [(c, w) for c, w in _CONFUSIONS.get(intent, []) if c in intents and c != intent]
        confusions[intent] = Weighted(candidates or [("_oos_" if intent != "_oos_" else "_repeat_", 1.0)])
    return intents, confusions


def _compile_machine(name: str) -> Machine:
    topics = [(intent, weight, "AGENT_TRANSFER", None) for intent, weight in _TRANSFER_TOPICS[name]]
    specs = {**_SHARED_STATES, "TRANSFER_REASON": (None, _TRANSFER_BASE + topics), **_MACHINE_STATES[name]}
    states = {state: _compile_state(state, *spec) for state, spec in specs.items()}
    intents, confusions = _confusions(states.values())
    skips = {**_SKIP_IF_FILLED["*"], **_SKIP_IF_FILLED.get(name, {})}
    return Machine(name, states, intents, confusions, skips)


#: Answers after which the bot asks the same step again.
_RETRY = frozenset({SILENCE, "_repeat_"})


@dataclass(frozen=True)
class ScriptStep:
    """One step of an audit script: the turn's state (its options are the caller's answers), the bot's
    phrases, and the answers without re-asks (drawn when the step was already asked ``MAX_VISITS`` times)."""

    state: State
    phrases: tuple[str, ...]
    final: Weighted[tuple[str, str, str | None, str | None]]


@dataclass(frozen=True)
class Script:
    steps: tuple[ScriptStep, ...]
    label: AuditLabel


def _compile_audit() -> tuple[Machine, Weighted[Script]]:
    """The audit flow's machine (its intents and confusions) and its scripts, weighted case x script."""
    answers = {
        name: [(intent, weight, "", disposition) for intent, weight, disposition in options]
        for name, options in _AUDIT.caller.items()
    }
    scripts, states = [], []
    for case, spec in _AUDIT.cases.items():
        total = sum(script.weight for script in spec.scripts)
        for index, script in enumerate(spec.scripts):
            steps = []
            for step in script.steps:
                state = State(
                    step.state, None, Weighted((option, option[1]) for option in answers[step.caller])
                )
                final = [(option, option[1]) for option in answers[step.caller] if option[0] not in _RETRY]
                steps.append(ScriptStep(state, _AUDIT.bot[step.bot], Weighted(final)))
                states.append(state)
            label = _TABLES.audit_labels[(case, index)]
            scripts.append((Script(tuple(steps), label), spec.weight * script.weight / total))
    intents, confusions = _confusions(states)
    return Machine(AUDIT_MACHINE, {}, intents, confusions, {}), Weighted(scripts)


TEMPLATES = _compile_templates()
MACHINES = {name: _compile_machine(name) for name in _MACHINE_STATES}
MACHINES[AUDIT_MACHINE], AUDIT_SCRIPTS = _compile_audit()
_CLIENT_PICK = Weighted((client, client.weight) for client in CLIENTS)
_FLOW_PICK = {client.client_id: Weighted((flow, flow.weight) for flow in client.flows) for client in CLIENTS}
_LANG_PICK = {client.client_id: Weighted(client.languages) for client in CLIENTS}
_ASR_PICK = {client.client_id: Weighted(client.asr_providers) for client in CLIENTS}
_VERSION_PICK = {flow.flow_id: Weighted(flow.versions) for client in CLIENTS for flow in client.flows}
_NBEST_SIZE = Weighted([(1, 25), (2, 25), (3, 20), (4, 15), (5, 15)])
_ZONES = {client.timezone: ZoneInfo(client.timezone) for client in CLIENTS}


# ------------------------------------------------------------------------------------------------------------
# Entities
# ------------------------------------------------------------------------------------------------------------


@dataclass
class UtteranceContext:
    """What entity resolution needs: the caller's local clock, language and the call's own numbers."""

    lang: str
    zone: ZoneInfo
    now: dt.datetime
    currency: str
    due_amount: int
    digits: int
    anchor: dt.date | None = None
    #: Call facts a caller template may say that are words, not entities ({first}, {dob} of the audit flow).
    spoken: dict[str, str] = field(default_factory=dict)

    @property
    def today(self) -> dt.date:
        return self.now.date()


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


def _weekday_date(today: dt.date, weekday: int, mode: str) -> dt.date:
    if mode == "prev":
        return today - dt.timedelta(days=(today.weekday() - weekday) % 7 or 7)
    ahead = (weekday - today.weekday()) % 7 or 7
    if mode == "next" and today.weekday() + ahead < 7:  # "next friday" = the friday of next week
        ahead += 7
    return today + dt.timedelta(days=ahead)


def _resolve_date(
    rng: random.Random, ctx: UtteranceContext, pattern: str, kind: str, arg: Any
) -> tuple[str, Any]:
    today = ctx.today
    if kind == "days":
        return pattern, today + dt.timedelta(days=arg)
    if kind == "n_days":
        n = rng.randint(3, 10) if arg > 0 else rng.randint(2, 6)
        return pattern.format(n=n), today + dt.timedelta(days=n * arg)
    if kind == "weekday":
        weekday = rng.randrange(7)
        return pattern.format(wd=_WEEKDAYS[ctx.lang][weekday]), _weekday_date(today, weekday, arg)
    if kind in ("dom", "dom_month"):
        day = rng.randint(1, 28)
        if arg == "past":
            value = today.replace(day=day) if day < today.day else _add_months(today, -1).replace(day=day)
        else:
            value = today.replace(day=day) if day > today.day else _add_months(today, 1).replace(day=day)
        label = _ordinal(day) if ctx.lang == "en" else str(day)
        month = _MONTHS.get(ctx.lang, _MONTHS["en"])[value.month - 1]
        return pattern.format(dom=label, month=month), value
    if kind == "next_week":
        return pattern, today + dt.timedelta(days=7 - today.weekday())
    if kind == "last_week":
        return pattern, today - dt.timedelta(days=today.weekday() + 7)
    if kind == "month_end":
        return pattern, _add_months(today.replace(day=1), 1) - dt.timedelta(days=1)
    raise ValueError(f"unknown date form kind {kind!r}")


def _resolve_time(
    rng: random.Random, ctx: UtteranceContext, pattern: str, arg: tuple[int, int, int, int]
) -> tuple[str, Any]:
    low, high, add, minute = arg
    shown = rng.randint(low, high)
    hour = shown + add if shown + add < 24 else shown
    day = ctx.anchor or ctx.today
    value = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ctx.zone)
    if ctx.anchor is None and value <= ctx.now:
        value = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour, minute), tzinfo=ctx.zone)
    return pattern.format(h=shown), value


def _spoken_amount(rng: random.Random, ctx: UtteranceContext) -> int:
    step = _AMOUNT_STEP[ctx.currency]
    share = _pick(rng, (0.25, 0.5, 0.5, 0.75, 1.0))
    return max(step, int(ctx.due_amount * share) // step * step)


def _resolve_digits(rng: random.Random, ctx: UtteranceContext, style: str) -> tuple[str, Any]:
    text = str(ctx.digits)
    if style == "spaced":
        text = " ".join(text)
    elif style == "words":
        words = _DIGIT_WORDS.get(ctx.lang, _DIGIT_WORDS["en"])
        text = " ".join(words[int(c)] for c in text)
    return text, ctx.digits


def _resolve(rng: random.Random, ctx: UtteranceContext, placeholder: str) -> tuple[str, Any]:
    """(spoken text, raw value) for one placeholder: a date, a datetime or an int."""
    if placeholder == "amount":
        forms = _AMOUNT_FORMS.get((ctx.currency, ctx.lang)) or _AMOUNT_FORMS[(ctx.currency, "en")]
        pattern, kind, arg = _pick(rng, forms)
        value = arg if kind == "amount_fixed" else _spoken_amount(rng, ctx)
        return pattern.format(n=value), value
    forms = _FORMS[ctx.lang].get(placeholder) or _FORMS["en"][placeholder]
    pattern, kind, arg = _pick(rng, forms)
    if placeholder in ("date", "pdate"):
        text, day = _resolve_date(rng, ctx, pattern, kind, arg)
        ctx.anchor = day
        return text, day
    if placeholder == "time":
        return _resolve_time(rng, ctx, pattern, arg)
    if placeholder == "digits":
        return _resolve_digits(rng, ctx, arg)
    if kind == "months":
        return pattern.format(n=(n := rng.randint(2, 12))), n * MONTH_SECONDS
    if kind == "months_fixed":
        return pattern, arg * MONTH_SECONDS
    return pattern.format(n=(n := rng.randint(2, 4))), n * WEEK_SECONDS


def entity_value(raw: Any, zone: ZoneInfo) -> Any:
    """The stored value: ISO-8601 strings for dates (local midnight) and times, ints for the rest."""
    if isinstance(raw, dt.datetime):
        return raw.isoformat()
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=zone).isoformat()
    return raw


def _perturb(rng: random.Random, entity_type: str, raw: Any) -> Any:
    """A plausible wrong value: this week vs next week, am vs pm, a lost zero, a misheard digit."""
    if entity_type == "date":
        return raw + dt.timedelta(days=_pick(rng, (7, -7, 1, -1)))
    if entity_type == "time":
        return raw + dt.timedelta(hours=-12 if raw.hour >= 12 else 12)
    if entity_type == "number":
        text = str(raw)
        position = rng.randrange(len(text))
        digit = str((int(text[position]) + rng.randint(1, 9)) % 10)
        if position == 0 and digit == "0":
            digit = "1" if text[0] != "1" else "7"
        return int(text[:position] + digit + text[position + 1 :])
    if entity_type == "duration":
        return raw + MONTH_SECONDS if raw <= MONTH_SECONDS or rng.random() < 0.5 else raw - MONTH_SECONDS
    return raw * 10 if raw < 1000 or rng.random() < 0.5 else raw // 10


# ------------------------------------------------------------------------------------------------------------
# Utterances, ASR n-best and predictions
# ------------------------------------------------------------------------------------------------------------


TrueEntity = tuple[str, str, Any]  # (placeholder, spoken text, raw value)


def _fill(rng: random.Random, template: Template, ctx: UtteranceContext) -> tuple[str, list[TrueEntity]]:
    """The caller's words and their entities as (placeholder, text, raw value)."""
    if len(template.parts) == 1:
        return template.parts[0], []
    pieces, entities = [], []
    ctx.anchor = None
    for index, part in enumerate(template.parts):
        if index % 2 == 0:
            pieces.append(part)
            continue
        if part in ctx.spoken:
            pieces.append(ctx.spoken[part])
            continue
        text, raw = _resolve(rng, ctx, part)
        pieces.append(text)
        entities.append((part, text, raw))
    return "".join(pieces), entities


def _choose_template(rng: random.Random, lang: str, intent: str, expects: str | None) -> Template:
    templates = TEMPLATES[(lang, intent)]
    if expects and expects in templates.by_placeholder and rng.random() < 0.85:
        return _pick(rng, templates.by_placeholder[expects])
    return _pick(rng, templates.all)


def _noisy(rng: random.Random, words: list[str], lang: str) -> list[str]:
    """One recognition error: a homophone, a number spoken another way, a dropped word or a filler."""
    roll = rng.random()
    if roll < 0.4:
        swappable = [i for i, word in enumerate(words) if word in _HOMOPHONES]
        if swappable:
            i = _pick(rng, swappable)
            return words[:i] + _HOMOPHONES[words[i]].split() + words[i + 1 :]
    if roll < 0.6:
        numeric = [i for i, word in enumerate(words) if word in _WORD_NUMBERS or word.lstrip("$£").isdigit()]
        if numeric:
            i = _pick(rng, numeric)
            variant = _number_variant(words[i]) if lang in ("en", "hi_latn") else list(words[i].lstrip("$£"))
            return words[:i] + variant + words[i + 1 :]
    if roll < 0.85 and len(words) > 1:
        i = int(rng.random() * len(words))
        return words[:i] + words[i + 1 :]
    return [_pick(rng, _FILLERS[lang])] + words


def _number_variant(word: str) -> list[str]:
    if word in _WORD_NUMBERS:
        return [_WORD_NUMBERS[word]]
    if word[0] in "$£":
        return [word[1:], "dollars" if word[0] == "$" else "pounds"]
    if len(word) == 4:
        return [word[:2], "hundred"] if word.endswith("00") else list(word)
    if word in _NUMBER_WORDS:
        return [_NUMBER_WORDS[word]]
    if word.endswith("000") and word[:-3] in _NUMBER_WORDS:
        return [_NUMBER_WORDS[word[:-3]], "thousand"]
    return [word[0], word[1:]] if len(word) == 3 else [word]  # "250" heard as "2 50"


def _nbest(rng: random.Random, transcript: str, lang: str, hard: bool) -> list[dict[str, Any]]:
    """1-5 ASR alternatives with descending confidences; the top one is often, not always, what was said."""
    words = transcript.split()
    size = _NBEST_SIZE.pick(rng)
    clean = rng.random() < (0.5 if hard else 0.68)
    top = transcript if clean else " ".join(_noisy(rng, words, lang))
    confidence = rng.uniform(0.72, 0.97) if clean else rng.uniform(0.42, 0.86)
    if hard:
        confidence -= 0.05
    alternatives = [{"transcript": top, "confidence": round(confidence, 4)}]
    seen = {top}
    for _ in range(size - 1):
        noisy = _noisy(rng, words, lang)
        if rng.random() < 0.35:
            noisy = _noisy(rng, noisy, lang)
        text = " ".join(noisy)
        if not text or text in seen:
            continue
        seen.add(text)
        confidence *= rng.uniform(0.55, 0.95)
        alternatives.append({"transcript": text, "confidence": round(confidence, 4)})
    return alternatives


@dataclass
class Prediction:
    intent: str
    score: float
    prediction: dict[str, Any]
    slots: list[dict[str, Any]]
    entities: list[dict[str, Any]]


def _predicted_entities(
    rng: random.Random, true_entities: list[TrueEntity], zone: ZoneInfo, wrong_rate: float
) -> list[dict[str, Any]]:
    entities = []
    for placeholder, text, raw in true_entities:
        entity_type = ENTITY_TYPES[placeholder]
        roll = rng.random()
        if roll < wrong_rate * 0.3:
            continue  # missed by the production parser
        if roll < wrong_rate * 0.6:
            raw = _perturb(rng, entity_type, raw)
        value = entity_value(raw, zone)
        entities.append(
            {"type": entity_type, "entity_type": entity_type, "value": value, "body": text, "text": text}
        )
    return entities


def _predict(
    rng: random.Random,
    machine: Machine,
    true_intent: str,
    true_entities: list[TrueEntity],
    zone: ZoneInfo,
    wrong_rate: float,
) -> Prediction:
    """The production SLU's answer: wrong at ``wrong_rate`` with a plausible confusion and a lower score."""
    if true_intent == SILENCE:
        top = {"name": SILENCE, "score": 1.0, "slots": []}
        return Prediction(SILENCE, 1.0, {"intents": [top]}, [], [])
    confusion = machine.confusions[true_intent]
    if rng.random() < wrong_rate:
        intent, score = confusion.pick(rng), 0.3 + 0.55 * rng.random()
        runner_up = true_intent if rng.random() < 0.6 else None
    else:
        intent, score = true_intent, 0.6 + 0.4 * rng.random() ** 0.5
        runner_up = None
    score = round(score, 4)
    entities = _predicted_entities(rng, true_entities, zone, wrong_rate) if true_entities else []
    slots = [{"name": _SLOT_NAMES[e["type"]], "type": [e["type"]], "values": [e]} for e in entities]
    intents = [{"name": intent, "score": score, "slots": slots}]
    if rng.random() < 0.7:
        second = runner_up or confusion.pick(rng)
        if second != intent:
            intents.append(
                {"name": second, "score": round((1 - score) * rng.uniform(0.4, 0.9), 4), "slots": []}
            )
    return Prediction(intent, score, {"intents": intents}, slots, entities)


# ------------------------------------------------------------------------------------------------------------
# Calls
# ------------------------------------------------------------------------------------------------------------


@dataclass
class CallPlan:
    """When and for whom a call happens; drawn for all calls up front so ids follow start times."""

    start: dt.datetime  # UTC
    client: Client
    flow: Flow


@dataclass
class CallVars:
    """Per-call facts the bot and the caller talk about."""

    name: str
    company: str
    due_amount: int
    due_text: str
    amount_text: str
    digits: int


@dataclass
class Counters:
    """Pre-assigned primary keys."""

    call_id: int
    turn_id: int


def _plan_calls(
    rng: random.Random, calls: int, days: int, end_date: dt.date | None, now: dt.datetime
) -> list[CallPlan]:
    """Spread calls over the whole days ending at ``end_date``, mostly in each client's business hours.

    ``end_date=None`` ends on each client's own today. No call starts later than ``CALL_MARGIN`` before
    ``now`` (a draw that would is drawn again), so a demo warehouse never holds calls from the future.
    """
    cutoff = now - CALL_MARGIN
    day_picks = {}
    for client in CLIENTS:
        last = end_date or now.astimezone(_ZONES[client.timezone]).date()
        dates = [last - dt.timedelta(days=days - 1 - i) for i in range(days)]
        day_picks[client.client_id] = Weighted((day, _DAY_WEIGHTS[day.weekday()]) for day in dates)
    plans = []
    for _ in range(calls):
        client = _CLIENT_PICK.pick(rng)
        flow = _FLOW_PICK[client.client_id].pick(rng)
        for _attempt in range(100):
            start = _draw_start(rng, client, flow, day_picks[client.client_id])
            if start <= cutoff:
                break
        else:  # only when the window is (almost) all in the future: days=1 just after local midnight
            start = cutoff - dt.timedelta(seconds=round(rng.uniform(0, 3600), 3))
        plans.append(CallPlan(start, client, flow))
    plans.sort(key=lambda plan: plan.start)
    return plans


def _draw_start(rng: random.Random, client: Client, flow: Flow, day_pick: Weighted[dt.date]) -> dt.datetime:
    day = day_pick.pick(rng)
    if flow.call_type == "OUTBOUND":
        seconds = rng.triangular(9 * 3600, 20 * 3600, _pick(rng, (11, 16)) * 3600)
    elif rng.random() < 0.9:
        seconds = rng.triangular(8 * 3600, 21 * 3600, _pick(rng, (10.5, 12, 17.5)) * 3600)
    else:
        seconds = rng.uniform(0, 86399)
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=_ZONES[client.timezone])
    return (midnight + dt.timedelta(seconds=round(seconds, 3))).astimezone(UTC)


def _money(currency: str, amount: int) -> str:
    symbol = {"INR": "₹", "USD": "$", "GBP": "£"}[currency]
    return f"{symbol}{amount:,}" if currency == "INR" else f"{symbol}{amount:,.2f}"


def _call_vars(rng: random.Random, plan: CallPlan, language: str, local_start: dt.datetime) -> CallVars:
    client, machine = plan.client, plan.flow.machine
    low, high = _DUE_RANGE[client.currency]
    step = _AMOUNT_STEP[client.currency]
    due_amount = rng.randint(low // step, high // step) * step
    offset = {
        "collections": -rng.randint(3, 25),
        "renewals": rng.randint(5, 30),
        "cards": rng.randint(3, 15),
        "support": rng.randint(3, 15),
    }["collections" if machine == AUDIT_MACHINE else machine]
    if machine == "cards" and rng.random() < 0.4:
        offset = -rng.randint(1, 6)  # a dispatched card
    due = local_start.date() + dt.timedelta(days=offset)
    months = _MONTHS.get(language, _MONTHS["en"])
    month = months[due.month - 1]
    due_text = f"{due.day} {month.title() if language in ('en', 'es') else month}"
    return CallVars(
        name=_pick(rng, NAMES[client.country]),
        company=client.name,
        due_amount=due_amount,
        due_text=due_text,
        amount_text=_money(client.currency, due_amount),
        digits=rng.randint(1000, 9999),
    )


def _phone(rng: random.Random, country: str) -> str:
    if country == "IN":
        return f"{rng.randint(6, 9)}{rng.randrange(10**9):09d}"
    if country == "US":
        return f"+1{_pick(rng, (212, 312, 415, 512, 617, 713, 305, 773))}555{rng.randrange(10**4):04d}"
    return f"+447700{rng.randrange(10**6):06d}"


@cache
def _repeat_callers(client_id: str, country: str) -> tuple[str, ...]:
    """A fixed pool of frequent callers per client (independent of the seed, like real regulars)."""
    pool_rng = random.Random(f"repeat-callers:{client_id}")
    return tuple(_phone(pool_rng, country) for _ in range(25))


def _caller_number(rng: random.Random, client: Client, call_type: str) -> str:
    roll = rng.random()
    if call_type == "CALL_TEST":
        return _repeat_callers(client.client_id, client.country)[rng.randrange(3)]
    if roll < HIDDEN_CALLER_RATE:
        return "0000000000"
    if roll < HIDDEN_CALLER_RATE + REPEAT_CALLER_RATE:
        return _pick(rng, _repeat_callers(client.client_id, client.country)[3:])
    return _phone(rng, client.country)


def _template_lang(rng: random.Random, language: str, asr_provider: str) -> str:
    """Hindi comes back in Devanagari from most providers, romanised from some."""
    if language != "hi":
        return language
    devanagari = 0.25 if asr_provider == "deepgram" else 0.75
    return "hi" if rng.random() < devanagari else "hi_latn"


@dataclass
class Walk:
    """The outcome of one conversation."""

    turns: list[dict[str, Any]] = field(default_factory=list)
    disposition: str | None = None
    end_status: str = "COMPLETED"
    seconds: float = 0.0


@dataclass
class Cursor:
    """Where a conversation is in its state machine."""

    state: str = "GREETING"
    goal: str | None = None
    previous_intent: str | None = None
    repeats: int = 0
    silences: int = 0
    transferred: bool = False
    visited: set[str] = field(default_factory=lambda: {"GREETING"})

    @property
    def reprompt(self) -> bool:
        """The bot says it did not catch the caller before asking again."""
        return self.repeats > 0 and self.previous_intent in (SILENCE, "_oos_")

    def advance(self, machine: Machine, intent: str, nxt: str, goal: str | None, filled: set[str]) -> str:
        """The next state after the caller said ``intent`` (with entities for ``filled`` placeholders)."""
        self.transferred = self.transferred or self.state == "AGENT_TRANSFER"
        self.goal = goal or self.goal
        if nxt == "@goal":
            nxt, self.goal = self.goal or "ANYTHING_ELSE", None
        skip = machine.skips.get(nxt)
        if skip and skip[0] in filled:
            nxt = skip[1]
        self.repeats = self.repeats + 1 if nxt == self.state else 0
        self.silences = self.silences + 1 if intent == SILENCE else 0
        self.previous_intent = intent
        return nxt

    def move(self, nxt: str, walk: Walk) -> None:
        if nxt == END:  # too short to end yet: a real bot offers more help first
            nxt = "SMS_SUMMARY" if "ANYTHING_ELSE" in self.visited else "ANYTHING_ELSE"
        elif self.repeats >= MAX_VISITS:  # the caller is stuck: hand over to a person
            nxt, self.repeats = "AGENT_TRANSFER", 0
            walk.disposition = walk.disposition or "AGENT_TRANSFER"
        self.visited.add(nxt)
        self.state = nxt


@dataclass
class CallScope:
    """Everything about one call that its turns need."""

    plan: CallPlan
    machine: Machine
    language: str
    template_lang: str
    asr_provider: str
    call_id: int
    call_uuid: str
    call_vars: CallVars
    ctx: UtteranceContext

    @property
    def audio_prefix(self) -> str:
        return f"https://recordings.example.com/{self.plan.client.slug}/{self.call_uuid}"


class CallWriter:
    """Generates calls with their turns as row dicts for ``calls.insert()`` and ``turns.insert()``."""

    def __init__(self, rng: random.Random, wrong_rate: float, counters: Counters) -> None:
        self.rng = rng
        self.wrong_rate = wrong_rate
        self.counters = counters

    def call(self, plan: CallPlan) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng, client, flow = self.rng, plan.client, plan.flow
        call_type = "CALL_TEST" if rng.random() < CALL_TEST_RATE else flow.call_type
        scope = self._scope(plan)
        walk = self._walk_script(scope) if scope.machine.name == AUDIT_MACHINE else self._walk(scope)
        row = {
            "id": scope.call_id,
            "uuid": scope.call_uuid,
            "client_id": client.client_id,
            "client_uuid": client.uuid,
            "flow_id": flow.flow_id,
            "flow_uuid": flow.uuid,
            "flow_name": flow.name,
            "flow_version": _VERSION_PICK[flow.flow_id].pick(rng),
            "template_id": flow.template_id,
            "use_case": client.use_case,
            "language": scope.language,
            "call_type": call_type,
            "caller_number": _caller_number(rng, client, call_type),
            "virtual_number": flow.virtual_number,
            "asr_provider": scope.asr_provider,
            "disposition": walk.disposition,
            "call_end_status": walk.end_status,
            "call_duration": round(walk.seconds, 2),
            "reported": rng.random() < REPORTED_RATE,
            "call_url": f"{scope.audio_prefix}.wav",
            "start_time": plan.start,
            "timezone": client.timezone,
        }
        return row, walk.turns

    def _scope(self, plan: CallPlan) -> CallScope:
        rng, client = self.rng, plan.client
        language = _LANG_PICK[client.client_id].pick(rng)
        asr_provider = "google" if language == "ta" else _ASR_PICK[client.client_id].pick(rng)
        zone = _ZONES[client.timezone]
        call_uuid = _uuid(rng)
        call_id = self.counters.call_id
        self.counters.call_id += 1
        call_vars = _call_vars(rng, plan, language, plan.start.astimezone(zone))
        template_lang = _template_lang(rng, language, asr_provider)
        ctx = UtteranceContext(
            template_lang, zone, plan.start, client.currency, call_vars.due_amount, call_vars.digits
        )
        return CallScope(
            plan,
            MACHINES[plan.flow.machine],
            language,
            template_lang,
            asr_provider,
            call_id,
            call_uuid,
            call_vars,
            ctx,
        )

    def _walk(self, scope: CallScope) -> Walk:
        """Walk the flow's state machine, one caller turn per state visit."""
        rng, machine, plan = self.rng, scope.machine, scope.plan
        walk, cursor = Walk(), Cursor()
        clock = rng.uniform(0.5, 2.0)
        while True:
            spec = machine.states[cursor.state]
            intent, nxt, goal, disposition = spec.options.pick(rng)
            bot = _bot_response(machine.name, cursor.state, scope.language, scope.call_vars, cursor.reprompt)
            clock += len(bot) * 0.06 + rng.uniform(0.2, 0.9)
            reftime = plan.start + dt.timedelta(seconds=clock)
            scope.ctx.now = reftime.astimezone(scope.ctx.zone)
            turn, spoken, filled = self._turn(scope, spec, intent, bot, reftime)
            walk.turns.append(turn)
            clock += spoken + turn["asr_latency"] + turn["slu_latency"]
            walk.disposition = disposition or walk.disposition
            nxt = cursor.advance(machine, intent, nxt, goal, filled)
            end = self._end_of_call(walk, cursor, nxt, machine.name)
            if end:
                closing = len(_CLOSING.get(scope.language, _CLOSING["en"])) * 0.06 if end == END else 0.0
                walk.seconds = clock + closing + rng.uniform(0.5, 2.5)
                return walk
            cursor.move(nxt, walk)

    def _walk_script(self, scope: CallScope) -> Walk:
        """Walk an audit script (debt_audit.yaml): one step after another, a step asked again after a
        ``_repeat_`` or a silence (at most ``MAX_VISITS`` times); every turn carries the script's label."""
        rng = self.rng
        script = AUDIT_SCRIPTS.pick(rng)
        words = _audit_words(rng, scope)
        he, his, him = ("she", "her", "her") if words["first"] in _AUDIT_SHE else ("he", "his", "him")
        scope.ctx.spoken = {
            "first": words["first"],
            "dob": _date_of_birth(rng),
            "he": he,
            "his": his,
            "him": him,
        }
        # the names a redactor must remove (debtor and agent), known here, measured by compliance.ground_truth
        label = {**script.label.as_context(), "names": [words["name"], words["agent"]]}
        walk = Walk(disposition=None)
        clock = rng.uniform(0.5, 2.0)
        for step in script.steps:
            previous = None
            phrase = _pick(rng, step.phrases).format_map(words)  # a re-ask repeats it, as bots do
            for visit in range(MAX_VISITS):
                options = step.state.options if visit < MAX_VISITS - 1 else step.final
                intent, _, _, disposition = options.pick(rng)
                bot = _REPROMPT["en"] + phrase if previous == SILENCE else phrase
                clock += len(bot) * 0.06 + rng.uniform(0.2, 0.9)
                reftime = scope.plan.start + dt.timedelta(seconds=clock)
                scope.ctx.now = reftime.astimezone(scope.ctx.zone)
                turn, spoken, _ = self._turn(scope, step.state, intent, bot, reftime)
                turn["context"]["demo_compliance"] = label
                walk.turns.append(turn)
                clock += spoken + turn["asr_latency"] + turn["slu_latency"]
                walk.disposition = disposition or walk.disposition
                previous = intent
                if intent not in _RETRY:
                    break
        walk.disposition = walk.disposition or _AUDIT.default_disposition
        walk.seconds = clock + len(_CLOSING["en"]) * 0.06 + rng.uniform(0.5, 2.5)
        return walk

    def _end_of_call(self, walk: Walk, cursor: Cursor, nxt: str, machine: str) -> str | None:
        """Decide whether the call ends after this turn, and record how it ended."""
        count = len(walk.turns)
        if count >= MIN_TURNS and nxt == END:
            walk.end_status = "TRANSFERRED" if cursor.transferred else "COMPLETED"
            fallback = "AGENT_TRANSFER" if cursor.transferred else DEFAULT_DISPOSITION[machine]
            walk.disposition = walk.disposition or fallback
            return END
        if cursor.silences >= MAX_SILENCES:
            walk.end_status, walk.disposition = "NO_RESPONSE", walk.disposition or "NO_RESPONSE"
            return "NO_RESPONSE"
        if count >= MAX_TURNS:
            walk.end_status, walk.disposition = "TRANSFERRED", walk.disposition or "AGENT_TRANSFER"
            return "MAX_TURNS"
        if count >= MIN_TURNS and nxt != END and self.rng.random() < HANGUP_RATE:
            walk.end_status, walk.disposition = "CUSTOMER_HANGUP", walk.disposition or "INCOMPLETE"
            return "HANGUP"
        return None

    def _utterance(
        self, scope: CallScope, spec: State, intent: str
    ) -> tuple[str, list[TrueEntity], list[Any], float]:
        """What the caller said, their entities, the ASR n-best and how long they spoke."""
        rng = self.rng
        if intent == SILENCE:
            return "", [], [] if rng.random() < 0.5 else [[]], rng.uniform(4.0, 6.0)
        template = _choose_template(rng, scope.template_lang, intent, spec.expects)
        transcript, true_entities = _fill(rng, template, scope.ctx)
        utterances = [_nbest(rng, transcript, scope.template_lang, scope.template_lang != "en")]
        return transcript, true_entities, utterances, 0.4 + 0.065 * len(transcript)

    def _turn(
        self, scope: CallScope, spec: State, intent: str, bot: str, reftime: dt.datetime
    ) -> tuple[dict[str, Any], float, set[str]]:
        rng, zone = self.rng, scope.ctx.zone
        transcript, true_entities, utterances, spoken = self._utterance(scope, spec, intent)
        predicted = _predict(rng, scope.machine, intent, true_entities, zone, self.wrong_rate)
        turn_uuid = _uuid(rng)
        turn_id = self.counters.turn_id
        self.counters.turn_id += 1
        context = {
            "bot_response": bot,
            "demo_true_intent": intent,
            "demo_transcript": transcript,
            "demo_true_entities": [
                {"type": ENTITY_TYPES[p], "value": entity_value(raw, zone), "text": text}
                for p, text, raw in true_entities
            ],
        }
        asr_latency = _ASR_LATENCY[scope.asr_provider] * (0.6 + 0.9 * rng.random())
        slu_latency = 0.03 + 0.12 * rng.random() if rng.random() > 0.01 else rng.uniform(0.5, 1.5)
        audio_url = None if rng.random() < MISSING_AUDIO_RATE else f"{scope.audio_prefix}/{turn_uuid}.flac"
        turn = {
            "id": turn_id,
            "uuid": turn_uuid,
            "call_id": scope.call_id,
            "reftime": reftime,
            "state": spec.name,
            "utterances": utterances,
            "bot_response": bot,
            "context": context,
            "prediction": predicted.prediction,
            "intent": predicted.intent,
            "intent_score": predicted.score,
            "slots": predicted.slots,
            "entities": predicted.entities,
            "audio_url": audio_url,
            "asr_latency": round(asr_latency, 3),
            "slu_latency": round(slu_latency, 3),
        }
        return turn, spoken, {p for p, _, _ in true_entities}


def _audit_words(rng: random.Random, scope: CallScope) -> dict[str, str]:
    """What an audit phrase may say about this call (debt_audit.yaml's placeholders)."""
    call_vars = scope.call_vars
    return {
        "name": call_vars.name,
        "first": call_vars.name.split()[0],
        "company": call_vars.company,
        "agent": _pick(rng, _AUDIT.agents),
        "amount": call_vars.amount_text,
        "amount_dollars": f"{call_vars.due_amount} dollars",
        "due": call_vars.due_text,
        "phone": _pick(rng, _AUDIT.callback_numbers),
    }


def _date_of_birth(rng: random.Random) -> str:
    """The debtor's date of birth as said: "march 5 1980", "03/05/1980", "the 5th of march 1980"."""
    day = dt.date(rng.randint(1950, 2003), rng.randint(1, 12), rng.randint(1, 28))
    return _pick(rng, _AUDIT.dob_forms).format(
        month=_MONTHS["en"][day.month - 1],
        d=day.day,
        dom=_ordinal(day.day),
        mm=f"{day.month:02d}",
        dd=f"{day.day:02d}",
        year=day.year,
    )


def _bot_response(machine: str, state: str, language: str, call_vars: CallVars, reprompt: bool) -> str:
    table = _MACHINE_BOT[machine].get(state) or _SHARED_BOT[state]
    text = table.get(language) or table["en"]
    if "{" in text:
        text = text.format(
            name=call_vars.name,
            company=call_vars.company,
            amount=call_vars.amount_text,
            due=call_vars.due_text,
            digits=call_vars.digits,
        )
    if reprompt:
        text = _REPROMPT.get(language if language in table else "en", _REPROMPT["en"]) + text
    return text


# ------------------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------------------


@dataclass
class DemoDataSummary:
    """What :func:`generate_demo_warehouse` wrote."""

    calls: int
    turns: int
    clients: Counter[str]
    languages: Counter[str]
    first_call: dt.datetime | None
    last_call: dt.datetime | None
    seconds: float

    def as_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a table."""
        names = {client.client_id: client.name for client in CLIENTS}
        clients = ", ".join(f"{cid} {names.get(cid, '?')} ({n})" for cid, n in sorted(self.clients.items()))
        total = max(self.calls, 1)
        languages = ", ".join(f"{lang} {n} ({n / total:.0%})" for lang, n in self.languages.most_common())
        span = (
            f"{self.first_call:%Y-%m-%d %H:%M} → {self.last_call:%Y-%m-%d %H:%M} UTC"
            if self.first_call and self.last_call
            else "-"
        )
        return [
            ("calls", f"{self.calls:,}"),
            ("turns", f"{self.turns:,}"),
            ("clients", clients),
            ("languages", languages),
            ("first → last call", span),
            ("seconds", f"{self.seconds:.1f}"),
        ]


def _validate(calls: int, days: int, wrong_rate: float, batch_size: int) -> None:
    if not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be an integer >= 1, got {calls!r}")
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    if not isinstance(wrong_rate, (int, float)) or not 0.0 <= wrong_rate <= 1.0:
        raise ValueError(f"wrong_rate must be a number in [0, 1], got {wrong_rate!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")


def _start_ids(conn: sa.Connection, replace: bool) -> Counters:
    if replace:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE TABLE {schema.turns.name}, {schema.calls.name}"))
        else:
            conn.execute(schema.turns.delete())
            conn.execute(schema.calls.delete())
        return Counters(1, 1)
    max_call = conn.execute(sa.select(sa.func.max(schema.calls.c.id))).scalar() or 0
    max_turn = conn.execute(sa.select(sa.func.max(schema.turns.c.id))).scalar() or 0
    return Counters(max_call + 1, max_turn + 1)


def _check_no_clash(conn: sa.Connection, call_rows: list[dict[str, Any]]) -> None:
    uuids = [row["uuid"] for row in call_rows[:20]]
    query = sa.select(schema.calls.c.uuid).where(schema.calls.c.uuid.in_(uuids)).limit(1)
    clash = conn.execute(query).first()
    if clash:
        raise ValueError(
            f"seed: the warehouse already holds calls generated with this seed (uuid {clash[0]}); "
            "use another seed or replace=True"
        )


def _sync_sequences(conn: sa.Connection) -> None:
    """PostgreSQL sequences do not see pre-assigned keys; move them past the largest id."""
    if conn.dialect.name != "postgresql":
        return
    for table in (schema.calls, schema.turns):
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
            )
        )


def generate_demo_warehouse(
    url: str,
    *,
    calls: int = 2000,
    seed: int = 0,
    end_date: dt.date | None = None,
    days: int = 7,
    wrong_rate: float = 0.15,
    replace: bool = True,
    replace_foreign: bool = False,
    now: dt.datetime | None = None,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> DemoDataSummary:
    """Write ``calls`` demo calls with their turns to the warehouse at ``url``.

    Calls cover the ``days`` whole days ending at ``end_date`` (default: each client's today) in each
    client's own timezone, and none lies after ``now`` (default: the current time): on the last day calls
    stop ``CALL_MARGIN`` before now. The same seed and arguments write identical rows. ``replace=True``
    empties ``calls`` and ``turns`` first (in the same transaction); the schema is created if needed, and
    the database is marked as demo data (table ``skit_metadata``).

    A database that holds calls or turns without the demo marker is somebody's real data: it is left
    untouched and :class:`~skit_pipelines.warehouse.demo_marker.NotDemoDataError` says what it holds,
    unless ``replace_foreign=True``. ``progress(done_calls, total_calls)`` is called after each batch.

    Raises ``ValueError`` naming the parameter for ``calls < 1``, ``days < 1``, ``batch_size < 1``,
    ``wrong_rate`` outside [0, 1] or an ``end_date`` in the future (before touching the database), and for
    an append (``replace=False``) of a seed whose calls are already there.
    """
    _validate(calls, days, wrong_rate, batch_size)
    now = now or dt.datetime.now(UTC)
    latest = max(now.astimezone(zone).date() for zone in _ZONES.values())
    if end_date is not None and end_date > latest:
        raise ValueError(
            f"end_date {end_date} is in the future (demo calls never are); use {latest} or earlier"
        )
    started = time.perf_counter()
    rng = random.Random(seed)
    plans = _plan_calls(rng, calls, days, end_date, now)
    schema.ensure_sqlite_parent(url)
    engine = schema.create_engine(url, bulk_writes=True)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived acyclic dicts: the cycle collector would take half the time
    try:
        with engine.begin() as conn:
            if not replace_foreign:
                check_demo_or_empty(conn, url)  # before any write: a refused database is left as it was
            schema.metadata.create_all(conn)
            writer = CallWriter(rng, float(wrong_rate), _start_ids(conn, replace))
            summary = _write_batches(
                conn, plans, writer, batch_size, check_clash=not replace, progress=progress
            )
            _sync_sequences(conn)
            write_marker(conn, seed=seed, calls=calls, generator=GENERATOR)
            _refresh_statistics(conn)
    finally:
        if collecting:
            gc.enable()
        engine.dispose()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _refresh_statistics(conn: sa.Connection) -> None:
    """``ANALYZE`` the freshly loaded tables on PostgreSQL, as its manual advises after a bulk load.

    Without statistics (until autovacuum passes, or never where it is off) the planner guesses that half of
    ``turns`` matches a sample's 500 call ids: every chunk of a sample became a sequential scan of the whole
    table plus seconds of JIT compilation (4.3 s instead of 0.2 s per chunk, docs/benchmarks.md). SQLite's
    planner picks the indexes without statistics.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE calls, turns")


def _write_batches(
    conn: sa.Connection,
    plans: list[CallPlan],
    writer: CallWriter,
    batch_size: int,
    *,
    check_clash: bool,
    progress: Callable[[int, int], None] | None,
) -> DemoDataSummary:
    """Generate and insert ``batch_size`` calls at a time (executemany), reporting progress per batch."""
    summary = DemoDataSummary(
        calls=len(plans),
        turns=0,
        clients=Counter(),
        languages=Counter(),
        first_call=plans[0].start,
        last_call=plans[-1].start,
        seconds=0.0,
    )
    for offset in range(0, len(plans), batch_size):
        call_rows, turn_rows = [], []
        for plan in plans[offset : offset + batch_size]:
            row, call_turns = writer.call(plan)
            call_rows.append(row)
            turn_rows.extend(call_turns)
            summary.clients[row["client_id"]] += 1
            summary.languages[row["language"]] += 1
        if offset == 0 and check_clash:
            _check_no_clash(conn, call_rows)
        conn.execute(schema.calls.insert(), call_rows)
        conn.execute(schema.turns.insert(), turn_rows)
        summary.turns += len(turn_rows)
        if progress:
            progress(offset + len(call_rows), len(plans))
    return summary
