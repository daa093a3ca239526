"""The Slack bot's grammar: a message text → a command (no Slack, no HTTP: plain functions).

    @bot run <pipeline>            then a ```{json}``` code block (comments and trailing commas allowed)
    @bot run <pipeline> b64_<base64 of the JSON>      (what reminders send; a trailing period is ignored)
    @bot create_recurring <pipeline> <cron> [tz=<timezone>]  ```{json}```   → a schedule the API fires
                                   (e.g. ``create_recurring fetch_calls_pipeline 0 3 * * 1 tz=Asia/Kolkata``;
                                   without a cron: the /remind command that runs it, the reference's way)
    @bot status <run_id>
    @bot help                      (and anything else)

Why json5: the reference accepted comments in the JSON (``jsoncomment``, unmaintained); JSON5 is a
maintained superset of JSON with ``//`` and ``/* */`` comments and trailing commas, which is what people
type in chat.

Slack rewrites what users type: ``&``, ``<`` and ``>`` arrive as ``&amp;``, ``&lt;`` and ``&gt;``; URLs,
channels and users become ``<https://x|x>``, ``<#C1|general>``, ``<@U1>``; some clients turn quotes into
typographic ones. :func:`clean_value` and :func:`parse_command` undo all of that.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import json5

from skit_pipelines.errors import SkitPipelinesError

_MENTION_PREFIX = re.compile(r"^\s*(<@[A-Z0-9]+(?:\|[^>]*)?>\s*)+", re.IGNORECASE)
_LINK = re.compile(r"^<([^<>|]*)(?:\|[^<>]*)?>$")
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_CODE_BLOCK = re.compile(r"```(?:json5?|javascript|js)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
MAX_PAYLOAD_CHARS = 20_000


class CommandError(SkitPipelinesError, ValueError):
    """A message that looks like a command but cannot be understood; the text says what to fix."""


@dataclass
class Command:
    action: str  # run, create_recurring, status, help
    pipeline: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    cron: str = ""  # create_recurring: five-field cron expression ("" when not given)
    timezone: str = ""


def clean_value(value: Any) -> Any:
    """A payload value as the user meant it: Slack links unwrapped, entities decoded; structures to JSON."""
    if isinstance(value, str):
        text = value.strip()
        match = _LINK.match(text)
        if match:
            text = match[1]
        return html.unescape(text) if "&" in text else text
    if isinstance(value, (dict, list)):
        return json.dumps(_clean_nested(value))  # kfp parameters are scalars
    return value


def _clean_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean_nested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_nested(v) for v in value]
    return clean_value(value) if isinstance(value, str) else value


def parse_payload(text: str) -> dict[str, Any]:
    """A JSON(5) object from the user's code block."""
    text = text.translate(_QUOTES).strip()  # entities are decoded per value, after unwrapping links
    if not text:
        return {}
    if len(text) > MAX_PAYLOAD_CHARS:
        raise CommandError(f"the parameters are {len(text)} characters long (at most {MAX_PAYLOAD_CHARS})")
    try:
        data = json5.loads(text)
    except ValueError as exc:
        raise CommandError(f"the parameters are not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CommandError('the parameters must be a JSON object such as {"lang": "en"}')
    return {str(k): clean_value(v) for k, v in data.items()}


def decode_b64(token: str) -> dict[str, Any]:
    raw = token.strip().rstrip(".").removeprefix("b64_")
    try:
        decoded = base64.b64decode(
            raw + "=" * (-len(raw) % 4), altchars=b"-_" if "-" in raw or "_" in raw else None, validate=True
        )
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CommandError("the b64_ payload is not base64 of a JSON object") from None
    return parse_payload(text)


def encode_b64(payload: dict[str, Any]) -> str:
    return "b64_" + base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def strip_mention(text: str) -> str:
    return _MENTION_PREFIX.sub("", text or "", count=1).strip()


def parse_command(text: str) -> Command:
    """The command in a message (the bot's mention first); unknown words give ``help``."""
    body = strip_mention(text or "")
    head, _, rest = body.partition("```")
    words = head.split()
    if not words:
        return Command("help")
    verb = words[0].lower()
    if verb == "status":
        if len(words) < 2:
            raise CommandError("say which run: `status <run_id>`")
        return Command("status", run_id=clean_value(words[1]))
    if verb not in ("run", "create_recurring"):
        return Command("help")
    if len(words) < 2:
        raise CommandError(f"say which pipeline: `{verb} <pipeline>` followed by a ```{{json}}``` block")
    pipeline = clean_value(words[1])
    extra = words[2:]
    if extra and extra[0].lower().startswith("b64_"):
        if verb != "run":
            raise CommandError("create_recurring takes a ```{json}``` code block, not a b64_ payload")
        return Command("run", pipeline=pipeline, payload=decode_b64(extra[0]))
    cron, timezone = "", ""
    if extra and verb == "create_recurring":
        words = [w for w in " ".join(extra).translate(_QUOTES).replace("`", " ").replace('"', " ").split()]
        zones = [w for w in words if w.lower().startswith("tz=")]
        timezone = zones[-1][3:] if zones else ""
        cron = " ".join(w for w in words if not w.lower().startswith("tz="))
        extra = []
    if extra:
        raise CommandError(
            f"unexpected {' '.join(extra)!r} after the pipeline name; "
            "put the parameters in a ```{json}``` block"
        )
    payload: dict[str, Any] = {}
    if rest:
        match = _CODE_BLOCK.search("```" + rest)
        if match is None:
            raise CommandError("the code block is not closed: end it with ```")
        payload = parse_payload(match[1])
    return Command(verb, pipeline=pipeline, payload=payload, cron=cron, timezone=timezone)


def remind_command(channel: str, bot: str, pipeline: str, payload: dict[str, Any]) -> str:
    """A ready-to-paste ``/remind`` that asks the bot to run the pipeline (the reference's format)."""
    where = f"<#{channel}>" if channel and not channel.startswith(("#", "<")) else channel or "me"
    return (
        f'/remind {where} "{bot} run {pipeline} {encode_b64(payload)}" <In ten minutes/30 May/Every Tuesday>'
    )
