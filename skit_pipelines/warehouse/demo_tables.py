"""The demo warehouse's data tables: clients, dialogue machines, what bots and callers say, entity lexicons.

Why they live in YAML package data (``skit_pipelines/warehouse/data/demo/*.yaml``) and not in Python:

- **Data is edited by people who do not touch the generator.** Adding a Tamil template or a client is a
  change to a table, reviewable on its own; the simulation in :mod:`~skit_pipelines.warehouse.demo_data`
  stays small enough to read.
- **Loaded once, checked once.** :func:`load_demo_tables` reads the files through :mod:`importlib.resources`
  (so they work from a wheel), validates their shape and fails naming the file and the path inside it
  (``dialogue.yaml: machines.cards.GREETING.options[2]: expected [intent, weight, next, disposition]``),
  and caches the typed result.
- **Order is part of the contract.** The generator's seeded draws walk these tables in file order (YAML
  mappings keep it), so the same seed writes the same rows: reordering entries changes every demo
  database. Sequences become tuples, as the generator's tables always were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from skit_pipelines.errors import SkitPipelinesError

DATA_PACKAGE = "skit_pipelines.warehouse"
DATA_DIR = "data/demo"
FILES = ("clients.yaml", "dialogue.yaml", "bot.yaml", "caller.yaml", "entities.yaml", "asr.yaml")
#: libyaml's safe loader when present (about 10x faster at import), else PyYAML's own; same result.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NAMESPACE = uuid.UUID("5b0f0d2e-6d1a-4f57-9f1e-3c6a2b7e9d10")

#: A dialogue option: (intent, weight, next state, disposition or None).
Option = tuple[str, float, str, str | None]
#: A state's spec: (placeholder the bot expects or None, options).
StateSpec = tuple[str | None, list[Option]]
#: An entity surface form: (pattern, kind, argument).
Form = tuple[str, str, Any]


class DemoTablesError(SkitPipelinesError, ValueError):
    """A demo data file is missing, unreadable or not shaped as the generator needs."""


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


@dataclass(frozen=True)
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


class _At:
    """A position in one data file, for errors that say exactly where the shape is wrong."""

    def __init__(self, file: str, path: str = "") -> None:
        self.file, self.path = file, path

    def __truediv__(self, key: object) -> _At:
        step = f"[{key}]" if isinstance(key, int) else (f".{key}" if self.path else str(key))
        return _At(self.file, self.path + step)

    def fail(self, expected: str, got: Any) -> DemoTablesError:
        where = f"{self.file}: {self.path or '(top level)'}"
        return DemoTablesError(f"{where}: expected {expected}, got {type(got).__name__}")

    def mapping(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.fail("a mapping with string keys", value)
        return value

    def key(self, value: Any, name: str) -> Any:
        table = self.mapping(value)
        if name not in table:
            raise DemoTablesError(f"{self.file}: {self.path or '(top level)'}: missing key {name!r}")
        return table[name]

    def text(self, value: Any, *, optional: bool = False) -> Any:
        if not (isinstance(value, str) or (optional and value is None)):
            raise self.fail("a string" + (" or null" if optional else ""), value)
        return value

    def number(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail("a non-negative number", value)
        return value

    def items(self, value: Any, size: int | None = None, what: str = "a list") -> list[Any]:
        if not isinstance(value, list) or (size is not None and len(value) != size):
            raise self.fail(what, value)
        return value

    def texts(self, value: Any) -> tuple[str, ...]:
        return tuple((self / i).text(v) for i, v in enumerate(self.items(value, what="a list of strings")))

    def pairs(self, value: Any) -> list[tuple[str, float]]:
        out = []
        for i, pair in enumerate(self.items(value)):
            at = self / i
            name, weight = at.items(pair, 2, "a [name, weight] pair")
            out.append((at.text(name), at.number(weight)))
        return out

    def text_map(self, value: Any) -> dict[str, str]:
        return {k: (self / k).text(v) for k, v in self.mapping(value).items()}

    def each(self, value: Any, read: Callable[[_At, Any], Any]) -> dict[str, Any]:
        """A mapping whose values are all read by ``read(at, value)``."""
        return {k: read(self / k, v) for k, v in self.mapping(value).items()}


def _read_file(root: Traversable, name: str) -> dict[str, Any]:
    try:
        text = root.joinpath(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise DemoTablesError(f"{name}: cannot be read from {root}: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        # our own package data, not a user's: the parser's line and column help whoever edited it
        raise DemoTablesError(f"{name}: not valid YAML: {exc}") from exc
    return _At(name).mapping(data)


def _option(at: _At, value: Any) -> Option:
    intent, weight, nxt, disposition = at.items(value, 4, "[intent, weight, next, disposition]")
    return (at.text(intent), at.number(weight), at.text(nxt), at.text(disposition, optional=True))


def _state(at: _At, value: Any) -> StateSpec:
    expects = at.text(at.key(value, "expects"), optional=True)
    options = (at / "options").items(at.key(value, "options"))
    return (expects, [_option(at / "options" / i, o) for i, o in enumerate(options)])


def _form(at: _At, value: Any) -> Form:
    pattern, kind, argument = at.items(value, 3, "[pattern, kind, argument]")
    if isinstance(argument, list):  # e.g. a time's (offset days, hour, ...) tuple: hashable like the rest
        argument = tuple(argument)
    return (at.text(pattern), at.text(kind), argument)


def _forms(at: _At, value: Any) -> list[Form]:
    return [_form(at / i, f) for i, f in enumerate(at.items(value))]


def _flow(at: _At, value: Any) -> Flow:
    return Flow(
        flow_id=at.text(at.key(value, "flow_id")),
        name=at.text(at.key(value, "name")),
        machine=at.text(at.key(value, "machine")),
        call_type=at.text(at.key(value, "call_type")),
        template_id=at.text(at.key(value, "template_id")),
        versions=tuple((at / "versions").pairs(at.key(value, "versions"))),
        virtual_number=at.text(at.key(value, "virtual_number")),
        weight=at.number(at.key(value, "weight")),
    )


def _client(at: _At, value: Any) -> Client:
    flows = (at / "flows").items(at.key(value, "flows"))
    return Client(
        client_id=at.text(at.key(value, "client_id")),
        slug=at.text(at.key(value, "slug")),
        name=at.text(at.key(value, "name")),
        use_case=at.text(at.key(value, "use_case")),
        timezone=at.text(at.key(value, "timezone")),
        currency=at.text(at.key(value, "currency")),
        country=at.text(at.key(value, "country")),
        languages=tuple((at / "languages").pairs(at.key(value, "languages"))),
        asr_providers=tuple((at / "asr_providers").pairs(at.key(value, "asr_providers"))),
        flows=tuple(_flow(at / "flows" / i, f) for i, f in enumerate(flows)),
        weight=at.number(at.key(value, "weight")),
    )


def _skip(at: _At, value: Any) -> tuple[str, str]:
    placeholder, state = at.items(value, 2, "a [placeholder, state] pair")
    return (at.text(placeholder), at.text(state))


def _range(at: _At, value: Any) -> tuple[int, int]:
    low, high = at.items(value, 2, "a [low, high] pair")
    return (at.number(low), at.number(high))


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
    raw = {name: _read_file(root, name) for name in FILES}

    def section(file: str, key: str, read: Callable[[_At, Any], Any] | None = None) -> Any:
        """``raw[file][key]``; with ``read``, a mapping whose every value is read by ``read(at, value)``."""
        at = _At(file)
        value = at.key(raw[file], key)
        return (at / key).each(value, read) if read else value

    text = _At.text
    clients_at = _At("clients.yaml") / "clients"
    clients = clients_at.items(section("clients.yaml", "clients"))
    base_at = _At("dialogue.yaml") / "transfer_base"
    base = base_at.items(section("dialogue.yaml", "transfer_base"))
    amount_at = _At("entities.yaml") / "amount_forms"
    amount_forms = {
        (currency, lang): _forms(amount_at / currency / lang, forms)
        for currency, by_lang in amount_at.mapping(section("entities.yaml", "amount_forms")).items()
        for lang, forms in (amount_at / currency).mapping(by_lang).items()
    }
    tables = DemoTables(
        clients=tuple(_client(clients_at / i, c) for i, c in enumerate(clients)),
        names=section("clients.yaml", "names", _At.texts),
        shared_states=section("dialogue.yaml", "shared_states", _state),
        transfer_base=[_option(base_at / i, o) for i, o in enumerate(base)],
        transfer_topics=section("dialogue.yaml", "transfer_topics", _At.pairs),
        machine_states=section("dialogue.yaml", "machines", lambda at, v: at.each(v, _state)),
        default_disposition=section("dialogue.yaml", "default_disposition", text),
        skip_if_filled=section("dialogue.yaml", "skip_if_filled", lambda at, v: at.each(v, _skip)),
        reprompt=section("bot.yaml", "reprompt", text),
        closing=section("bot.yaml", "closing", text),
        shared_bot=section("bot.yaml", "shared", _At.text_map),
        machine_bot=section("bot.yaml", "machines", lambda at, v: at.each(v, _At.text_map)),
        templates=section("caller.yaml", "templates", lambda at, v: at.each(v, _At.texts)),
        template_fallback=section("caller.yaml", "template_fallback", text),
        confusions=section("caller.yaml", "confusions", _At.pairs),
        weekdays=section("entities.yaml", "weekdays", _At.texts),
        months=section("entities.yaml", "months", _At.texts),
        digit_words=section("entities.yaml", "digit_words", _At.texts),
        forms=section("entities.yaml", "forms", lambda at, v: at.each(v, _forms)),
        amount_forms=amount_forms,
        amount_step=section("entities.yaml", "amount_step", _At.number),
        due_range=section("entities.yaml", "due_range", _range),
        entity_types=section("entities.yaml", "entity_types", text),
        slot_names=section("entities.yaml", "slot_names", text),
        homophones=section("asr.yaml", "homophones", text),
        number_words=section("asr.yaml", "number_words", text),
        fillers=section("asr.yaml", "fillers", _At.texts),
        asr_latency=section("asr.yaml", "latency", _At.number),
    )
    _check_references(tables)
    return tables


def _check_references(tables: DemoTables) -> None:
    """Every name a client or flow uses must be defined by the table the generator looks it up in."""
    checks = [
        (f"clients[{i}].flows[{j}].machine", flow.machine, "dialogue.yaml", "machines", tables.machine_states)
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
