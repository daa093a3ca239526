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
  check them against.
- **Deterministic.** Everything, uuids included, comes from one seeded :class:`random.Random`: the same seed
  and arguments write identical rows, so tests can assert exact values and a bug report can name a seed.
  The wall clock is only read to default ``now``, where the data ends: no call lies in the future.
- **Never somebody else's data.** A database it writes is marked as demo data; one holding calls without
  that mark is refused (:mod:`skit_pipelines.warehouse.demo_marker`).
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
import uuid
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import accumulate
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.demo_marker import check_demo_or_empty, write_marker

T = TypeVar("T")
GENERATOR = "skit_pipelines.warehouse.demo_data v2"  # bump when the rows of a seed change
UTC = dt.timezone.utc
_NAMESPACE = uuid.UUID("5b0f0d2e-6d1a-4f57-9f1e-3c6a2b7e9d10")

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
# Clients and flows
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    flow_id: str
    name: str
    machine: str
    call_type: str
    template_id: str
    versions: tuple[tuple[str, float], ...]
    virtual_number: str
    weight: float = 1.0

    @cached_property
    def uuid(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"flow:{self.flow_id}"))


@dataclass(frozen=True)
class Client:
    client_id: str
    slug: str
    name: str
    use_case: str
    timezone: str
    currency: str
    country: str
    languages: tuple[tuple[str, float], ...]
    asr_providers: tuple[tuple[str, float], ...]
    flows: tuple[Flow, ...]
    weight: float

    @cached_property
    def uuid(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"client:{self.client_id}"))


CLIENTS: tuple[Client, ...] = (
    Client(
        "101",
        "northwind-bank",
        "Northwind Bank",
        "card_services",
        "Asia/Kolkata",
        "INR",
        "IN",
        (("en", 0.55), ("hi", 0.35), ("ta", 0.10)),
        (("google", 0.6), ("deepgram", 0.4)),
        (
            Flow(
                "3101",
                "Card Services Assistant",
                "cards",
                "INBOUND",
                "5101",
                (("4.2.0", 0.3), ("4.3.0", 0.7)),
                "+918069451101",
            ),
        ),
        0.28,
    ),
    Client(
        "102",
        "lakeside-finance",
        "Lakeside Finance",
        "debt_collection",
        "Asia/Kolkata",
        "INR",
        "IN",
        (("en", 0.45), ("hi", 0.50), ("ta", 0.05)),
        (("google", 0.5), ("deepgram", 0.3), ("azure", 0.2)),
        (
            Flow(
                "3201",
                "EMI Reminder",
                "collections",
                "OUTBOUND",
                "5201",
                (("2.7.1", 1.0),),
                "+918069452201",
                0.6,
            ),
            Flow(
                "3202",
                "Overdue Collections",
                "collections",
                "OUTBOUND",
                "5202",
                (("1.9.0", 0.5), ("2.0.0", 0.5)),
                "+918069452202",
                0.4,
            ),
        ),
        0.30,
    ),
    Client(
        "103",
        "harbor-insurance",
        "Harbor Insurance",
        "policy_renewal",
        "America/New_York",
        "USD",
        "US",
        (("en", 0.80), ("es", 0.20)),
        (("deepgram", 0.6), ("google", 0.4)),
        (
            Flow(
                "3301",
                "Auto Policy Renewal",
                "renewals",
                "OUTBOUND",
                "5301",
                (("3.1.0", 1.0),),
                "+18005550133",
            ),
        ),
        0.15,
    ),
    Client(
        "104",
        "meridian-telecom",
        "Meridian Telecom",
        "customer_support",
        "Europe/London",
        "GBP",
        "UK",
        (("en", 0.92), ("hi", 0.08)),
        (("google", 0.5), ("azure", 0.5)),
        (
            Flow(
                "3401",
                "Broadband Support",
                "support",
                "INBOUND",
                "5401",
                (("5.0.2", 0.4), ("5.1.0", 0.6)),
                "+442079460401",
            ),
        ),
        0.12,
    ),
    Client(
        "105",
        "summit-auto-loans",
        "Summit Auto Loans",
        "debt_collection",
        "America/Chicago",
        "USD",
        "US",
        (("en", 0.85), ("es", 0.15)),
        (("deepgram", 0.7), ("google", 0.3)),
        (
            Flow(
                "3501",
                "Late Payment Reminder",
                "collections",
                "OUTBOUND",
                "5501",
                (("1.2.0", 1.0),),
                "+18005550155",
            ),
        ),
        0.15,
    ),
)

#: Fewer calls at weekends (Monday = 0).
_DAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5)
CALL_TEST_RATE = 0.03
REPORTED_RATE = 0.02
REPEAT_CALLER_RATE = 0.08
HIDDEN_CALLER_RATE = 0.005
HANGUP_RATE = 0.03
MISSING_AUDIO_RATE = 0.01

NAMES = {
    "IN": (
        "Rahul Sharma",
        "Priya Nair",
        "Amit Verma",
        "Sunita Reddy",
        "Vikram Singh",
        "Anjali Gupta",
        "Karthik Iyer",
        "Neha Joshi",
        "Arjun Mehta",
        "Lakshmi Menon",
        "Rohit Yadav",
        "Divya Pillai",
    ),
    "US": (
        "John Miller",
        "Maria Garcia",
        "James Johnson",
        "Linda Davis",
        "Carlos Hernandez",
        "Emily Wilson",
        "Robert Brown",
        "Ana Martinez",
        "Michael Lee",
        "Sarah Thompson",
    ),
    "UK": (
        "Oliver Smith",
        "Amelia Jones",
        "Harry Taylor",
        "Isla Brown",
        "Jack Wilson",
        "Priya Patel",
        "George Evans",
        "Sophie Walker",
    ),
}

# ------------------------------------------------------------------------------------------------------------
# Dialogue state machines: state -> (placeholder the bot expects, [(intent, weight, next, disposition)]).
# "A>B" as next goes to A and remembers B as the goal; "@goal" goes to the remembered goal.
# ------------------------------------------------------------------------------------------------------------

Option = tuple[str, float, str, str | None]

_SHARED_STATES: dict[str, tuple[str | None, list[Option]]] = {
    "ANYTHING_ELSE": (
        None,
        [
            ("_cancel_", 50, END, None),
            ("thank_you", 30, END, None),
            ("ask_for_agent", 4, "TRANSFER_REASON", "AGENT_REQUESTED"),
            (SILENCE, 12, END, None),
        ],
    ),
    "AGENT_TRANSFER": (
        None,
        [
            ("_confirm_", 30, END, None),
            ("thank_you", 20, END, None),
            (SILENCE, 40, END, None),
            ("_repeat_", 5, "AGENT_TRANSFER", None),
            ("_oos_", 5, END, None),
        ],
    ),
    "CALLBACK_TIME": (
        "time",
        [
            ("_callback_", 78, END, "CALLBACK_REQUESTED"),
            ("_repeat_", 6, "CALLBACK_TIME", None),
            (SILENCE, 6, "CALLBACK_TIME", None),
            ("_cancel_", 5, END, "CALLBACK_REQUESTED"),
            ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
        ],
    ),
    "WRONG_PERSON": (
        None,
        [
            ("_cancel_", 45, END, "WRONG_NUMBER"),
            ("wrong_number", 25, END, "WRONG_NUMBER"),
            ("_confirm_", 15, END, "THIRD_PARTY"),
            ("thank_you", 5, END, "WRONG_NUMBER"),
            (SILENCE, 10, END, "WRONG_NUMBER"),
        ],
    ),
    "SMS_SUMMARY": (
        None,
        [
            ("_confirm_", 45, END, None),
            ("_cancel_", 30, END, None),
            ("thank_you", 10, END, None),
            (SILENCE, 15, END, None),
        ],
    ),
}

#: A caller who asks for a person is asked what it is about (to route the transfer): the flow's own topics.
_TRANSFER_BASE: list[Option] = [
    ("ask_for_agent", 30, "AGENT_TRANSFER", None),
    (SILENCE, 8, "AGENT_TRANSFER", None),
    ("_repeat_", 5, "TRANSFER_REASON", None),
    ("_oos_", 8, "AGENT_TRANSFER", None),
    ("_cancel_", 6, "ANYTHING_ELSE", None),
]
_TRANSFER_TOPICS: dict[str, list[tuple[str, float]]] = {
    "collections": [
        ("dispute_debt", 10),
        ("inform_already_paid", 8),
        ("ask_for_installment", 6),
        ("inform_financial_issue", 6),
    ],
    "cards": [("block_card", 8), ("card_lost", 6), ("dispute_debt", 8), ("ask_bill_amount", 6)],
    "renewals": [("too_expensive", 8), ("not_interested", 6), ("ask_for_installment", 6)],
    "support": [("report_no_internet", 10), ("cancel_subscription", 8), ("ask_bill_amount", 6)],
}

_IDENTITY_CHECK: tuple[str | None, list[Option]] = (
    "digits",
    [
        ("inform_digits", 78, "@goal", None),
        ("_repeat_", 6, "IDENTITY_CHECK", None),
        (SILENCE, 6, "IDENTITY_CHECK", None),
        ("_cancel_", 4, "AGENT_TRANSFER", "VERIFICATION_FAILED"),
        ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
        ("_oos_", 2, "IDENTITY_CHECK", None),
    ],
)

