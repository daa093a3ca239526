"""The label configs we ship (XML files next to this module) and the names that tie them to the download.

Why files plus ElementTree: the configs are reviewed as the XML that Label Studio shows in its settings page,
and choices/labels are added as elements (never by string pasting), so an intent named ``a"b<c`` is escaped
correctly. The tag names below are a contract: the download (``flatten.py``) finds the annotators' answers
by these ``from_name`` values.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from importlib import resources

TEXT_NAME = "transcript"  # the Text tag that intent, entities, correction and gold flags point at
INTENT_NAME = "tag"  # the reference's from_name for the intent (skit-labels read `tag`)
ENTITY_NAME = "entities"
CORRECTION_NAME = "transcript_correction"
GOLD_NAME = "gold-data"
GOLD_INCORRECT_TRANSCRIPT = "incorrect transcript"
GOLD_READY_FOR_TRAINING = "gold ready for training"

CALL_TEXT_NAME = "call"
CALL_DISPOSITION_NAME = "call_disposition"
CALL_FLAGS_NAME = "call_flags"
CALL_NOTES_NAME = "call_notes"

# Entity types every turn project offers; more come from the data (predicted entity types, `type/value`
# categorical labels) or from the ``entity_types`` parameter.
DEFAULT_ENTITY_TYPES: tuple[str, ...] = (
    "date",
    "time",
    "datetime",
    "duration",
    "number",
    "amount",
    "people",
)
CONVERSATION_TEXT_NAME = "call"  # generated conversations (generate_and_tag_conversations)
CONVERSATION_VERDICT_NAME = "conversation_verdict"

DEFAULT_DISPOSITIONS: tuple[str, ...] = ("resolved", "not resolved", "transferred", "dropped")


def _template(name: str) -> ET.Element:
    text = resources.files("skit_pipelines.annotation").joinpath("label_configs", name).read_text("utf-8")
    return ET.fromstring(text)


def _fill(root: ET.Element, tag: str, name: str, child: str, values: Iterable[str]) -> None:
    element = root.find(f".//{tag}[@name='{name}']")
    if element is None:  # a broken template is our bug, not the user's
        raise RuntimeError(f"label config template has no <{tag} name={name!r}>")
    for value in values:
        ET.SubElement(element, child, {"value": value})


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def turn_label_config(intents: Sequence[str], entity_types: Sequence[str] = DEFAULT_ENTITY_TYPES) -> str:
    """The turn-level config with ``intents`` as the intent choices and ``entity_types`` as span labels."""
    intents = _unique(intents)
    if not intents:
        raise ValueError(
            "no intents to offer annotators: give a taxonomy file (taxonomy_uri) or data with an "
            "`intent` column"
        )
    root = _template("turn.xml")
    _fill(root, "Choices", INTENT_NAME, "Choice", intents)
    _fill(root, "Labels", ENTITY_NAME, "Label", _unique(entity_types) or DEFAULT_ENTITY_TYPES)
    return ET.tostring(root, encoding="unicode")


def call_label_config(dispositions: Sequence[str] = DEFAULT_DISPOSITIONS) -> str:
    """The call-level config with ``dispositions`` as the disposition choices."""
    root = _template("call.xml")
    _fill(root, "Choices", CALL_DISPOSITION_NAME, "Choice", _unique(dispositions) or DEFAULT_DISPOSITIONS)
    return ET.tostring(root, encoding="unicode")


def conversation_label_config() -> str:
    """The conversation-tagging config (generated conversations with their situation), as shipped."""
    return ET.tostring(_template("conversation.xml"), encoding="unicode")


def add_choices(label_config: str, name: str, values: Sequence[str]) -> str:
    """``label_config`` with ``values`` appended to its ``<Choices name=...>``; everything else unchanged.

    Why append only: Label Studio refuses a config change that would invalidate existing annotations, and
    annotators' habits depend on the order they know; new intents go at the end, existing ones stay where
    they are. Comments are kept. Raises ValueError when the config is not XML or has no such Choices.
    """
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    try:
        root = ET.fromstring(label_config, parser=parser)
    except ET.ParseError as exc:
        raise ValueError(f"the label config is not valid XML ({exc})") from None
    element = next(
        (e for e in root.iter("Choices") if e.get("name") == name),
        None,
    )
    if element is None:
        raise ValueError(f"the label config has no <Choices name={name!r}> to add choices to")
    present = {child.get("value") for child in element.iter("Choice")}
    for value in _unique(values):
        if value not in present:
            ET.SubElement(element, "Choice", {"value": value})
            present.add(value)
    return ET.tostring(root, encoding="unicode")


def choices_of(label_config: str, name: str) -> list[str]:
    """The values of the ``<Choices name=...>`` (or ``<Labels>``) of a project's config; [] when absent."""
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError:
        return []
    for element in root.iter():
        if element.tag in ("Choices", "Labels", "Taxonomy") and element.get("name") == name:
            return [
                child.get("value", "")
                for child in element.iter()
                if child.get("value") and child is not element
            ]
    return []


def read_taxonomy(text: str) -> list[str]:
    """Intent names from a taxonomy file: a JSON list, a JSON object (its keys), or one name per line.

    Lines may be YAML list items (``- _confirm_``); blank lines and ``#`` comments are ignored.
    """
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            loaded = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"taxonomy file looks like JSON but cannot be read: {exc}") from None
        names = list(loaded) if isinstance(loaded, dict) else loaded
        if not all(isinstance(n, str) for n in names):
            raise ValueError("taxonomy JSON must be a list of intent names (strings)")
        return _unique(names)
    names = []
    for line in stripped.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("- "):
            line = line[2:].strip()
        names.append(line.strip("'\""))
    return _unique(names)
