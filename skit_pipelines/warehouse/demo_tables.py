"""The demo warehouse's data tables: clients, dialogue machines, what bots and callers say, entity lexicons.

Why they live in YAML package data (``skit_pipelines/warehouse/data/demo/*.yaml``) and not in Python:

- **Data is edited by people who do not touch the generator.** Adding a Tamil template or a client is a
  change to a table, reviewable on its own; the simulation in :mod:`~skit_pipelines.warehouse.demo_data`
  stays small enough to read.
- **Loaded once, checked once.** :func:`load_demo_tables` reads the files through :mod:`importlib.resources`
  (so they work from a wheel), validates each against its pydantic model and fails naming the file, the
  path inside it and what was expected, one problem a line
  (``dialogue.yaml: machines.cards.GREETING.options[2]: expected [intent, weight, next, disposition], got a
  list of 3``; a misspelt key is an error, not an unused value), and caches the typed result.
- **Order is part of the contract.** The generator's seeded draws walk these tables in file order (YAML
  mappings keep it), so the same seed writes the same rows: reordering entries changes every demo
  database. Sequences become tuples, as the generator's tables always were.
"""

from __future__ import annotations

import dataclasses
import string
import uuid
from functools import cache, cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainValidator,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails, PydanticCustomError

from skit_pipelines.errors import SkitPipelinesError

DATA_PACKAGE = "skit_pipelines.warehouse"
DATA_DIR = "data/demo"
FILES = (
    "clients.yaml",
    "dialogue.yaml",
    "bot.yaml",
    "caller.yaml",
    "entities.yaml",
    "asr.yaml",
    "debt_audit.yaml",
)
#: libyaml's safe loader when present (about 10x faster at import), else PyYAML's own; same result.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NAMESPACE = uuid.UUID("5b0f0d2e-6d1a-4f57-9f1e-3c6a2b7e9d10")
#: At most this many problems are listed in one error (one broken table can produce hundreds).
_MAX_PROBLEMS = 20


class DemoTablesError(SkitPipelinesError, ValueError):
    """A demo data file is missing, unreadable or not shaped as the generator needs."""


# -- shapes of the YAML values ------------------------------------------------------------------------------
# pydantic checks the files; these few types give its errors the words a person editing a table needs
# ("expected [intent, weight, next, disposition]"), where pydantic's own would say "tuple" or "float".


