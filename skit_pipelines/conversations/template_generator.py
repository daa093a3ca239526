"""The offline conversation generator: a walk of the demo warehouse's debt-collection dialogue model.

Why it exists: without an LLM configured, ``generate_and_tag_conversations`` still runs end to end
(registry → generation → artifacts → rows → Label Studio), on a laptop or in CI, with no network and no
key. It is **not** a language model and says so: every conversation it makes carries the generator name
:data:`GENERATOR` and the model :data:`MODEL`, in the rows, the artifacts, the Label Studio tasks and the
Slack message.

How: the ``collections`` state machine of ``warehouse/data/demo/dialogue.yaml`` is walked from GREETING;
the bot says its English line of ``bot.yaml`` for each state and the caller one of the English templates
of ``caller.yaml`` for the intent drawn. The situation steers the walk: words of the situation, scenario and
category (``lost job`` → a financial-hardship answer, ``already paid`` → the paid path, ``dispute`` → a
dispute and a transfer...) make those intents win wherever the state offers them; elsewhere the option is
drawn by its weight. Silences, repeats and out-of-scope turns are left out: they make poor examples.

Deterministic: the draws come from a :class:`random.Random` seeded by the situation's text and the
conversation's number, so the same situation and number always give the same conversation (and the same
identity, so a re-run uploads nothing twice), and different numbers give different ones.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from skit_pipelines.conversations.model import BOT, USER, Turn
from skit_pipelines.warehouse.demo_tables import DemoTables, Option, load_demo_tables

__all__ = ["GENERATOR", "MODEL", "SituationText", "generate_turns", "steering_intents"]

GENERATOR = "template"
MODEL = "demo-dialogue-v1 (template generator, no LLM)"
"""Bump the version when the conversations of a situation change (their identities change with them)."""

MACHINE = "collections"
LANG = "en"
MAX_CALLER_TURNS = 10
SKIPPED_INTENTS = frozenset({"_silence_", "_repeat_", "_oos_"})

# Words of a situation → the caller intents they make likely, strongest first.
STEERING: tuple[tuple[tuple[str, ...], str], ...] = (
    (("wrong number", "wrong person", "does not know", "doesn't know", "not the borrower"), "wrong_number"),
    (("dispute", "not mine", "never took", "wrong amount", "fraud", "disagree"), "dispute_debt"),
    (("already paid", "paid already", "has paid", "made the payment", "paid last"), "inform_already_paid"),
    (("refuse", "won't pay", "will not pay", "not paying", "unwilling"), "wont_pay"),
    (
        (
            "lost job",
            "lost his job",
            "lost her job",
            "job loss",
            "unemploy",
            "hardship",
            "medical",
            "hospital",
            "financial",
            "cannot pay",
            "can't pay",
            "difficult",
            "no money",
        ),
        "inform_financial_issue",
    ),
    (("installment", "instalment", "split", "partial", "part payment", "emi plan"), "ask_for_installment"),
    (("later", "next week", "next month", "salary", "promise", "tomorrow", "travelling"), "inform_pay_later"),
    (("call back", "callback", "busy", "driving", "meeting"), "_callback_"),
    (("agent", "human", "manager", "supervisor", "transfer"), "ask_for_agent"),
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_CURRENCY = {"INR": "₹", "USD": "$", "GBP": "£"}
_DATES = ("tomorrow", "next monday", "on friday", "on the 15th", "next week", "day after tomorrow")
_PAST_DATES = ("yesterday", "last friday", "on the 2nd", "two days ago", "last week")
_TIMES = ("in the evening", "at 5 pm", "tomorrow morning", "after 6", "around noon")
_DURATIONS = ("three months", "6 months", "four months", "a year")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class SituationText:
    """What the generator reads of a situation (the registry's normalised texts)."""

    situation: str
    scenario: str
    scenario_category: str

    @property
    def words(self) -> str:
        return " ".join((self.situation, self.scenario, self.scenario_category.replace("_", " "))).lower()


def steering_intents(situation: SituationText) -> tuple[str, ...]:
    """The caller intents a situation's words point at, strongest first (may be empty)."""
    words = situation.words
    return tuple(intent for keys, intent in STEERING if any(key in words for key in keys))


@dataclass(frozen=True)
class _Call:
    """The numbers of one conversation, drawn once."""

    name: str
    company: str
    currency: str
    amount: int
    due: str
    digits: str


def _rng(situation: SituationText, number: int) -> random.Random:
    seed = hashlib.sha256(f"{MODEL}\x1f{situation.words}\x1f{number}".encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _money(currency: str, amount: int) -> str:
    return f"{_CURRENCY.get(currency, currency + ' ')}{amount:,}"


def _draw_call(rng: random.Random, tables: DemoTables) -> _Call:
    lenders = [c for c in tables.clients if c.use_case == "debt_collection"] or list(tables.clients)
    client = rng.choice(lenders)
    low, high = tables.due_range[client.currency]
    step = int(tables.amount_step[client.currency])
    amount = rng.randrange(int(low) // step, int(high) // step + 1) * step
    return _Call(
        name=rng.choice(tables.names[client.country]),
        company=client.name,
        currency=client.currency,
        amount=amount,
        due=f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}",
        digits="".join(str(rng.randint(0, 9)) for _ in range(4)),
    )


def _states(tables: DemoTables) -> dict[str, tuple[str | None, list[Option]]]:
    topics = [(intent, weight, "AGENT_TRANSFER", None) for intent, weight in tables.transfer_topics[MACHINE]]
    return {
        **tables.shared_states,
        "TRANSFER_REASON": (None, [*tables.transfer_base, *topics]),
        **tables.machine_states[MACHINE],
    }


def _bot_line(tables: DemoTables, state: str, call: _Call) -> str:
    texts = tables.machine_bot[MACHINE].get(state) or tables.shared_bot[state]
    return _fill_bot(texts[LANG], call)


def _fill_bot(text: str, call: _Call) -> str:
    values = {
        "name": call.name,
        "company": call.company,
        "amount": _money(call.currency, call.amount),
        "due": call.due,
        "digits": call.digits,
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)


def _caller_line(rng: random.Random, tables: DemoTables, intent: str, call: _Call) -> str:
    text = rng.choice(tables.templates[LANG][intent])
    partial = call.amount // 2 // 10 * 10 or call.amount
    values = {
        "date": rng.choice(_DATES),
        "pdate": rng.choice(_PAST_DATES),
        "time": rng.choice(_TIMES),
        "amount": str(partial),
        "digits": " ".join(call.digits),
        "duration": rng.choice(_DURATIONS),
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)


def _choose(
    rng: random.Random, options: Sequence[Option], wanted: Sequence[str], used: dict[str, int]
) -> Option:
    usable = [o for o in options if o[0] not in SKIPPED_INTENTS and o[0] in _caller_intents()]
    for intent in wanted:  # the situation's intents win where the state offers them (twice at most each)
        for option in usable:
            if option[0] == intent and used.get(intent, 0) < 2:
                return option
    weights = [float(o[1]) for o in usable]
    return rng.choices(usable, weights=weights, k=1)[0]


def _caller_intents() -> frozenset[str]:
    return frozenset(load_demo_tables().templates[LANG])


def generate_turns(situation: SituationText, number: int) -> tuple[Turn, ...]:
    """Conversation ``number`` (1, 2, ...) of ``situation``: BOT and USER turns, ending with the bot.

    Always the same turns for the same situation and number.
    """
    tables = load_demo_tables()
    rng = _rng(situation, number)
    call = _draw_call(rng, tables)
    states = _states(tables)
    wanted = steering_intents(situation)
    used: dict[str, int] = {}
    turns: list[Turn] = []
    state, goal = "GREETING", None
    for _ in range(MAX_CALLER_TURNS):
        turns.append(Turn(BOT, _bot_line(tables, state, call)))
        intent, _, target, _ = _choose(rng, states[state][1], wanted, used)
        used[intent] = used.get(intent, 0) + 1
        turns.append(Turn(USER, _caller_line(rng, tables, intent, call)))
        nxt, _, new_goal = target.partition(">")
        goal = new_goal or goal
        if nxt == "@goal":
            nxt, goal = goal or "ANYTHING_ELSE", None
        if nxt == "END" or nxt == state:
            break
        state = nxt
    turns.append(Turn(BOT, _fill_bot(tables.closing[LANG], call)))
    return tuple(turns)
