"""Why reading an input failed, said without a byte of the input: one function for every reader.

Why a module of its own: the readers live in every layer (the pure tagged-dataset reader of ``metrics``, the
jobs' YAML and entity readers), and the errors they describe come from storage and the read policy. Those
errors carry their own content-free wording (a ``safe_reason`` property), so this module needs neither of
them and any layer may import it.
"""

from __future__ import annotations

import json
import re

import yaml  # PyYAML is a dependency of the package

__all__ = ["content_free_reason"]


def content_free_reason(exc: BaseException) -> str:
    """Why reading an input failed, in words that hold nothing of the input's content.

    Parsers put content in their messages (PyYAML quotes the offending lines, ``UnicodeDecodeError`` the
    byte, pandas and JSON may quote cells). A run's error goes to the caller, its webhook and Slack, so
    readers describe failures with this: where (line, column, byte offset) and what was expected.
    """
    safe = getattr(exc, "safe_reason", None)  # our own errors know what they may say (refusals, not found)
    if isinstance(safe, str):
        return safe
    if isinstance(exc, UnicodeDecodeError):
        return f"not {exc.encoding} text (undecodable byte at offset {exc.start})"
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"invalid YAML syntax at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, yaml.YAMLError):
        return "invalid YAML syntax"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    name = type(exc).__name__
    if name == "ParserError":  # pandas: "Expected 2 fields in line 3, saw 4" is where, not what
        match = re.search(r"Expected \d+ fields in line \d+, saw \d+", str(exc))
        return f"malformed CSV ({match.group(0)})" if match else "malformed CSV"
    if name == "EmptyDataError":
        return "empty file (expected a CSV with a header row)"
    return f"unreadable ({name})"
