"""Entity normalisation and value parsing: annotated spans and production predictions → :class:`Entity`.

Public API (others code against these names):

- :class:`Entity` (``to_dict``/``from_dict``), :func:`entities_to_json`, :func:`entities_from_json`
- :func:`get_entity_parser` → :class:`EntityParser` (``InProcessParser`` or ``DucklingParser``)
- :func:`truth_entities_from_spans`, :func:`normalise_predicted_entities`, :func:`parse_reftime`

See docs/entities.md for the value formats and the parser choice.
"""

from skit_pipelines.entities.model import Entity, canonical_type, entities_from_json, entities_to_json
from skit_pipelines.entities.normalise import (
    locate_spans,
    normalise_predicted_entities,
    parse_reftime,
    truth_entities_from_spans,
)
from skit_pipelines.entities.parser import EntityParser, InProcessParser, ParsedValue, get_entity_parser

__all__ = [
    "locate_spans",
    "Entity",
    "EntityParser",
    "InProcessParser",
    "ParsedValue",
    "canonical_type",
    "entities_from_json",
    "entities_to_json",
    "get_entity_parser",
    "normalise_predicted_entities",
    "parse_reftime",
    "truth_entities_from_spans",
]
