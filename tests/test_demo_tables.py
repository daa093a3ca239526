"""The demo generator's YAML tables ship with the package, load typed, and a broken one says where."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from skit_pipelines.compliance.ground_truth import CASES
from skit_pipelines.warehouse.demo_tables import (
    AUDIT_CASES,
    DATA_DIR,
    DATA_PACKAGE,
    FILES,
    Client,
    DemoTablesError,
    Flow,
    load_demo_tables,
    read_demo_tables,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_data_file_is_package_data_and_read_through_importlib_resources() -> None:
    data = resources.files(DATA_PACKAGE).joinpath(DATA_DIR)
    shipped = sorted(entry.name for entry in data.iterdir() if entry.name.endswith(".yaml"))
    assert shipped == sorted(FILES)  # no table the loader would silently ignore
    for name in FILES:
        assert yaml.safe_load(data.joinpath(name).read_text(encoding="utf-8"))
    # the wheel and sdist carry exactly what pyproject's package-data globs match
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"].get(DATA_PACKAGE, [])
    package_dir = ROOT.joinpath(*DATA_PACKAGE.split("."))
    matched = {path.name for pattern in globs for path in package_dir.glob(pattern)}
    assert set(FILES) <= matched


def test_tables_load_typed_and_consistent() -> None:
    tables = load_demo_tables()
    assert load_demo_tables() is tables  # read once
    assert tables.clients and all(isinstance(client, Client) for client in tables.clients)
    for client in tables.clients:
        assert all(isinstance(flow, Flow) for flow in client.flows)
        assert isinstance(client.languages, tuple) and all(isinstance(p, tuple) for p in client.languages)
        assert client.country in tables.names and client.currency in tables.due_range
    assert all(isinstance(key, tuple) and len(key) == 2 for key in tables.amount_forms)
    for by_placeholder in tables.forms.values():
        for forms in by_placeholder.values():
            assert all(isinstance(form, tuple) and len(form) == 3 for form in forms)
            assert all(hash(form) is not None for form in forms)  # arguments are tuples, not lists
    for states in tables.machine_states.values():
        for expects, options in states.values():
            assert expects is None or expects in tables.entity_types
            assert all(len(option) == 4 for option in options)
    assert all(isinstance(texts, tuple) for table in tables.templates.values() for texts in table.values())


def _copy_tables() -> dict[str, Any]:
    source = resources.files(DATA_PACKAGE).joinpath(DATA_DIR)
    return {name: yaml.safe_load(source.joinpath(name).read_text(encoding="utf-8")) for name in FILES}


def _write(tmp_path: Path, tables: dict[str, Any]) -> None:
    for name, data in tables.items():
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (tmp_path / name).write_text(text, encoding="utf-8")


def _drop_option_field(t: dict[str, Any]) -> None:
    t["dialogue.yaml"]["machines"]["cards"]["GREETING"]["options"][1] = ["_confirm_", 5, "END"]


def _negative_weight(t: dict[str, Any]) -> None:
    t["clients.yaml"]["clients"][1]["languages"][0][1] = -1


def _unknown_machine(t: dict[str, Any]) -> None:
    t["clients.yaml"]["clients"][0]["flows"][0]["machine"] = "nosuch"


def _missing_names(t: dict[str, Any]) -> None:
    del t["clients.yaml"]["names"]


def _template_not_text(t: dict[str, Any]) -> None:
    t["caller.yaml"]["templates"]["en"]["_confirm_"][2] = 7


def _misspelt_flow_key(t: dict[str, Any]) -> None:
    flow = t["clients.yaml"]["clients"][2]["flows"][0]
    flow["wieght"] = flow.pop("weight")


def _names_not_a_mapping(t: dict[str, Any]) -> None:
    t["clients.yaml"]["names"] = ["IN", "US"]


def _numeric_key(t: dict[str, Any]) -> None:
    t["asr.yaml"]["homophones"][7] = "seven"


def _expects_missing(t: dict[str, Any]) -> None:
    del t["dialogue.yaml"]["shared_states"]["SMS_SUMMARY"]["expects"]


def _bounds_too_long(t: dict[str, Any]) -> None:
    t["entities.yaml"]["due_range"]["USD"] = [1, 2, 3]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            _drop_option_field,
            "dialogue.yaml: machines.cards.GREETING.options[1]: "
            "expected [intent, weight, next, disposition], got a list of 3",
        ),
        (
            _negative_weight,
            "clients.yaml: clients[1].languages[0][1]: expected a non-negative number, got -1",
        ),
        (_unknown_machine, "clients.yaml: clients[0].flows[0].machine: 'nosuch' is not defined in dialogue"),
        (_missing_names, "clients.yaml: (top level): missing key 'names'"),
        (_template_not_text, "caller.yaml: templates.en._confirm_[2]: expected a string, got 7"),
        # a misspelt key is named (and the key it replaced is missing), not silently ignored
        (_misspelt_flow_key, "clients.yaml: clients[2].flows[0]: unknown key 'wieght'"),
        (_misspelt_flow_key, "clients.yaml: clients[2].flows[0]: missing key 'weight'"),
        (_names_not_a_mapping, "clients.yaml: names: expected a mapping with string keys, got a list of 2"),
        (_numeric_key, "asr.yaml: homophones: expected string keys, got key 7"),
        (_expects_missing, "dialogue.yaml: shared_states.SMS_SUMMARY: missing key 'expects'"),
        (_bounds_too_long, "entities.yaml: due_range.USD: expected a [low, high] pair, got a list of 3"),
    ],
)
def test_a_misshapen_table_names_file_and_path(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    tables = _copy_tables()
    _write(tmp_path, tables)
    read_demo_tables(tmp_path)  # the unbroken copy loads
    breakage(tables)
    _write(tmp_path, tables)
    with pytest.raises(DemoTablesError) as err:
        read_demo_tables(tmp_path)
    assert message in str(err.value)


def test_a_missing_or_unparsable_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path, _copy_tables())
    (tmp_path / "asr.yaml").write_text("homophones: [unclosed\n", encoding="utf-8")
    with pytest.raises(DemoTablesError, match=r"^asr\.yaml: not valid YAML"):
        read_demo_tables(tmp_path)
    (tmp_path / "bot.yaml").unlink()
    with pytest.raises(DemoTablesError, match=r"^bot\.yaml: cannot be read from .*: No such file"):
        read_demo_tables(tmp_path)


def test_every_problem_of_a_file_is_listed_one_per_line(tmp_path: Path) -> None:
    tables = _copy_tables()
    tables["bot.yaml"]["reprompt"]["en"] = 1
    tables["bot.yaml"]["closing"]["hi"] = None
    _write(tmp_path, tables)
    with pytest.raises(DemoTablesError) as err:
        read_demo_tables(tmp_path)
    assert str(err.value).splitlines() == [
        "bot.yaml: reprompt.en: expected a string, got 1",
        "bot.yaml: closing.hi: expected a string, got null",
    ]
    assert isinstance(err.value.__cause__, ValidationError)  # pydantic's own report stays at hand


def test_a_file_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    _write(tmp_path, _copy_tables())
    (tmp_path / "caller.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(
        DemoTablesError,
        match=r"^caller\.yaml: \(top level\): expected a mapping with string keys, got a list of 2$",
    ):
        read_demo_tables(tmp_path)


# -- the debt-collection audit flow: its labels follow from its scripts -------------------------------------


def _audit_script(t: dict[str, Any], case: str, index: int) -> dict[str, Any]:
    script: dict[str, Any] = t["debt_audit.yaml"]["cases"][case]["scripts"][index]
    return script


def _verified_told_too_early(t: dict[str, Any]) -> None:
    # swap the security question and the amount: filed as verified, the steps now say otherwise
    steps = _audit_script(t, "verified_debtor_told", 0)["steps"]
    steps[1]["bot"], steps[2]["bot"] = "amount_to_debtor", "dob_question"


def _third_party_told_an_amount(t: dict[str, Any]) -> None:
    _audit_script(t, "third_party_told_nothing", 1)["steps"][1]["bot"] = "message_with_amount"


def _no_case_at_all(t: dict[str, Any]) -> None:
    for step in _audit_script(t, "third_party_told_nothing", 1)["steps"]:
        step.pop("callee", None)


def _mixed_phrase_set(t: dict[str, Any]) -> None:
    t["debt_audit.yaml"]["bot"]["better_time"].append("Also, the balance is {amount}.")


def _unknown_placeholder(t: dict[str, Any]) -> None:
    t["debt_audit.yaml"]["bot"]["offer_message"][0] = "Can I leave a message for {nickname}?"


def _unknown_answer_intent(t: dict[str, Any]) -> None:
    t["debt_audit.yaml"]["caller"]["take_message"] = [["nosuch_intent", 1, None]]
    for case in t["debt_audit.yaml"]["cases"].values():
        for script in case["scripts"]:
            for step in script["steps"]:
                if step["caller"] == "message_answers":
                    step["caller"] = "take_message"


def _unknown_callee(t: dict[str, Any]) -> None:
    _audit_script(t, "verified_debtor_told", 0)["steps"][0]["callee"] = "boss"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            _verified_told_too_early,
            "debt_audit.yaml: cases.verified_debtor_told.scripts[0]: its steps make it "
            "'told_before_verification', not 'verified_debtor_told'",
        ),
        (
            _third_party_told_an_amount,
            "cases.third_party_told_nothing.scripts[1]: its steps make it 'third_party_told_amount'",
        ),
        (
            _no_case_at_all,
            "scripts[1]: tells no amount and no third party answers: it fits no compliance case",
        ),
        (_mixed_phrase_set, "debt_audit.yaml: bot.better_time: some phrases tell an amount and some do not"),
        (_unknown_placeholder, "debt_audit.yaml: bot.offer_message: unknown placeholder(s) nickname"),
        (_unknown_answer_intent, "caller.take_message: intent 'nosuch_intent' has no English template"),
        (_unknown_callee, "debt_audit.yaml: cases.verified_debtor_told.scripts[0].steps[0].callee"),
    ],
)
def test_an_audit_script_whose_steps_say_another_case_is_refused(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    tables = _copy_tables()
    breakage(tables)
    _write(tmp_path, tables)
    with pytest.raises(DemoTablesError) as err:
        read_demo_tables(tmp_path)
    assert message in str(err.value)


def test_every_audit_script_has_its_label() -> None:
    tables = load_demo_tables()
    labels = tables.audit_labels
    assert {case for case, _ in labels} == set(AUDIT_CASES)
    for (case, _), label in labels.items():
        assert label.case == case and label.breach == AUDIT_CASES[case]
        assert (label.step is None) == (case == "third_party_told_nothing")
    assert CASES == AUDIT_CASES  # the scorer's copy of the cases is the generator's