def _describe(value: Any) -> str:
    """What a value is, for "got ...": numbers as they are, anything else by kind (never long text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _expected(what: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(
        "demo_shape", "expected {what}, got {got}", {"what": what, "got": _describe(value)}
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value)
    return value


def _number(value: Any) -> float:
    """A non-negative int or float, kept as it is (``due_range`` bounds stay ints for ``randint``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _expected("a non-negative number", value)
    return value


def _hashable(value: Any) -> Any:
    """A form's argument: a list (a time's offset days, hour, ...) becomes a tuple: hashable like the rest."""
    return tuple(value) if isinstance(value, list) else value


def _fixed(what: str, size: int) -> WrapValidator:
    """A list of exactly ``size`` items, described as ``what`` when it is not; then each item is checked."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, list | tuple) or len(value) != size:
            raise _expected(what, value)
        return handler(value)

    return WrapValidator(check)


Text = Annotated[str, PlainValidator(_text)]
Number = Annotated[float, PlainValidator(_number)]  # an int stays an int
Texts = tuple[Text, ...]
Pair = Annotated[tuple[Text, Number], _fixed("a [name, weight] pair", 2)]
Option = Annotated[tuple[Text, Number, Text, Text | None], _fixed("[intent, weight, next, disposition]", 4)]
Form = Annotated[
    tuple[Text, Text, Annotated[Any, AfterValidator(_hashable)]], _fixed("[pattern, kind, argument]", 3)
]
Skip = Annotated[tuple[Text, Text], _fixed("a [placeholder, state] pair", 2)]
Bounds = Annotated[tuple[Number, Number], _fixed("a [low, high] pair", 2)]
Answer = Annotated[tuple[Text, Number, Text | None], _fixed("[intent, weight, disposition]", 3)]
#: A state's spec: (placeholder the bot expects or None, options).
StateSpec = tuple[str | None, list[Option]]

_RECORD = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silently unused one
_FILE = ConfigDict(extra="ignore")  # files may hold YAML anchors (``identity_check: &identity_check``)


@dataclass(frozen=True, config=_RECORD)
class Flow:
    """One flow of a client (an entry of ``clients[].flows`` in clients.yaml)."""

    flow_id: Text
    name: Text
    machine: Text
    call_type: Text
    template_id: Text
    versions: tuple[Pair, ...]
    virtual_number: Text
    weight: Number

    @cached_property
    def uuid(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"flow:{self.flow_id}"))


@dataclass(frozen=True, config=_RECORD)
class Client:
    """One demo client (an entry of ``clients`` in clients.yaml); validated by pydantic when built."""

    client_id: Text
    slug: Text
    name: Text
    use_case: Text
    timezone: Text
    currency: Text
    country: Text
    languages: tuple[Pair, ...]
    asr_providers: tuple[Pair, ...]
    flows: tuple[Flow, ...]
    weight: Number

    @cached_property
    def uuid(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"client:{self.client_id}"))


@dataclasses.dataclass(frozen=True)
class DemoTables:
    """Everything the generator draws from, typed; field names follow the YAML keys."""

    clients: tuple[Client, ...]
    names: dict[str, tuple[str, ...]]
    shared_states: dict[str, StateSpec]
    transfer_base: list[Option]
    transfer_topics: dict[str, list[tuple[str, float]]]
    machine_states: dict[str, dict[str, StateSpec]]
    default_disposition: dict[str, str]
    skip_if_filled: dict[str, dict[str, tuple[str, str]]]
    reprompt: dict[str, str]
    closing: dict[str, str]
    shared_bot: dict[str, dict[str, str]]
    machine_bot: dict[str, dict[str, dict[str, str]]]
    templates: dict[str, dict[str, tuple[str, ...]]]
    template_fallback: dict[str, str]
    confusions: dict[str, list[tuple[str, float]]]
    weekdays: dict[str, tuple[str, ...]]
    months: dict[str, tuple[str, ...]]
    digit_words: dict[str, tuple[str, ...]]
    forms: dict[str, dict[str, list[Form]]]
    amount_forms: dict[tuple[str, str], list[Form]]
    amount_step: dict[str, int]
    due_range: dict[str, tuple[int, int]]
    entity_types: dict[str, str]
    slot_names: dict[str, str]
    homophones: dict[str, str]
    number_words: dict[str, str]
    fillers: dict[str, tuple[str, ...]]
    asr_latency: dict[str, float]
    audit: DemoAuditFile
    #: (case, script index) -> the script's label, derived from its steps by :func:`audit_label`
    audit_labels: dict[tuple[str, int], AuditLabel]


class DemoState(BaseModel):
    """A dialogue state: the placeholder the bot expects (``null``: none; the key is required), options."""

    model_config = _RECORD
    expects: Text | None
    options: list[Option]

    def spec(self) -> StateSpec:
        return (self.expects, list(self.options))


class DemoClientsFile(BaseModel):
    model_config = _FILE
    clients: tuple[Client, ...]
    names: dict[str, Texts]


class DemoDialogueFile(BaseModel):
    model_config = _FILE
    shared_states: dict[str, DemoState]
    transfer_base: list[Option]
    transfer_topics: dict[str, list[Pair]]
    machines: dict[str, dict[str, DemoState]]
    default_disposition: dict[str, Text]
    skip_if_filled: dict[str, dict[str, Skip]]


class DemoBotFile(BaseModel):
    model_config = _FILE
    reprompt: dict[str, Text]
    closing: dict[str, Text]
    shared: dict[str, dict[str, Text]]
    machines: dict[str, dict[str, dict[str, Text]]]


class DemoCallerFile(BaseModel):
    model_config = _FILE
    templates: dict[str, dict[str, Texts]]
    template_fallback: dict[str, Text]
    confusions: dict[str, list[Pair]]


class DemoEntitiesFile(BaseModel):
    model_config = _FILE
    weekdays: dict[str, Texts]
    months: dict[str, Texts]
    digit_words: dict[str, Texts]
    forms: dict[str, dict[str, list[Form]]]
    amount_forms: dict[str, dict[str, list[Form]]]
    amount_step: dict[str, Number]
    due_range: dict[str, Bounds]
    entity_types: dict[str, Text]
    slot_names: dict[str, Text]


class DemoAsrFile(BaseModel):
    model_config = _FILE
    homophones: dict[str, Text]
    number_words: dict[str, Text]
    fillers: dict[str, Texts]
    latency: dict[str, Number]


#: The compliance cases of the debt-collection audit flow, and whether each is a breach.
AUDIT_CASES: dict[str, bool] = {
    "verified_debtor_told": False,
    "told_before_verification": True,
    "third_party_told_amount": True,
    "third_party_told_nothing": False,
}
#: What a callee's answer establishes (see debt_audit.yaml).
Callee = Literal["debtor", "verified", "refused", "third_party"]
#: Placeholders a debt_audit.yaml phrase may use (filled per call by the generator).
AUDIT_PLACEHOLDERS = frozenset(
    {"name", "first", "company", "agent", "amount", "amount_dollars", "due", "phone"}
)
AMOUNT_PLACEHOLDERS = frozenset({"amount", "amount_dollars"})
#: A script has one turn per step plus at most two re-asks each: 3-5 steps keep calls at 3-15 turns.
AUDIT_STEPS = (3, 5)


class AuditStep(BaseModel):
    """One step of a debt-collection audit script: the bot's phrase set, the caller's answer set."""

    model_config = _RECORD
    state: Text
    bot: Text
    caller: Text
    callee: Callee | None = None


class AuditScript(BaseModel):
    model_config = _RECORD
    weight: Number
    steps: list[AuditStep]


class AuditCase(BaseModel):
    model_config = _RECORD
    weight: Number
    scripts: list[AuditScript]


class DemoAuditFile(BaseModel):
    """debt_audit.yaml: the debt-collection audit flow, whose calls carry a known compliance label."""

    model_config = _FILE
    machine: Text
    default_disposition: Text
    agents: Texts
    callback_numbers: Texts
    dob_forms: Texts
    she: Texts
    bot: dict[str, Texts]
    caller: dict[str, list[Answer]]
    cases: dict[str, AuditCase]


@dataclasses.dataclass(frozen=True)
class AuditLabel:
    """A call's compliance ground truth (turn context ``demo_compliance``) and the step that decided it."""

    breach: bool
    case: str
    step: int | None  # 0-based step whose bot line first told an amount; None when none did

    def as_context(self) -> dict[str, Any]:
        return {"breach": self.breach, "case": self.case}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def discloses(phrases: tuple[str, ...]) -> bool:
    """Whether a phrase set tells the amount owed (every phrase of a set does, or none)."""
    return bool(_placeholders(phrases[0]) & AMOUNT_PLACEHOLDERS)


def audit_label(steps: list[AuditStep], bot: dict[str, tuple[str, ...]]) -> AuditLabel:
    """The label a script's steps imply: the first bot line telling an amount decides, against what the
    callee had established by then (a third party, a verified debtor, or neither yet); a script that tells
    no amount is "third party told nothing" only if a third party answered. Raises ``ValueError`` for a
    script that fits no case."""
    callee: str | None = None
    for index, step in enumerate(steps):
        if discloses(bot[step.bot]):
            if callee == "third_party":
                return AuditLabel(True, "third_party_told_amount", index)
            if callee != "verified":
                return AuditLabel(True, "told_before_verification", index)
            return AuditLabel(False, "verified_debtor_told", index)
        callee = step.callee or callee
    if callee == "third_party":
        return AuditLabel(False, "third_party_told_nothing", None)
    raise ValueError("tells no amount and no third party answers: it fits no compliance case")


def _path(loc: tuple[int | str, ...]) -> str:
    """``("machines", "cards", "GREETING", "options", 2)`` → ``machines.cards.GREETING.options[2]``."""
    text = ""
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step != "[key]":  # pydantic's marker for "the key of the entry before", not the value
            text += f".{step}" if text else step
    return text or "(top level)"


def _problem(error: ErrorDetails) -> str:
    """One pydantic error in the file's words: where (``path``) and what was expected."""
    loc = tuple(error["loc"])
    if error["type"] in ("missing", "missing_argument"):
        return f"{_path(loc[:-1])}: missing key {loc[-1]!r}"
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{_path(loc[:-1])}: unknown key {loc[-1]!r}"
    if error["type"] == "demo_shape":
        return f"{_path(loc)}: {error['msg']}"
    if error["type"] in ("dict_type", "model_type", "dataclass_type", "model_attributes_type"):
        return f"{_path(loc)}: expected a mapping with string keys, got {_describe(error['input'])}"
    if error["type"] in ("list_type", "tuple_type"):
        return f"{_path(loc)}: expected a list, got {_describe(error['input'])}"
    if loc and loc[-1] == "[key]":  # (..., the key, "[key]"): the mapping holds a key that is no string
        return f"{_path(loc[:-2])}: expected string keys, got key {_describe(error['input'])}"
    return f"{_path(loc)}: {error['msg']}, got {_describe(error['input'])}"


def _read_file(root: Traversable, name: str) -> Any:
    try:
        text = root.joinpath(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise DemoTablesError(f"{name}: cannot be read from {root}: {exc.strerror or exc}") from exc
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        # our own package data, not a user's: the parser's line and column help whoever edited it
        raise DemoTablesError(f"{name}: not valid YAML: {exc}") from exc


_File = TypeVar("_File", bound=BaseModel)


def _load(root: Traversable, name: str, model: type[_File]) -> _File:
    """File ``name`` of ``root`` as ``model``, or :class:`DemoTablesError` listing every problem, one per
    line, as ``file: path: problem`` (pydantic's :class:`~pydantic.ValidationError` is its cause)."""
    data = _read_file(root, name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{name}: {_problem(error)}" for error in exc.errors(include_url=False)]
        shown = problems[:_MAX_PROBLEMS]
        more = len(problems) - len(shown)
        message = "\n".join(shown) + (f"\n... and {more} more" if more else "")
        raise DemoTablesError(message) from exc


@cache
def load_demo_tables() -> DemoTables:
    """The package's demo tables, read and checked once (the generator's import calls it)."""
    return read_demo_tables(resources.files(DATA_PACKAGE).joinpath(DATA_DIR))


def read_demo_tables(root: Traversable) -> DemoTables:
    """Read, check and type the demo data files in ``root`` (a folder holding :data:`FILES`).

    Raises :class:`DemoTablesError` naming the file and the path inside it for a missing file or key, a
    value of the wrong shape, or a reference to something no table defines (a flow's machine, a client's
    country or currency).
    """
    clients = _load(root, "clients.yaml", DemoClientsFile)
    dialogue = _load(root, "dialogue.yaml", DemoDialogueFile)
    bot = _load(root, "bot.yaml", DemoBotFile)
    caller = _load(root, "caller.yaml", DemoCallerFile)
    entities = _load(root, "entities.yaml", DemoEntitiesFile)
    asr = _load(root, "asr.yaml", DemoAsrFile)
    audit = _load(root, "debt_audit.yaml", DemoAuditFile)
    tables = DemoTables(
        clients=clients.clients,
        names=clients.names,
        shared_states={name: state.spec() for name, state in dialogue.shared_states.items()},
        transfer_base=dialogue.transfer_base,
        transfer_topics=dialogue.transfer_topics,
        machine_states={
            machine: {name: state.spec() for name, state in states.items()}
            for machine, states in dialogue.machines.items()
        },
        default_disposition=dialogue.default_disposition,
        skip_if_filled=dialogue.skip_if_filled,
        reprompt=bot.reprompt,
        closing=bot.closing,
        shared_bot=bot.shared,
        machine_bot=bot.machines,
        templates=caller.templates,
        template_fallback=caller.template_fallback,
        confusions=caller.confusions,
        weekdays=entities.weekdays,
        months=entities.months,
        digit_words=entities.digit_words,
        forms=entities.forms,
        amount_forms={
            (currency, lang): forms
            for currency, by_lang in entities.amount_forms.items()
            for lang, forms in by_lang.items()
        },
        amount_step=entities.amount_step,
        due_range=entities.due_range,
        entity_types=entities.entity_types,
        slot_names=entities.slot_names,
        homophones=asr.homophones,
        number_words=asr.number_words,
        fillers=asr.fillers,
        asr_latency=asr.latency,
        audit=audit,
        audit_labels=_audit_labels(audit),
    )
    _check_references(tables)
    _check_audit(tables)
    return tables


def _audit_labels(audit: DemoAuditFile) -> dict[tuple[str, int], AuditLabel]:
    """Each script's label derived from its steps; a script that says another case than its own is refused
    (the label is ground truth: it must follow from what the bot says, not from where a script is filed)."""
    problems, labels = [], {}
    for case, spec in audit.cases.items():
        where = f"debt_audit.yaml: cases.{case}"
        if case not in AUDIT_CASES:
            problems.append(f"{where}: unknown case (known: {', '.join(AUDIT_CASES)})")
            continue
        for index, script in enumerate(spec.scripts):
            at = f"{where}.scripts[{index}]"
            low, high = AUDIT_STEPS
            if not low <= len(script.steps) <= high:
                problems.append(f"{at}: has {len(script.steps)} steps, expected {low} to {high}")
            missing = [s.bot for s in script.steps if s.bot not in audit.bot]
            missing += [s.caller for s in script.steps if s.caller not in audit.caller]
            if missing:
                problems.append(f"{at}: {', '.join(map(repr, missing))} not defined in debt_audit.yaml")
                continue
            try:
                label = audit_label(script.steps, audit.bot)
            except ValueError as exc:
                problems.append(f"{at}: {exc}")
                continue
            if label.case != case:
                problems.append(f"{at}: its steps make it {label.case!r}, not {case!r}")
            labels[(case, index)] = label
    if problems:
        raise DemoTablesError("\n".join(problems))
    return labels


def _check_audit(tables: DemoTables) -> None:
    """Phrases use known placeholders and tell an amount all or none; answers use known intents; the
    audit flow's clients speak English (its phrases are English only)."""
    audit, problems = tables.audit, []
    for name, phrases in audit.bot.items():
        for phrase in phrases:
            unknown = _placeholders(phrase) - AUDIT_PLACEHOLDERS
            if unknown:
                problems.append(f"bot.{name}: unknown placeholder(s) {', '.join(sorted(unknown))}")
        if len({bool(_placeholders(p) & AMOUNT_PLACEHOLDERS) for p in phrases}) > 1:
            problems.append(f"bot.{name}: some phrases tell an amount and some do not")
    known = set(tables.templates["en"]) | {"_silence_"}
    for name, answers in audit.caller.items():
        for intent, _, _ in answers:
            if intent not in known:
                problems.append(f"caller.{name}: intent {intent!r} has no English template in caller.yaml")
    for client in tables.clients:
        audited = any(flow.machine == audit.machine for flow in client.flows)
        if audited and {lang for lang, _ in client.languages} != {"en"}:
            problems.append(
                f"clients.yaml: client {client.client_id}: the {audit.machine} flow is English only"
            )
    if problems:
        raise DemoTablesError("\n".join(f"debt_audit.yaml: {p}" for p in problems))


def _check_references(tables: DemoTables) -> None:
    """Every name a client or flow uses must be defined by the table the generator looks it up in."""
    machines = {**tables.machine_states, tables.audit.machine: {}}
    checks = [
        (f"clients[{i}].flows[{j}].machine", flow.machine, "dialogue.yaml", "machines", machines)
        for i, client in enumerate(tables.clients)
        for j, flow in enumerate(client.flows)
    ]
    for i, client in enumerate(tables.clients):
        checks += [
            (f"clients[{i}].country", client.country, "clients.yaml", "names", tables.names),
            (f"clients[{i}].currency", client.currency, "entities.yaml", "due_range", tables.due_range),
            (f"clients[{i}].currency", client.currency, "entities.yaml", "amount_step", tables.amount_step),
        ]
    for machine in tables.machine_states:
        where = f"machines.{machine}"
        checks += [
            (where, machine, "dialogue.yaml", "default_disposition", tables.default_disposition),
            (where, machine, "dialogue.yaml", "transfer_topics", tables.transfer_topics),
            (where, machine, "bot.yaml", "machines", tables.machine_bot),
        ]
    for where, name, file, key, table in checks:
        if name not in table:
            source = "dialogue.yaml" if where.startswith("machines.") else "clients.yaml"
            raise DemoTablesError(f"{source}: {where}: {name!r} is not defined in {file}: {key}")
