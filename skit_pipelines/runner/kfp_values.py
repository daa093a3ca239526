"""Carry parameter values through kfp's local runner byte for byte, as opaque tokens.

Why: kfp 2.17's local runner edits the text of values on their way to a step. It replaces ``python3``
everywhere in the command line (``-p use_case=python3`` arrived as ``.../.venv/bin/python``, a model under
``lib/python3.11/site-packages/`` as a path that does not exist), resolves ``{{$...}}`` placeholders inside
values (``{{$.inputs}}`` crashed it, ``{{$}}`` became the whole executor input), swaps ``/kfp-workspace``
for the workspace folder, and evaluates ``dsl.If`` conditions by pasting values into Python source between
single quotes (a quote made ``dataset_path != ""`` false; a crafted value could run code).

So a value kfp would touch never reaches kfp: :func:`protect` swaps it for ``skit-value-<sha256 prefix>``
(letters, digits and dashes, which nothing in kfp rewrites), and :func:`reveal` swaps the token back in
the step's executor input, just before the step starts (see ``runner/kfp_subprocess.py``). A token is
non-empty exactly when the value is, so the ``x != ""`` conditions our pipelines use keep their meaning
(a condition comparing such a value with another literal would compare the token: none of ours does);
the token depends only on the value, so kfp's cache keys stay stable. Values kfp leaves alone are passed
as they are, so the run log stays readable.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

TOKEN_PREFIX = "skit-value-"
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[0-9a-f]{32}")
# What kfp.local rewrites (``python3``, placeholders, the workspace mount) or cannot quote in a condition.
_TOUCHED_BY_KFP = re.compile(r"python3|\{\{|kfp-workspace|['\"\\]|[\x00-\x1f\x7f]")


def token_for(value: str) -> str:
    return TOKEN_PREFIX + hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def protect(value: Any, tokens: dict[str, str]) -> Any:
    """``value`` with every string kfp would alter replaced by its token (recorded in ``tokens``)."""
    if isinstance(value, str):
        if not _TOUCHED_BY_KFP.search(value):
            return value
        token = token_for(value)
        tokens[token] = value
        return token
    if isinstance(value, list):
        return [protect(item, tokens) for item in value]
    if isinstance(value, dict):
        return {key: protect(item, tokens) for key, item in value.items()}
    return value


def reveal(value: Any, tokens: dict[str, str]) -> Any:
    """The inverse of :func:`protect`, also for tokens inside longer strings (kfp f-string parameters)."""
    if not tokens:
        return value
    if isinstance(value, str):
        return _TOKEN.sub(lambda match: tokens.get(match[0], match[0]), value)
    if isinstance(value, list):
        return [reveal(item, tokens) for item in value]
    if isinstance(value, dict):
        return {key: reveal(item, tokens) for key, item in value.items()}
    return value