_MACHINE_STATES: dict[str, dict[str, tuple[str | None, list[Option]]]] = {
    "collections": {
        "GREETING": (
            None,
            [
                ("_confirm_", 64, "IDENTITY_CHECK>COF", None),
                ("wrong_number", 7, "WRONG_PERSON", "WRONG_NUMBER"),
                ("_cancel_", 4, "WRONG_PERSON", None),
                ("_callback_", 6, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
                ("_repeat_", 5, "GREETING", None),
                ("_oos_", 5, "GREETING", None),
                ("ask_for_agent", 1, "TRANSFER_REASON", "AGENT_REQUESTED"),
                (SILENCE, 7, "GREETING", None),
            ],
        ),
        "IDENTITY_CHECK": _IDENTITY_CHECK,
        "COF": (
            None,
            [
                ("_confirm_", 24, "AMOUNT", "PROMISE_TO_PAY"),
                ("inform_pay_later", 22, "PAYMENT_DATE", "PROMISE_TO_PAY"),
                ("ask_for_installment", 8, "INSTALLMENT", "INSTALLMENT_REQUESTED"),
                ("inform_already_paid", 10, "PAID_DATE", "ALREADY_PAID"),
                ("wont_pay", 6, "REASON", "REFUSED_TO_PAY"),
                ("inform_financial_issue", 5, "INSTALLMENT", "FINANCIAL_HARDSHIP"),
                ("dispute_debt", 4, "AGENT_TRANSFER", "DISPUTE"),
                ("_callback_", 5, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
                ("_repeat_", 5, "COF", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_cancel_", 4, "REASON", "REFUSED_TO_PAY"),
                (SILENCE, 4, "COF", None),
            ],
        ),
        "PAYMENT_DATE": (
            "date",
            [
                ("inform_pay_later", 70, "AMOUNT", "PROMISE_TO_PAY"),
                ("ask_for_installment", 8, "INSTALLMENT", "INSTALLMENT_REQUESTED"),
                ("wont_pay", 4, "REASON", "REFUSED_TO_PAY"),
                ("inform_financial_issue", 5, "INSTALLMENT", "FINANCIAL_HARDSHIP"),
                ("_repeat_", 5, "PAYMENT_DATE", None),
                (SILENCE, 4, "PAYMENT_DATE", None),
                ("ask_for_agent", 1, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_oos_", 2, "PAYMENT_DATE", None),
            ],
        ),
        "AMOUNT": (
            "amount",
            [
                ("_confirm_", 45, "PAYMENT_MODE", "PROMISE_TO_PAY"),
                ("inform_amount", 35, "PAYMENT_MODE", "PARTIAL_PAYMENT"),
                ("ask_for_installment", 8, "INSTALLMENT", "INSTALLMENT_REQUESTED"),
                ("_repeat_", 4, "AMOUNT", None),
                (SILENCE, 4, "AMOUNT", None),
                ("_cancel_", 4, "REASON", None),
            ],
        ),
        "INSTALLMENT": (
            "duration",
            [
                ("inform_duration", 70, "ANYTHING_ELSE", "INSTALLMENT_REQUESTED"),
                ("_cancel_", 8, "REASON", None),
                ("_repeat_", 6, "INSTALLMENT", None),
                ("ask_for_agent", 3, "TRANSFER_REASON", "AGENT_REQUESTED"),
                (SILENCE, 5, "INSTALLMENT", None),
                ("inform_pay_later", 5, "PAYMENT_MODE", "PROMISE_TO_PAY"),
            ],
        ),
        "REASON": (
            None,
            [
                ("inform_financial_issue", 40, "INSTALLMENT", "FINANCIAL_HARDSHIP"),
                ("wont_pay", 15, END, "REFUSED_TO_PAY"),
                ("dispute_debt", 15, "AGENT_TRANSFER", "DISPUTE"),
                ("_callback_", 10, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
                ("_repeat_", 5, "REASON", None),
                (SILENCE, 5, "REASON", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("inform_already_paid", 5, "PAID_DATE", "ALREADY_PAID"),
            ],
        ),
        "PAID_DATE": (
            "pdate",
            [
                ("inform_already_paid", 75, "ANYTHING_ELSE", "ALREADY_PAID"),
                ("_repeat_", 6, "PAID_DATE", None),
                (SILENCE, 5, "PAID_DATE", None),
                ("dispute_debt", 6, "AGENT_TRANSFER", "DISPUTE"),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
        "PAYMENT_MODE": (
            None,
            [
                ("inform_payment_mode", 70, "ANYTHING_ELSE", None),
                ("_repeat_", 6, "PAYMENT_MODE", None),
                (SILENCE, 5, "PAYMENT_MODE", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_cancel_", 6, "ANYTHING_ELSE", None),
                ("inform_pay_later", 5, "ANYTHING_ELSE", None),
                ("_oos_", 4, "PAYMENT_MODE", None),
            ],
        ),
    },
    "cards": {
        "GREETING": (
            None,
            [
                ("block_card", 26, "IDENTITY_CHECK>CARD_BLOCK", None),
                ("card_lost", 16, "IDENTITY_CHECK>CARD_BLOCK", None),
                ("check_card_delivery", 12, "IDENTITY_CHECK>DELIVERY_STATUS", None),
                ("ask_bill_amount", 14, "IDENTITY_CHECK>BILL_INFO", None),
                ("dispute_debt", 3, "IDENTITY_CHECK>AGENT_TRANSFER", "DISPUTE"),
                ("ask_for_agent", 4, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_repeat_", 4, "GREETING", None),
                ("_oos_", 8, "GREETING", None),
                (SILENCE, 6, "GREETING", None),
            ],
        ),
        "IDENTITY_CHECK": _IDENTITY_CHECK,
        "CARD_BLOCK": (
            None,
            [
                ("_confirm_", 76, "CARD_REPLACEMENT", "CARD_BLOCKED"),
                ("_cancel_", 10, "ANYTHING_ELSE", "BLOCK_CANCELLED"),
                ("_repeat_", 5, "CARD_BLOCK", None),
                (SILENCE, 4, "CARD_BLOCK", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
        "CARD_REPLACEMENT": (
            None,
            [
                ("_confirm_", 70, "ADDRESS_CONFIRM", "CARD_REPLACEMENT_REQUESTED"),
                ("_cancel_", 18, "ANYTHING_ELSE", None),
                ("_repeat_", 4, "CARD_REPLACEMENT", None),
                (SILENCE, 4, "CARD_REPLACEMENT", None),
                ("thank_you", 4, "ANYTHING_ELSE", None),
            ],
        ),
        "DELIVERY_STATUS": (
            None,
            [
                ("_confirm_", 55, "ANYTHING_ELSE", "INFO_PROVIDED"),
                ("_cancel_", 20, "ANYTHING_ELSE", "INFO_PROVIDED"),
                ("card_lost", 6, "CARD_BLOCK", None),
                ("ask_for_agent", 4, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_repeat_", 5, "DELIVERY_STATUS", None),
                ("thank_you", 6, "ANYTHING_ELSE", "INFO_PROVIDED"),
            ],
        ),
        "BILL_INFO": (
            None,
            [
                ("_confirm_", 50, "ANYTHING_ELSE", "PAYMENT_LINK_SENT"),
                ("_cancel_", 18, "ANYTHING_ELSE", "INFO_PROVIDED"),
                ("dispute_debt", 8, "AGENT_TRANSFER", "DISPUTE"),
                ("inform_pay_later", 8, "ANYTHING_ELSE", "PROMISE_TO_PAY"),
                ("ask_for_installment", 6, "AGENT_TRANSFER", "INSTALLMENT_REQUESTED"),
                ("_repeat_", 5, "BILL_INFO", None),
                ("thank_you", 5, "ANYTHING_ELSE", "INFO_PROVIDED"),
            ],
        ),
        "ADDRESS_CONFIRM": (
            None,
            [
                ("_confirm_", 60, "ANYTHING_ELSE", None),
                ("_cancel_", 22, "ANYTHING_ELSE", None),
                ("ask_for_agent", 5, "AGENT_TRANSFER", "ADDRESS_CHANGE"),
                ("_repeat_", 5, "ADDRESS_CONFIRM", None),
                (SILENCE, 5, "ADDRESS_CONFIRM", None),
                ("thank_you", 3, "ANYTHING_ELSE", None),
            ],
        ),
        "ANYTHING_ELSE": (
            None,
            [
                ("_cancel_", 45, END, None),
                ("thank_you", 28, END, None),
                ("ask_bill_amount", 7, "BILL_INFO", None),
                ("check_card_delivery", 4, "DELIVERY_STATUS", None),
                ("ask_for_agent", 3, "TRANSFER_REASON", "AGENT_REQUESTED"),
                (SILENCE, 10, END, None),
            ],
        ),
    },
    "renewals": {
        "GREETING": (
            None,
            [
                ("_confirm_", 60, "IDENTITY_CHECK>COF", None),
                ("_callback_", 9, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
                ("_cancel_", 7, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
                ("wrong_number", 6, "WRONG_PERSON", "WRONG_NUMBER"),
                ("_repeat_", 5, "GREETING", None),
                ("_oos_", 5, "GREETING", None),
                (SILENCE, 6, "GREETING", None),
                ("not_interested", 2, "REASON", "NOT_INTERESTED"),
            ],
        ),
        "IDENTITY_CHECK": _IDENTITY_CHECK,
        "COF": (
            None,
            [
                ("_confirm_", 40, "PAYMENT_DATE", "RENEWAL_ACCEPTED"),
                ("ask_for_installment", 12, "INSTALLMENT", None),
                ("too_expensive", 12, "INSTALLMENT", "PRICE_OBJECTION"),
                ("not_interested", 8, "REASON", "NOT_INTERESTED"),
                ("_cancel_", 8, "REASON", "NOT_INTERESTED"),
                ("inform_already_paid", 4, "ANYTHING_ELSE", "ALREADY_RENEWED"),
                ("_callback_", 5, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
                ("_repeat_", 5, "COF", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
                (SILENCE, 3, "COF", None),
            ],
        ),
        "PAYMENT_DATE": (
            "date",
            [
                ("inform_pay_later", 65, "CARD_ON_FILE", "RENEWAL_ACCEPTED"),
                ("_confirm_", 10, "CARD_ON_FILE", "RENEWAL_ACCEPTED"),
                ("ask_for_installment", 8, "INSTALLMENT", None),
                ("_repeat_", 6, "PAYMENT_DATE", None),
                (SILENCE, 5, "PAYMENT_DATE", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
        "INSTALLMENT": (
            "duration",
            [
                ("inform_duration", 65, "ANYTHING_ELSE", "RENEWAL_ACCEPTED"),
                ("_cancel_", 10, "REASON", "NOT_INTERESTED"),
                ("too_expensive", 8, "REASON", "PRICE_OBJECTION"),
                ("_repeat_", 6, "INSTALLMENT", None),
                (SILENCE, 5, "INSTALLMENT", None),
                ("ask_for_agent", 3, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
        "REASON": (
            None,
            [
                ("too_expensive", 35, "ANYTHING_ELSE", "PRICE_OBJECTION"),
                ("not_interested", 40, "ANYTHING_ELSE", "NOT_INTERESTED"),
                ("ask_for_agent", 4, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_repeat_", 5, "REASON", None),
                (SILENCE, 6, "REASON", None),
                ("_callback_", 6, "CALLBACK_TIME", "CALLBACK_REQUESTED"),
            ],
        ),
        "CARD_ON_FILE": (
            None,
            [
                ("_confirm_", 70, "ANYTHING_ELSE", "RENEWAL_ACCEPTED"),
                ("_cancel_", 14, "AGENT_TRANSFER", "CARD_UPDATE"),
                ("_repeat_", 6, "CARD_ON_FILE", None),
                (SILENCE, 5, "CARD_ON_FILE", None),
                ("ask_for_agent", 2, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
    },
    "support": {
        "GREETING": (
            None,
            [
                ("report_no_internet", 30, "IDENTITY_CHECK>TROUBLESHOOT", None),
                ("report_slow_internet", 16, "IDENTITY_CHECK>TROUBLESHOOT", None),
                ("ask_bill_amount", 14, "IDENTITY_CHECK>BILLING", None),
                ("cancel_subscription", 8, "IDENTITY_CHECK>RETENTION", None),
                ("ask_for_agent", 5, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_repeat_", 4, "GREETING", None),
                ("_oos_", 8, "GREETING", None),
                (SILENCE, 6, "GREETING", None),
            ],
        ),
        "IDENTITY_CHECK": _IDENTITY_CHECK,
        "TROUBLESHOOT": (
            None,
            [
                ("_confirm_", 60, "RESOLUTION_CONFIRM", None),
                ("_cancel_", 12, "ENGINEER_VISIT", None),
                ("report_no_internet", 8, "ENGINEER_VISIT", None),
                ("_repeat_", 6, "TROUBLESHOOT", None),
                (SILENCE, 6, "TROUBLESHOOT", None),
                ("ask_for_agent", 4, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
        "RESOLUTION_CONFIRM": (
            None,
            [
                ("_confirm_", 55, "ANYTHING_ELSE", "RESOLVED"),
                ("_cancel_", 25, "ENGINEER_VISIT", None),
                ("report_slow_internet", 8, "ENGINEER_VISIT", None),
                ("thank_you", 6, "ANYTHING_ELSE", "RESOLVED"),
                (SILENCE, 6, "RESOLUTION_CONFIRM", None),
            ],
        ),
        "ENGINEER_VISIT": (
            "date",
            [
                ("inform_date", 70, "VISIT_TIME", "ENGINEER_BOOKED"),
                ("ask_for_agent", 5, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("_repeat_", 6, "ENGINEER_VISIT", None),
                (SILENCE, 6, "ENGINEER_VISIT", None),
                ("_cancel_", 8, "ANYTHING_ELSE", "UNRESOLVED"),
            ],
        ),
        "BILLING": (
            None,
            [
                ("_confirm_", 55, "ANYTHING_ELSE", "INFO_PROVIDED"),
                ("_cancel_", 20, "ANYTHING_ELSE", "INFO_PROVIDED"),
                ("dispute_debt", 8, "AGENT_TRANSFER", "DISPUTE"),
                ("_repeat_", 6, "BILLING", None),
                ("ask_for_agent", 3, "TRANSFER_REASON", "AGENT_REQUESTED"),
                ("thank_you", 5, "ANYTHING_ELSE", "INFO_PROVIDED"),
            ],
        ),
        "RETENTION": (
            None,
            [
                ("_confirm_", 35, "ANYTHING_ELSE", "RETAINED"),
                ("_cancel_", 35, "AGENT_TRANSFER", "CANCELLATION_REQUESTED"),
                ("cancel_subscription", 15, "AGENT_TRANSFER", "CANCELLATION_REQUESTED"),
                ("_repeat_", 6, "RETENTION", None),
                (SILENCE, 5, "RETENTION", None),
            ],
        ),
        "VISIT_TIME": (
            "time",
            [
                ("inform_time", 72, "ANYTHING_ELSE", "ENGINEER_BOOKED"),
                ("_confirm_", 10, "ANYTHING_ELSE", "ENGINEER_BOOKED"),
                ("_repeat_", 6, "VISIT_TIME", None),
                (SILENCE, 6, "VISIT_TIME", None),
                ("ask_for_agent", 3, "TRANSFER_REASON", "AGENT_REQUESTED"),
            ],
        ),
        "ANYTHING_ELSE": (
            None,
            [
                ("_cancel_", 45, END, None),
                ("thank_you", 30, END, None),
                ("ask_bill_amount", 6, "BILLING", None),
                ("ask_for_agent", 4, "TRANSFER_REASON", "AGENT_REQUESTED"),
                (SILENCE, 12, END, None),
            ],
        ),
    },
}

#: Disposition of a call that ended normally without a more specific outcome.
DEFAULT_DISPOSITION = {
    "collections": "NO_COMMITMENT",
    "cards": "INFO_PROVIDED",
    "renewals": "NO_DECISION",
    "support": "INFO_PROVIDED",
}

#: When the caller already gave what a state would ask for, the bot skips it (e.g. "I'll pay next friday"):
#: state -> (placeholder, state to go to instead), per machine ("*": every machine).
_SKIP_IF_FILLED: dict[str, dict[str, tuple[str, str]]] = {
    "*": {"CALLBACK_TIME": ("time", END)},
    "collections": {"PAYMENT_DATE": ("date", "AMOUNT")},
    "renewals": {"PAYMENT_DATE": ("date", "CARD_ON_FILE")},
    "support": {"VISIT_TIME": ("time", "ANYTHING_ELSE")},
}

# ------------------------------------------------------------------------------------------------------------
# What the bot says, per state and language ({name}, {company}, {amount}, {due}, {digits} are per call).
# ------------------------------------------------------------------------------------------------------------

_REPROMPT = {
    "en": "Sorry, I didn't catch that. ",
    "hi": "माफ़ कीजिए, मैं समझ नहीं पाई। ",
    "ta": "மன்னிக்கவும், புரியவில்லை. ",
    "es": "Perdón, no le entendí. ",
}
_CLOSING = {
    "en": "Thank you for your time. Have a good day.",
    "hi": "आपके समय के लिए धन्यवाद। आपका दिन शुभ हो।",
    "ta": "உங்கள் நேரத்திற்கு நன்றி. நல்ல நாள்.",
    "es": "Gracias por su tiempo. Que tenga un buen día.",
}

_SHARED_BOT = {
    "ANYTHING_ELSE": {
        "en": "Is there anything else I can help you with?",
        "hi": "क्या मैं आपकी और कोई मदद कर सकती हूँ?",
        "ta": "வேறு ஏதாவது உதவி வேண்டுமா?",
        "es": "¿Hay algo más en lo que pueda ayudarle?",
    },
    "AGENT_TRANSFER": {
        "en": "Sure, I am connecting you to one of our agents. Please stay on the line.",
        "hi": "ज़रूर, मैं आपको हमारे एजेंट से जोड़ रही हूँ। कृपया लाइन पर बने रहें।",
        "ta": "சரி, உங்களை எங்கள் ஏஜென்ட்டுடன் இணைக்கிறேன். லைனில் இருங்கள்.",
        "es": "Claro, le comunico con un agente. Por favor no cuelgue.",
    },
    "CALLBACK_TIME": {
        "en": "No problem. When would be a good time to call you back?",
        "hi": "कोई बात नहीं। आपको वापस कब कॉल करें?",
        "ta": "பரவாயில்லை. உங்களை எப்போது மீண்டும் அழைக்கலாம்?",
        "es": "No hay problema. ¿Cuándo le podemos volver a llamar?",
    },
    "TRANSFER_REASON": {
        "en": "Sure, I can connect you to an agent. So that I can route you to the right team, "
        "could you tell me briefly what it is about?",
        "hi": "ज़रूर, मैं आपको एजेंट से जोड़ सकती हूँ। सही टीम तक पहुँचाने के लिए कृपया संक्षेप में बताइए कि बात किस बारे में है?",
        "ta": "சரி, உங்களை ஏஜென்ட்டுடன் இணைக்கிறேன். எதைப் பற்றி என்று சுருக்கமாக சொல்லுங்கள்?",
        "es": "Claro, le comunico con un agente. Para dirigirle al equipo correcto, ¿me dice brevemente de "
        "qué se trata?",
    },
    "SMS_SUMMARY": {
        "en": "Before you go, shall I send you an SMS with a summary of this call?",
        "hi": "जाने से पहले, क्या मैं आपको इस कॉल का सारांश एसएमएस पर भेज दूँ?",
        "ta": "போகும் முன், இந்த அழைப்பின் சுருக்கத்தை SMS இல் அனுப்பட்டுமா?",
        "es": "Antes de terminar, ¿le envío un SMS con un resumen de esta llamada?",
    },
    "WRONG_PERSON": {
        "en": "I'm sorry for the trouble. Do you know {name}?",
        "hi": "परेशानी के लिए माफ़ कीजिए। क्या आप {name} को जानते हैं?",
        "ta": "சிரமத்திற்கு மன்னிக்கவும். உங்களுக்கு {name} தெரியுமா?",
        "es": "Disculpe la molestia. ¿Conoce a {name}?",
    },
}

_MACHINE_BOT: dict[str, dict[str, dict[str, str]]] = {
    "collections": {
        "GREETING": {
            "en": "Hello, this is {company} calling about your loan account. Am I speaking with {name}?",
            "hi": "नमस्ते, मैं {company} से आपके लोन अकाउंट के बारे में बात कर रही हूँ। क्या मेरी बात {name} से हो रही है?",
            "ta": "வணக்கம், நான் {company} இலிருந்து பேசுகிறேன். நான் {name} அவர்களிடம் பேசுகிறேனா?",
            "es": "Hola, le llamamos de {company} sobre su préstamo. ¿Hablo con {name}?",
        },
        "IDENTITY_CHECK": {
            "en": "For verification, please tell me the last four digits of your loan account number.",
            "hi": "वेरिफिकेशन के लिए कृपया अपने लोन अकाउंट नंबर के आखिरी चार अंक बताइए।",
            "ta": "சரிபார்ப்புக்காக உங்கள் லோன் கணக்கு எண்ணின் கடைசி நான்கு இலக்கங்களை சொல்லுங்கள்.",
            "es": "Para verificar, dígame los últimos cuatro dígitos de su número de cuenta.",
        },
        "COF": {
            "en": "Your EMI of {amount} was due on {due}. Can you make the payment today?",
            "hi": "आपकी {amount} की ईएमआई {due} को ड्यू थी। क्या आप आज पेमेंट कर सकते हैं?",
            "ta": "உங்கள் {amount} EMI {due} அன்று கட்ட வேண்டியது. இன்று கட்ட முடியுமா?",
            "es": "Su pago de {amount} venció el {due}. ¿Puede pagarlo hoy?",
        },
        "PAYMENT_DATE": {
            "en": "When will you be able to make the payment?",
            "hi": "आप पेमेंट कब तक कर पाएँगे?",
            "ta": "எப்போது பணம் கட்ட முடியும்?",
            "es": "¿Cuándo podrá hacer el pago?",
        },
        "AMOUNT": {
            "en": "Will you pay the full amount of {amount}, or how much can you pay?",
            "hi": "क्या आप पूरे {amount} भरेंगे, या कितना भर पाएँगे?",
            "ta": "முழு {amount} கட்டுவீர்களா, அல்லது எவ்வளவு கட்ட முடியும்?",
            "es": "¿Pagará el total de {amount} o cuánto puede pagar?",
        },
        "INSTALLMENT": {
            "en": "We can split the amount. Over how many months would you like to pay?",
            "hi": "हम रकम को किश्तों में बाँट सकते हैं। आप कितने महीनों में भरना चाहेंगे?",
            "ta": "தொகையை தவணைகளாக பிரிக்கலாம். எத்தனை மாதங்களில் கட்ட விரும்புகிறீர்கள்?",
            "es": "Podemos dividir el monto. ¿En cuántos meses le gustaría pagar?",
        },
        "REASON": {
            "en": "May I know why you are unable to pay?",
            "hi": "क्या मैं जान सकती हूँ कि आप पेमेंट क्यों नहीं कर पा रहे?",
            "ta": "ஏன் கட்ட முடியவில்லை என்று தெரிந்துகொள்ளலாமா?",
            "es": "¿Puedo saber por qué no puede pagar?",
        },
        "PAID_DATE": {
            "en": "Thank you. When did you make the payment?",
            "hi": "धन्यवाद। आपने पेमेंट कब किया था?",
            "ta": "நன்றி. எப்போது பணம் கட்டினீர்கள்?",
            "es": "Gracias. ¿Cuándo hizo el pago?",
        },
        "PAYMENT_MODE": {
            "en": "How would you like to pay: online through the app, by bank transfer, or at a branch?",
            "hi": "आप पेमेंट कैसे करना चाहेंगे: ऐप से ऑनलाइन, बैंक ट्रांसफर से, या ब्रांच में?",
            "ta": "எப்படி பணம் கட்ட விரும்புகிறீர்கள்: ஆப் மூலம், வங்கி பரிமாற்றம், அல்லது கிளையில்?",
            "es": "¿Cómo le gustaría pagar: en línea, por transferencia bancaria o en una sucursal?",
        },
    },
    "cards": {
        "GREETING": {
            "en": "Welcome to {company} card services. How can I help you today?",
            "hi": "{company} कार्ड सर्विसेज़ में आपका स्वागत है। मैं आपकी क्या मदद कर सकती हूँ?",
            "ta": "{company} கார்டு சேவைக்கு வரவேற்கிறோம். உங்களுக்கு என்ன உதவி வேண்டும்?",
        },
        "IDENTITY_CHECK": {
            "en": "Please tell me the last four digits of your card.",
            "hi": "कृपया अपने कार्ड के आखिरी चार अंक बताइए।",
            "ta": "உங்கள் கார்டின் கடைசி நான்கு இலக்கங்களை சொல்லுங்கள்.",
        },
        "CARD_BLOCK": {
            "en": "Your card ending in {digits} will be blocked permanently. Shall I go ahead?",
            "hi": "आपका {digits} पर खत्म होने वाला कार्ड हमेशा के लिए ब्लॉक हो जाएगा। क्या मैं आगे बढ़ूँ?",
            "ta": "{digits} இல் முடியும் உங்கள் கார்டு நிரந்தரமாக block செய்யப்படும். தொடரலாமா?",
        },
        "CARD_REPLACEMENT": {
            "en": "Your card is blocked. Would you like a replacement card sent to your registered address?",
            "hi": "आपका कार्ड ब्लॉक हो गया है। क्या आप अपने रजिस्टर्ड पते पर नया कार्ड मँगवाना चाहेंगे?",
            "ta": "உங்கள் கார்டு block ஆகிவிட்டது. புதிய கார்டு உங்கள் முகவரிக்கு அனுப்பட்டுமா?",
        },
        "DELIVERY_STATUS": {
            "en": "Your new card was dispatched on {due} and should reach you within five working days. "
            "Would you like the tracking link by SMS?",
            "hi": "आपका नया कार्ड {due} को भेजा गया था और पाँच कामकाजी दिनों में पहुँच जाएगा। "
            "क्या आप एसएमएस पर ट्रैकिंग लिंक चाहेंगे?",
            "ta": "உங்கள் புதிய கார்டு {due} அன்று அனுப்பப்பட்டது. ஐந்து நாட்களில் வந்துவிடும். "
            "SMS இல் tracking link அனுப்பட்டுமா?",
        },
        "BILL_INFO": {
            "en": "Your outstanding amount is {amount}, due on {due}. Would you like a payment link by SMS?",
            "hi": "आपकी बकाया राशि {amount} है, जो {due} तक भरनी है। क्या आप एसएमएस पर पेमेंट लिंक चाहेंगे?",
            "ta": "உங்கள் நிலுவைத் தொகை {amount}, {due} க்குள் கட்ட வேண்டும். SMS இல் payment link அனுப்பட்டுமா?",
        },
        "ADDRESS_CONFIRM": {
            "en": "Your new card will reach your registered address in five to seven working days. "
            "Shall I send you an SMS confirmation?",
            "hi": "आपका नया कार्ड पाँच से सात कामकाजी दिनों में आपके रजिस्टर्ड पते पर पहुँच जाएगा। "
            "क्या मैं आपको एसएमएस से पुष्टि भेज दूँ?",
            "ta": "உங்கள் புதிய கார்டு ஐந்து முதல் ஏழு நாட்களில் உங்கள் முகவரிக்கு வரும். SMS உறுதிப்படுத்தல் அனுப்பட்டுமா?",
        },
    },
    "renewals": {
        "GREETING": {
            "en": "Hi, this is {company} calling for {name}. Is this a good time to talk about your policy "
            "renewal?",
            "es": "Hola, le llamamos de {company} para {name}. ¿Es buen momento para hablar de la renovación "
            "de su póliza?",
        },
        "IDENTITY_CHECK": {
            "en": "To confirm your identity, please tell me the last four digits of your policy number.",
            "es": "Para confirmar su identidad, dígame los últimos cuatro dígitos de su número de póliza.",
        },
        "COF": {
            "en": "Your auto policy renews on {due} and the new premium is {amount}. Would you like to "
            "renew?",
            "es": "Su póliza de auto se renueva el {due} y la nueva prima es de {amount}. ¿Desea renovarla?",
        },
        "PAYMENT_DATE": {
            "en": "Great. On which date should we charge the card on file?",
            "es": "Perfecto. ¿En qué fecha cobramos a la tarjeta registrada?",
        },
        "INSTALLMENT": {
            "en": "We also offer monthly payments. Over how many months would you like to spread "
            "the premium?",
            "es": "También ofrecemos pagos mensuales. ¿En cuántos meses le gustaría pagar la prima?",
        },
        "REASON": {
            "en": "May I ask why you don't want to renew?",
            "es": "¿Puedo preguntarle por qué no desea renovar?",
        },
        "CARD_ON_FILE": {
            "en": "We will charge the card on file for the premium. Is that okay?",
            "es": "Cobraremos la prima a la tarjeta registrada. ¿Está bien?",
        },
    },
    "support": {
        "GREETING": {
            "en": "Thanks for calling {company}. Please tell me briefly what the problem is.",
            "hi": "{company} को कॉल करने के लिए धन्यवाद। कृपया संक्षेप में अपनी समस्या बताइए।",
        },
        "IDENTITY_CHECK": {
            "en": "Please say the last four digits of your account number.",
            "hi": "कृपया अपने अकाउंट नंबर के आखिरी चार अंक बताइए।",
        },
        "TROUBLESHOOT": {
            "en": "Please switch your router off and on again, wait a minute and tell me when the lights are "
            "green.",
            "hi": "कृपया अपना राउटर बंद करके फिर से चालू कीजिए और लाइट हरी होने पर बताइए।",
        },
        "RESOLUTION_CONFIRM": {"en": "Is your internet working now?", "hi": "क्या अब आपका इंटरनेट चल रहा है?"},
        "ENGINEER_VISIT": {
            "en": "I can book an engineer visit. Which day suits you?",
            "hi": "मैं इंजीनियर की विज़िट बुक कर सकती हूँ। आपके लिए कौन सा दिन ठीक रहेगा?",
        },
        "BILLING": {
            "en": "Your last bill was {amount}, due on {due}. Shall I send you a breakdown by SMS?",
            "hi": "आपका पिछला बिल {amount} था, जो {due} तक भरना है। क्या मैं एसएमएस पर पूरा ब्योरा भेज दूँ?",
        },
        "RETENTION": {
            "en": "We'd be sorry to see you go. We can offer you 20 percent off for six months. Would you "
            "like to stay?",
            "hi": "हम आपको छह महीने के लिए 20 प्रतिशत छूट दे सकते हैं। क्या आप हमारे साथ बने रहना चाहेंगे?",
        },
        "VISIT_TIME": {
            "en": "Would you prefer a morning or an afternoon slot? Please tell me a time.",
            "hi": "आपको सुबह का समय ठीक रहेगा या दोपहर का? कृपया समय बताइए।",
        },
    },
}

# ------------------------------------------------------------------------------------------------------------
# What callers say: templates per language and intent ("|" separates variants). Placeholders become entities:
# {date} future date, {pdate} past date, {time}, {amount}, {digits} (the call's last four digits), {duration}.
# "hi" is Devanagari, "hi_latn" romanised Hindi; a missing (language, intent) falls back to English.
# ------------------------------------------------------------------------------------------------------------

_TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "_confirm_": "yes|yes please|yeah|yes that's right|correct|sure|okay|ok go ahead|yes speaking"
        "|yes it is"
        "|yeah sure go ahead|that's correct|yep|yes yes",
        "_cancel_": "no|no thanks|no not now|nope|no i don't want that|not really|no no|don't do that"
        "|no that's all|no thank you",
        "_repeat_": "sorry what|can you repeat that|say that again please|i didn't get you|what did you say"
        "|pardon|come again|hello hello i can't hear you",
        "_callback_": "call me later|i am busy right now call me {date}|can you call me back {time}"
        "|please call me {date} {time}|i'm driving call me back later|call me back {time}"
        "|i am in a meeting call me after some time|call me {time}|{date} {time} is better",
        "ask_for_agent": "i want to talk to a person|connect me to an agent|let me speak to a human"
        "|customer care executive please|transfer me to a real person"
        "|i want to speak to your manager|agent|can i talk to someone",
        "wrong_number": "wrong number|you have the wrong number|there's no one by that name here"
        "|this is not his number|i don't know who that is|wrong person",
        "thank_you": "thank you|thanks bye|ok thank you|thanks a lot|thank you bye bye|ok thanks goodbye",
        "_oos_": "who is this|how did you get my number|is this a recorded line|what company is this|hello"
        "|hmm|one minute|what is this about",
        "inform_digits": "{digits}|it is {digits}|the last four digits are {digits}"
        "|my number ends with {digits}"
        "|{digits} is the number|yes {digits}",
        "inform_pay_later": "i will pay {date}|i can pay {date}|i'll make the payment {date}"
        "|not today i'll pay {date}"
        "|i will pay later|give me some time i will pay by {date}"
        "|salary comes {date} i will pay then|i can pay after {date}|{date}"
        "|{date} for sure",
        "ask_for_installment": "can i pay in installments|can i pay over {duration}|i want to pay in parts"
        "|can you split it into {duration}|is there an emi option"
        "|can i pay half now and half later"
        "|i can't pay it all at once can i pay monthly",
        "wont_pay": "i won't pay|i am not going to pay|i refuse to pay this|don't call me again i won't pay"
        "|stop calling me i'm not paying",
        "inform_already_paid": "i already paid|i have already made the payment|i paid it {pdate}"
        "|payment was done {pdate}|i paid {amount} {pdate}"
        "|already paid through the app"
        "|i made the payment {pdate} please check|{pdate}",
        "dispute_debt": "i never took this loan|this amount is wrong|i don't owe you anything"
        "|i have been charged wrongly|this is not my loan"
        "|the amount is incorrect i dispute it",
        "inform_amount": "i can pay {amount}|{amount}|i will pay {amount} now|only {amount} right now"
        "|i can manage {amount}|let me pay {amount} today",
        "inform_duration": "{duration}|over {duration}|i need {duration}|make it {duration}|about {duration}",
        "inform_financial_issue": "i lost my job|i don't have money right now"
        "|i am going through a financial problem"
        "|my salary has not come|there was a medical emergency at home"
        "|business is very slow these days",
        "block_card": "i want to block my card|please block my credit card|block my card immediately"
        "|my card should be blocked|i need to block my debit card"
        "|there was a fraud transaction block the card",
        "card_lost": "i lost my card|my card is stolen|i can't find my card"
        "|my wallet was stolen with the card"
        "|i misplaced my credit card",
        "check_card_delivery": "where is my new card|when will i get my card"
        "|my card has not been delivered yet"
        "|track my card delivery|what is the status of my card",
        "ask_bill_amount": "what is my bill amount|how much do i owe|tell me my outstanding balance"
        "|what is the due amount|how much is my bill this month",
        "report_no_internet": "my internet is not working|no internet since {pdate}|the broadband is down"
        "|wifi is not connecting at all|internet stopped working"
        "|there is no connection",
        "report_slow_internet": "my internet is very slow|the speed is really bad|wifi keeps dropping"
        "|pages are taking forever to load|slow broadband since {pdate}",
        "cancel_subscription": "i want to cancel my subscription|cancel my broadband"
        "|i want to end my contract"
        "|please disconnect my connection|i'm moving to another provider",
        "inform_date": "{date}|{date} works|can the engineer come {date}|{date} {time} is fine"
        "|any time {date}"
        "|{date} please",
        "too_expensive": "it's too expensive|the premium is too high|i found a cheaper quote"
        "|why did the price go up so much|i can't afford that premium",
        "not_interested": "i'm not interested|not interested thank you|i don't need it anymore|i sold the car"
        "|i already switched to another company|don't want to renew",
        "inform_payment_mode": "online|through the app|bank transfer|by card|upi|i'll pay online|net banking"
        "|i'll go to the branch|by cheque|through google pay|i will pay {date} online",
        "inform_time": "{time}|{time} is fine|any time {time}|{time} please|after lunch|morning works",
    },
    "hi_latn": {
        "_confirm_": "haan|haan ji|ji haan|haan bol raha hoon|theek hai|haan sahi hai|ha ji boliye|bilkul"
        "|ok ji",
        "_cancel_": "nahi|nahi ji|abhi nahi|nahi chahiye|mat karo|na",
        "_repeat_": "kya bola|phir se boliye|samajh nahi aaya|dobara bolo|awaaz nahi aa rahi",
        "_callback_": "baad mein call karo|abhi busy hoon {date} call karna|{time} call kijiye"
        "|{date} {time} phone karna|main gaadi chala raha hoon baad mein baat karte hain",
        "ask_for_agent": "kisi insaan se baat karao|agent se baat karni hai|customer care se baat karao"
        "|manager se baat karao",
        "wrong_number": "galat number hai|wrong number hai|yahan is naam ka koi nahi hai"
        "|main unko nahi jaanta",
        "thank_you": "dhanyavaad|shukriya|theek hai thank you|ok bye",
        "_oos_": "aap kaun bol rahe ho|mera number kahan se mila|kya kaam hai|hello hello|ek minute",
        "inform_digits": "{digits}|{digits} hai|last ke char number {digits} hain"
        "|mera number {digits} pe khatam hota hai",
        "inform_pay_later": "{date} pay kar dunga|{date} tak de dunga|abhi nahi {date} karunga"
        "|salary aane pe {date} pay karunga|thoda time do {date} tak|baad mein de dunga",
        "ask_for_installment": "kya kishton mein de sakta hoon|{duration} mein de sakta hoon kya"
        "|emi mein kar do"
        "|thoda thoda karke dunga",
        "wont_pay": "main nahi dunga|paise nahi dunga|dobara call mat karna main nahi bharunga",
        "inform_already_paid": "maine pehle hi pay kar diya|{pdate} payment kar diya tha"
        "|{amount} {pdate} bhar diye the"
        "|already pay ho gaya hai",
        "dispute_debt": "maine koi loan nahi liya|ye amount galat hai|mera koi baaki nahi hai",
        "inform_amount": "{amount} de sakta hoon|abhi {amount} dunga|sirf {amount}",
        "inform_duration": "{duration}|{duration} mein|{duration} chahiye",
        "inform_financial_issue": "meri naukri chali gayi|abhi paise nahi hain"
        "|ghar mein medical emergency hai"
        "|salary nahi aayi abhi tak",
        "block_card": "mera card block kar do|card block karna hai|credit card band kar do",
        "card_lost": "mera card kho gaya|card chori ho gaya|card nahi mil raha",
        "check_card_delivery": "mera naya card kab aayega|card abhi tak nahi aaya",
        "ask_bill_amount": "mera bill kitna hai|kitna baaki hai|due amount kya hai",
        "report_no_internet": "internet nahi chal raha|wifi band hai {pdate} se",
        "report_slow_internet": "internet bahut slow hai|speed bahut kam hai",
        "cancel_subscription": "connection band karna hai|subscription cancel kar do",
        "inform_date": "{date}|{date} aa jaiye|{date} {time} theek hai",
        "inform_payment_mode": "online|app se|upi se kar dunga|phonepe se|branch jaake dunga|net banking se"
        "|google pay se",
        "inform_time": "{time}|{time} theek hai|{time} aa jaiye",
    },
    "hi": {
        "_confirm_": "हाँ|हाँ जी|जी हाँ|ठीक है|हाँ सही है|बिल्कुल|हाँ बोल रहा हूँ",
        "_cancel_": "नहीं|नहीं जी|अभी नहीं|नहीं चाहिए|मत करो",
        "_repeat_": "क्या बोला|फिर से बोलिए|समझ नहीं आया|दोबारा बोलो|आवाज़ नहीं आ रही",
        "_callback_": "बाद में कॉल करो|अभी बिज़ी हूँ {date} कॉल करना|{time} फ़ोन कीजिए|{date} {time} कॉल करना",
        "ask_for_agent": "किसी इंसान से बात कराओ|एजेंट से बात करनी है|कस्टमर केयर से बात कराओ",
        "wrong_number": "गलत नंबर है|यहाँ इस नाम का कोई नहीं है|मैं उनको नहीं जानता",
        "thank_you": "धन्यवाद|शुक्रिया|ठीक है थैंक यू",
        "_oos_": "आप कौन बोल रहे हो|मेरा नंबर कहाँ से मिला|क्या काम है|हेलो हेलो",
        "inform_digits": "{digits}|{digits} है|आखिरी चार नंबर {digits} हैं",
        "inform_pay_later": "{date} पेमेंट कर दूँगा|{date} तक दे दूँगा|अभी नहीं {date} करूँगा|सैलरी आने पर {date} भर दूँगा",
        "ask_for_installment": "क्या किश्तों में दे सकता हूँ|{duration} में दे सकता हूँ क्या|ईएमआई में कर दो"
        "|थोड़ा थोड़ा करके दूँगा",
        "wont_pay": "मैं नहीं दूँगा|पैसे नहीं दूँगा|दोबारा कॉल मत करना मैं नहीं भरूँगा",
        "inform_already_paid": "मैंने पहले ही पेमेंट कर दिया|{pdate} पेमेंट कर दिया था|{pdate} {amount} भर दिए थे",
        "dispute_debt": "मैंने कोई लोन नहीं लिया|ये अमाउंट गलत है|मेरा कुछ बाकी नहीं है",
        "inform_amount": "{amount} दे सकता हूँ|अभी {amount} दूँगा|सिर्फ {amount}",
        "inform_duration": "{duration}|{duration} में|{duration} चाहिए",
        "inform_financial_issue": "मेरी नौकरी चली गई|अभी पैसे नहीं हैं|घर में मेडिकल इमरजेंसी है|सैलरी नहीं आई अभी तक",
        "block_card": "मेरा कार्ड ब्लॉक कर दो|कार्ड ब्लॉक करना है|क्रेडिट कार्ड बंद कर दो",
        "card_lost": "मेरा कार्ड खो गया|कार्ड चोरी हो गया|कार्ड नहीं मिल रहा",
        "check_card_delivery": "मेरा नया कार्ड कब आएगा|कार्ड अभी तक नहीं आया",
        "ask_bill_amount": "मेरा बिल कितना है|कितना बाकी है",
        "report_no_internet": "इंटरनेट नहीं चल रहा|वाईफाई बंद है",
        "report_slow_internet": "इंटरनेट बहुत स्लो है|स्पीड बहुत कम है",
        "cancel_subscription": "कनेक्शन बंद करना है|सब्सक्रिप्शन कैंसल कर दो",
        "inform_date": "{date}|{date} आ जाइए|{date} {time} ठीक है",
        "inform_payment_mode": "ऑनलाइन|ऐप से|यूपीआई से कर दूँगा|ब्रांच जाकर दूँगा|नेट बैंकिंग से",
        "inform_time": "{time}|{time} ठीक है|{time} आ जाइए",
    },
    "ta": {
        "_confirm_": "ஆமா|ஆமாம்|சரி|ஓகே சொல்லுங்க|ஆமா நான் தான்",
        "_cancel_": "இல்லை|வேண்டாம்|இப்போ வேண்டாம்",
        "_repeat_": "என்ன சொன்னீங்க|திரும்ப சொல்லுங்க|புரியல",
        "_callback_": "அப்புறம் கால் பண்ணுங்க|{date} கால் பண்ணுங்க|{time} கூப்பிடுங்க",
        "ask_for_agent": "ஒரு ஆள் கிட்ட பேசணும்|customer care கிட்ட பேசணும்",
        "wrong_number": "ராங் நம்பர்|அப்படி யாரும் இங்க இல்ல",
        "thank_you": "நன்றி|ரொம்ப நன்றி",
        "_oos_": "யார் பேசுறது|என்ன விஷயம்",
        "inform_digits": "{digits}|{digits} தான்",
        "inform_pay_later": "{date} கட்டிடுறேன்|{date} pay பண்றேன்|{date} குள்ள கட்டிடுவேன்",
        "ask_for_installment": "தவணையில கட்டலாமா|{duration} ல கட்டலாமா",
        "wont_pay": "நான் கட்ட மாட்டேன்",
        "inform_already_paid": "ஏற்கனவே கட்டிட்டேன்|{pdate} கட்டிட்டேன்",
        "dispute_debt": "நான் லோன் எடுக்கல|அமௌண்ட் தப்பு",
        "inform_amount": "{amount} கட்டுறேன்|{amount} தான் முடியும்",
        "inform_duration": "{duration}|{duration} வேணும்",
        "inform_financial_issue": "வேலை போயிடுச்சு|இப்போ பணம் இல்ல",
        "block_card": "என் கார்டை block பண்ணுங்க|கார்டு block பண்ணணும்",
        "card_lost": "கார்டு தொலைஞ்சு போச்சு|கார்டு காணோம்",
        "check_card_delivery": "புது கார்டு எப்போ வரும்",
        "ask_bill_amount": "என் பில் எவ்வளவு",
        "inform_payment_mode": "ஆன்லைன்ல|app ல கட்டுறேன்|பேங்க் போய் கட்டுறேன்|gpay ல",
    },
    "es": {
        "_confirm_": "sí|sí claro|correcto|está bien|sí soy yo|de acuerdo",
        "_cancel_": "no|no gracias|ahora no|no quiero",
        "_repeat_": "perdón qué dijo|puede repetir|no le entendí|otra vez por favor",
        "_callback_": "llámeme más tarde|estoy ocupado llámeme {date}|llámeme {time}|llámeme {date} {time}",
        "ask_for_agent": "quiero hablar con una persona|páseme con un agente|con un representante por favor",
        "wrong_number": "número equivocado|aquí no vive nadie con ese nombre|se equivocó de número",
        "thank_you": "gracias|muchas gracias adiós|gracias hasta luego",
        "_oos_": "quién habla|de dónde sacaron mi número|qué quiere|bueno bueno",
        "inform_digits": "{digits}|son {digits}|los últimos cuatro son {digits}",
        "inform_pay_later": "voy a pagar {date}|puedo pagar {date}|le pago {date}|pago después|{date}",
        "ask_for_installment": "puedo pagar en cuotas|puedo pagarlo en {duration}|a plazos por favor",
        "wont_pay": "no voy a pagar|no pienso pagar eso",
        "inform_already_paid": "ya pagué|pagué {pdate}|ya hice el pago {pdate}|pagué {amount} {pdate}",
        "dispute_debt": "yo no debo nada|esa cantidad está mal|nunca pedí ese préstamo",
        "inform_amount": "puedo pagar {amount}|{amount}|ahora solo {amount}",
        "inform_duration": "{duration}|en {duration}",
        "inform_financial_issue": "perdí mi trabajo|no tengo dinero ahora|tuve una emergencia médica",
        "too_expensive": "es muy caro|la prima es demasiado alta|encontré algo más barato",
        "not_interested": "no me interesa|ya no lo necesito|vendí el carro|ya me cambié de compañía",
        "inform_payment_mode": "en línea|por transferencia|con tarjeta|en la sucursal|por la aplicación",
    },
}

#: Template language tried after a missing (language, intent).
_TEMPLATE_FALLBACK = {"hi_latn": "hi", "hi": "hi_latn", "ta": "en", "es": "en", "en": "en"}

# Plausible production confusions: true intent -> [(predicted intent, weight)]. Weights encode how easily the
# SLU mixes them up; candidates outside a flow's vocabulary are dropped for that flow.
_CONFUSIONS: dict[str, list[tuple[str, float]]] = {
    "_confirm_": [("thank_you", 3), ("_oos_", 2), ("inform_pay_later", 1), ("_cancel_", 1)],
    "_cancel_": [("wont_pay", 3), ("not_interested", 3), ("_oos_", 2), ("_confirm_", 1)],
    "_repeat_": [("_oos_", 3), ("_confirm_", 1), ("ask_for_agent", 1)],
    "_callback_": [("inform_pay_later", 3), ("_cancel_", 1), ("_oos_", 1), ("inform_date", 2)],
    "ask_for_agent": [("_callback_", 2), ("_oos_", 2), ("_repeat_", 1)],
    "wrong_number": [("_cancel_", 4), ("_oos_", 1), ("dispute_debt", 1)],
    "thank_you": [("_confirm_", 4), ("_oos_", 1)],
    "_oos_": [("_repeat_", 2), ("_cancel_", 1), ("_confirm_", 1), ("ask_for_agent", 1)],
    "inform_digits": [("_oos_", 2), ("inform_amount", 2), ("_confirm_", 1)],
    "inform_pay_later": [
        ("ask_for_installment", 4),
        ("_callback_", 3),
        ("inform_already_paid", 1),
        ("_confirm_", 1),
    ],
    "ask_for_installment": [("inform_pay_later", 4), ("inform_financial_issue", 2), ("inform_amount", 1)],
    "wont_pay": [("inform_financial_issue", 3), ("_cancel_", 3), ("dispute_debt", 2)],
    "inform_already_paid": [("inform_pay_later", 3), ("dispute_debt", 2), ("_confirm_", 1)],
    "dispute_debt": [
        ("wont_pay", 3),
        ("inform_already_paid", 2),
        ("wrong_number", 1),
        ("ask_bill_amount", 1),
    ],
    "inform_amount": [("inform_digits", 2), ("ask_for_installment", 2), ("_confirm_", 1)],
    "inform_duration": [("ask_for_installment", 3), ("inform_pay_later", 2)],
    "inform_financial_issue": [("wont_pay", 3), ("ask_for_installment", 2), ("inform_pay_later", 1)],
    "block_card": [("card_lost", 5), ("_oos_", 1), ("check_card_delivery", 1)],
    "card_lost": [("block_card", 5), ("check_card_delivery", 1)],
    "check_card_delivery": [("card_lost", 2), ("ask_bill_amount", 1), ("_oos_", 1)],
    "ask_bill_amount": [("check_card_delivery", 1), ("_oos_", 1), ("dispute_debt", 1)],
    "report_no_internet": [("report_slow_internet", 5), ("_oos_", 1)],
    "report_slow_internet": [("report_no_internet", 5), ("_oos_", 1)],
    "cancel_subscription": [("_cancel_", 2), ("ask_for_agent", 1), ("report_no_internet", 1)],
    "inform_date": [("_callback_", 2), ("_confirm_", 1), ("_oos_", 1)],
    "too_expensive": [("not_interested", 3), ("ask_for_installment", 2), ("_cancel_", 1)],
    "not_interested": [("_cancel_", 3), ("too_expensive", 2)],
    "inform_payment_mode": [("_confirm_", 2), ("_oos_", 2), ("inform_pay_later", 1)],
    "inform_time": [("inform_date", 3), ("_callback_", 2), ("_confirm_", 1)],
}

# ------------------------------------------------------------------------------------------------------------
# Entity surface forms: (pattern, kind, argument) per template language and placeholder.
# ------------------------------------------------------------------------------------------------------------

Form = tuple[str, str, Any]

_WEEKDAYS = {
    "en": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "hi_latn": ("somvar", "mangalvar", "budhvar", "guruvar", "shukravar", "shanivar", "ravivar"),
    "hi": ("सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार"),
    "ta": (
        "திங்கள்கிழமை",
        "செவ்வாய்க்கிழமை",
        "புதன்கிழமை",
        "வியாழக்கிழமை",
        "வெள்ளிக்கிழமை",
        "சனிக்கிழமை",
        "ஞாயிற்றுக்கிழமை",
    ),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS = {
    "en": (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "hi": ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"),
    "ta": (
        "ஜனவரி",
        "பிப்ரவரி",
        "மார்ச்",
        "ஏப்ரல்",
        "மே",
        "ஜூன்",
        "ஜூலை",
        "ஆகஸ்ட்",
        "செப்டம்பர்",
        "அக்டோபர்",
        "நவம்பர்",
        "டிசம்பர்",
    ),
}
_DIGIT_WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "hi_latn": ("shunya", "ek", "do", "teen", "char", "paanch", "chhe", "saat", "aath", "nau"),
    "hi": ("शून्य", "एक", "दो", "तीन", "चार", "पाँच", "छह", "सात", "आठ", "नौ"),
    "ta": ("பூஜ்ஜியம்", "ஒன்று", "இரண்டு", "மூன்று", "நான்கு", "ஐந்து", "ஆறு", "ஏழு", "எட்டு", "ஒன்பது"),
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
}
_DIGIT_FORMS: list[Form] = [
    ("{d}", "digits", "plain"),
    ("{d}", "digits", "plain"),
    ("{d}", "digits", "spaced"),
    ("{d}", "digits", "words"),
]

_FORMS: dict[str, dict[str, list[Form]]] = {
    "en": {
        "date": [
            ("today", "days", 0),
            ("tomorrow", "days", 1),
            ("day after tomorrow", "days", 2),
            ("next {wd}", "weekday", "next"),
            ("on {wd}", "weekday", "coming"),
            ("this {wd}", "weekday", "coming"),
            ("on the {dom}", "dom", "future"),
            ("{dom} {month}", "dom_month", None),
            ("next week", "next_week", None),
            ("by the end of the month", "month_end", None),
            ("in {n} days", "n_days", 1),
        ],
        "pdate": [
            ("yesterday", "days", -1),
            ("day before yesterday", "days", -2),
            ("last week", "last_week", None),
            ("on {wd}", "weekday", "prev"),
            ("last {wd}", "weekday", "prev"),
            ("{n} days ago", "n_days", -1),
            ("on the {dom}", "dom", "past"),
        ],
        "time": [
            ("at {h} pm", "clock", (1, 8, 12, 0)),
            ("at {h} am", "clock", (8, 11, 0, 0)),
            ("around {h} in the evening", "clock", (5, 8, 12, 0)),
            ("at {h}:30 pm", "clock", (1, 7, 12, 30)),
            ("after {h} pm", "clock", (2, 7, 12, 0)),
            ("in the morning at {h}", "clock", (9, 11, 0, 0)),
        ],
        "duration": [
            ("{n} months", "months", None),
            ("six months", "months_fixed", 6),
            ("three months", "months_fixed", 3),
            ("a year", "months_fixed", 12),
            ("{n} weeks", "weeks", None),
        ],
        "digits": _DIGIT_FORMS,
    },
    "hi_latn": {
        "date": [
            ("aaj", "days", 0),
            ("kal", "days", 1),
            ("parso", "days", 2),
            ("agle {wd}", "weekday", "next"),
            ("{wd} ko", "weekday", "coming"),
            ("{dom} tarikh ko", "dom", "future"),
            ("agle hafte", "next_week", None),
            ("mahine ke end tak", "month_end", None),
            ("{n} din mein", "n_days", 1),
        ],
        "pdate": [
            ("kal", "days", -1),
            ("parso", "days", -2),
            ("pichle hafte", "last_week", None),
            ("pichle {wd}", "weekday", "prev"),
            ("{dom} tarikh ko", "dom", "past"),
            ("{n} din pehle", "n_days", -1),
        ],
        "time": [
            ("shaam {h} baje", "clock", (4, 8, 12, 0)),
            ("subah {h} baje", "clock", (8, 11, 0, 0)),
            ("dopahar {h} baje", "clock", (1, 3, 12, 0)),
            ("{h} baje ke baad", "clock", (2, 7, 12, 0)),
        ],
        "duration": [
            ("{n} mahine", "months", None),
            ("chhe mahine", "months_fixed", 6),
            ("teen mahine", "months_fixed", 3),
            ("ek saal", "months_fixed", 12),
        ],
        "digits": _DIGIT_FORMS,
    },
    "hi": {
        "date": [
            ("आज", "days", 0),
            ("कल", "days", 1),
            ("परसों", "days", 2),
            ("अगले {wd}", "weekday", "next"),
            ("{wd} को", "weekday", "coming"),
            ("{dom} तारीख को", "dom", "future"),
            ("अगले हफ्ते", "next_week", None),
            ("महीने के आखिर तक", "month_end", None),
        ],
        "pdate": [
            ("कल", "days", -1),
            ("परसों", "days", -2),
            ("पिछले हफ्ते", "last_week", None),
            ("पिछले {wd}", "weekday", "prev"),
            ("{dom} तारीख को", "dom", "past"),
        ],
        "time": [
            ("शाम {h} बजे", "clock", (4, 8, 12, 0)),
            ("सुबह {h} बजे", "clock", (8, 11, 0, 0)),
            ("दोपहर {h} बजे", "clock", (1, 3, 12, 0)),
        ],
        "duration": [
            ("{n} महीने", "months", None),
            ("छह महीने", "months_fixed", 6),
            ("तीन महीने", "months_fixed", 3),
            ("एक साल", "months_fixed", 12),
        ],
        "digits": _DIGIT_FORMS,
    },
    "ta": {
        "date": [
            ("இன்னைக்கு", "days", 0),
            ("நாளைக்கு", "days", 1),
            ("நாளை மறுநாள்", "days", 2),
            ("அடுத்த {wd}", "weekday", "next"),
            ("{wd}", "weekday", "coming"),
            ("{dom} தேதி", "dom", "future"),
            ("அடுத்த வாரம்", "next_week", None),
            ("மாச கடைசியில", "month_end", None),
        ],
        "pdate": [
            ("நேத்து", "days", -1),
            ("போன வாரம்", "last_week", None),
            ("போன {wd}", "weekday", "prev"),
            ("{dom} தேதி", "dom", "past"),
        ],
        "time": [
            ("சாயங்காலம் {h} மணிக்கு", "clock", (4, 8, 12, 0)),
            ("காலையில {h} மணிக்கு", "clock", (8, 11, 0, 0)),
        ],
        "duration": [("{n} மாசம்", "months", None), ("ஆறு மாசம்", "months_fixed", 6)],
        "digits": _DIGIT_FORMS,
    },
    "es": {
        "date": [
            ("hoy", "days", 0),
            ("mañana", "days", 1),
            ("pasado mañana", "days", 2),
            ("el próximo {wd}", "weekday", "next"),
            ("el {wd}", "weekday", "coming"),
            ("el {dom} de {month}", "dom_month", None),
            ("la próxima semana", "next_week", None),
            ("a fin de mes", "month_end", None),
            ("en {n} días", "n_days", 1),
        ],
        "pdate": [
            ("ayer", "days", -1),
            ("anteayer", "days", -2),
            ("la semana pasada", "last_week", None),
            ("el {wd} pasado", "weekday", "prev"),
            ("hace {n} días", "n_days", -1),
        ],
        "time": [
            ("a las {h} de la tarde", "clock", (1, 7, 12, 0)),
            ("a las {h} de la mañana", "clock", (8, 11, 0, 0)),
            ("como a las {h} de la noche", "clock", (7, 9, 12, 0)),
        ],
        "duration": [
            ("{n} meses", "months", None),
            ("seis meses", "months_fixed", 6),
            ("un año", "months_fixed", 12),
        ],
        "digits": _DIGIT_FORMS,
    },
}

#: Amount surface forms per (currency, template language): "{n}" is drawn from the call's due amount.
_AMOUNT_FORMS: dict[tuple[str, str], list[Form]] = {
    ("INR", "en"): [
        ("{n} rupees", "amount", None),
        ("rs {n}", "amount", None),
        ("{n} rupees", "amount", None),
        ("five thousand rupees", "amount_fixed", 5000),
        ("two thousand rupees", "amount_fixed", 2000),
        ("ten thousand rupees", "amount_fixed", 10000),
        ("fifteen hundred rupees", "amount_fixed", 1500),
    ],
    ("INR", "hi_latn"): [
        ("{n} rupaye", "amount", None),
        ("{n} rupees", "amount", None),
        ("paanch hazaar rupaye", "amount_fixed", 5000),
        ("do hazaar", "amount_fixed", 2000),
        ("das hazaar rupaye", "amount_fixed", 10000),
        ("dedh hazaar", "amount_fixed", 1500),
    ],
    ("INR", "hi"): [
        ("{n} रुपये", "amount", None),
        ("{n} रुपये", "amount", None),
        ("पाँच हज़ार रुपये", "amount_fixed", 5000),
        ("दो हज़ार", "amount_fixed", 2000),
        ("दस हज़ार रुपये", "amount_fixed", 10000),
    ],
    ("INR", "ta"): [
        ("{n} ரூபாய்", "amount", None),
        ("{n} rupees", "amount", None),
        ("ஐந்தாயிரம் ரூபாய்", "amount_fixed", 5000),
    ],
    ("USD", "en"): [
        ("${n}", "amount", None),
        ("{n} dollars", "amount", None),
        ("${n}", "amount", None),
        ("two hundred dollars", "amount_fixed", 200),
        ("fifty bucks", "amount_fixed", 50),
        ("five hundred dollars", "amount_fixed", 500),
        ("a hundred dollars", "amount_fixed", 100),
    ],
    ("USD", "es"): [
        ("{n} dólares", "amount", None),
        ("${n}", "amount", None),
        ("doscientos dólares", "amount_fixed", 200),
        ("cien dólares", "amount_fixed", 100),
        ("quinientos dólares", "amount_fixed", 500),
    ],
    ("GBP", "en"): [
        ("£{n}", "amount", None),
        ("{n} pounds", "amount", None),
        ("fifty quid", "amount_fixed", 50),
    ],
}
_AMOUNT_STEP = {"INR": 500, "USD": 25, "GBP": 10}
_DUE_RANGE = {"INR": (2000, 60000), "USD": (120, 2400), "GBP": (25, 180)}

ENTITY_TYPES = {
    "date": "date",
    "pdate": "date",
    "time": "time",
    "amount": "amount_of_money",
    "digits": "number",
    "duration": "duration",
}
_SLOT_NAMES = {
    "date": "date",
    "time": "time",
    "amount_of_money": "amount",
    "number": "account_digits",
    "duration": "duration",
}

# ------------------------------------------------------------------------------------------------------------
# ASR noise
# ------------------------------------------------------------------------------------------------------------

_HOMOPHONES = {
    "to": "two",
    "two": "to",
    "for": "four",
    "four": "for",
    "right": "write",
    "no": "know",
    "know": "no",
    "week": "weak",
    "pay": "pe",
    "paid": "payed",
    "card": "cart",
    "block": "blog",
    "loan": "lone",
    "bill": "bell",
    "by": "buy",
    "yes": "yeah",
    "yeah": "yes",
    "ok": "okay",
    "okay": "ok",
    "won't": "want",
    "can't": "can",
    "call": "kal",
    "kal": "call",
    "there": "their",
    "their": "there",
    "one": "won",
    "i'll": "aisle",
    "tomorrow": "to morrow",
    "internet": "inter net",
    "wifi": "wi-fi",
    "agent": "agents",
    "haan": "han",
    "nahi": "nahin",
    "theek": "thik",
    "hai": "he",
    "main": "mein",
    "mein": "main",
    "dunga": "doonga",
    "karo": "karu",
    "sorry": "sari",
    "months": "month",
    "rupees": "rupee",
    "है": "हैं",
    "हैं": "है",
    "नहीं": "नही",
    "हाँ": "हां",
    "कल": "काल",
    "कार्ड": "कार्ड्स",
    "पेमेंट": "पेमेंट्स",
    "sí": "si",
    "mañana": "manana",
    "pagar": "pagaré",
    "número": "numero",
    "சரி": "சரீ",
}
_NUMBER_WORDS = {
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "10": "ten",
    "11": "eleven",
    "12": "twelve",
}
_WORD_NUMBERS = {word: digits for digits, word in _NUMBER_WORDS.items()}
_FILLERS = {
    "en": ("uh", "umm", "hmm", "so"),
    "hi_latn": ("haan", "accha", "matlab"),
    "hi": ("अच्छा", "वो"),
    "ta": ("அது", "ஆ"),
    "es": ("eh", "este", "pues"),
}
_ASR_LATENCY = {"google": 0.45, "deepgram": 0.28, "azure": 0.5}


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
            text = (
                _TEMPLATES[lang].get(intent)
                or _TEMPLATES[_TEMPLATE_FALLBACK[lang]].get(intent)
                or _TEMPLATES["en"][intent]
            )
            compiled[(lang, intent)] = _template_set(text.split("|"))
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


def _compile_machine(name: str) -> Machine:
    topics = [(intent, weight, "AGENT_TRANSFER", None) for intent, weight in _TRANSFER_TOPICS[name]]
    specs = {**_SHARED_STATES, "TRANSFER_REASON": (None, _TRANSFER_BASE + topics), **_MACHINE_STATES[name]}
    states = {state: _compile_state(state, *spec) for state, spec in specs.items()}
    intents = frozenset(opt[0] for state in states.values() for opt in state.options.items) | {"_oos_"}
    intents -= {SILENCE}
    confusions = {}
    for intent in intents:
        candidates = [(c, w) for c, w in _CONFUSIONS.get(intent, []) if c in intents and c != intent]
        confusions[intent] = Weighted(candidates or [("_oos_" if intent != "_oos_" else "_repeat_", 1.0)])
    skips = {**_SKIP_IF_FILLED["*"], **_SKIP_IF_FILLED.get(name, {})}
    return Machine(name, states, intents, confusions, skips)


TEMPLATES = _compile_templates()
MACHINES = {name: _compile_machine(name) for name in _MACHINE_STATES}
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
    }[machine]
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
        walk = self._walk(scope)
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
    engine = schema.create_engine(url)
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
    finally:
        if collecting:
            gc.enable()
        engine.dispose()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


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
