"""Slack notifications from pipelines: a message, an optional code block, an optional file.

Why slack_sdk: it is Slack's own client and already knows the Web API's quirks that a hand-written httpx
client would have to re-learn: ``{"ok": false}`` bodies with HTTP 200 become ``SlackApiError``; files go
through the three-step external upload (``files.getUploadURLExternal`` → POST to the returned URL →
``files.completeUploadExternal``) that replaced the retired ``files.upload``; and its ``http_retry``
handlers retry connection errors with back-off and honour ``Retry-After`` on HTTP 429. It is plain urllib
underneath (no extra dependencies), and ``base_url`` lets tests and self-hosted proxies point it anywhere.

Why it never raises: a notification reports on work that is already done (or already failed). A Slack
outage, an expired token or a misspelt channel must not turn a successful run red, hide its outputs, or
mask the original error of a failed one. Every problem is logged and returned in
``NotificationResult.error`` so that callers (the component, the API, the Slack bot) can surface it.
Without ``SKIT_SLACK_TOKEN`` the notification is written to the log instead: the embedded default that
lets every pipeline run on a laptop with no Slack workspace.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from skit_pipelines.config import Settings

logger = logging.getLogger(__name__)

# Slack limits (https://docs.slack.dev/reference/block-kit/blocks/section-block, chat.postMessage).
SECTION_TEXT_LIMIT = 3000  # characters of a section's text
FALLBACK_TEXT_LIMIT = 4000  # Slack truncates `text` at 40k; notifications show far less
# At most this many sections for the message and for the code block (Slack allows 50 blocks in all, but a
# message of 18k characters is already past what anyone reads; long content belongs in `file_content`).
MAX_SECTIONS_PER_PART = 6

# Timeouts and retries: a notification may wait a few seconds, never minutes.
TIMEOUT_SECONDS = 15
CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 2
SERVER_ERROR_RETRIES = 1
RETRY_BACKOFF_SECONDS = 0.5

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


@dataclass
class NotificationResult:
    """``sent``: the message was posted. ``error``: what went wrong (may be set with ``sent=True`` when the
    message went out but the file upload did not). ``skipped``: why nothing was even tried (no token)."""

    sent: bool
    channel: str
    ts: str = ""
    error: str = ""
    skipped: str = ""

    @property
    def status(self) -> str:
        """One line for a person: ``sent to #ml``, ``skipped: no SKIT_SLACK_TOKEN`` or ``failed: <why>``."""
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.error:
            return f"failed: {self.error}"
        return f"sent to {_display_channel(self.channel)}"


def send_notification(
    message: str,
    *,
    code_block: str = "",
    channel: str = "",
    cc: str = "",
    thread_id: str = "",
    file_title: str = "",
    file_content: str = "",
    settings: Settings,
) -> NotificationResult:
    """Post ``message`` (+ code block, cc mentions, file) to ``channel`` or the default one. Never raises.

    ``settings``: the caller's (token, API URL, default channel); entry points read them, not this module."""
    try:
        return _send(
            message,
            code_block=code_block,
            channel=channel,
            cc=cc,
            thread_id=thread_id,
            file_title=file_title,
            file_content=file_content,
            settings=settings,
        )
    except Exception as exc:  # a notification must never fail a pipeline
        logger.exception("Slack notification failed unexpectedly")
        return NotificationResult(sent=False, channel=channel, error=f"{type(exc).__name__}: {exc}")


def _send(
    message: str,
    *,
    code_block: str,
    channel: str,
    cc: str,
    thread_id: str,
    file_title: str,
    file_content: str,
    settings: Settings,
) -> NotificationResult:
    channel = (channel or settings.slack_default_channel or "").strip()
    thread_ts = (thread_id or "").strip() or None
    text = (message or "") + format_cc(cc)
    token = settings.slack_token.get_secret_value().strip()

    if not token:
        error = "Slack not configured (SKIT_SLACK_TOKEN empty)"
        logger.info(
            "%s; would have posted to %s: %s",
            error,
            _display_channel(channel),
            _as_log_text(text, code_block, file_title, file_content, thread_ts),
        )
        return NotificationResult(
            sent=False, channel=channel, error=error, skipped="no SKIT_SLACK_TOKEN (written to the log)"
        )
    if not channel:
        error = "no Slack channel: pass channel= or set SKIT_SLACK_DEFAULT_CHANNEL"
        logger.warning(
            "%s; message not sent: %s",
            error,
            _as_log_text(text, code_block, file_title, file_content, thread_ts),
        )
        return NotificationResult(sent=False, channel="", error=error)

    client = make_client(token, settings.slack_api_url)
    blocks, truncated = build_blocks(text, code_block)
    if truncated:
        logger.warning("Slack message to %s truncated to fit Slack's limits", _display_channel(channel))
    try:
        response = client.chat_postMessage(
            channel=channel,
            text=_fallback_text(text, code_block),
            blocks=blocks,
            thread_ts=thread_ts,
            link_names=True,  # turns plain "@handle" in the message into a mention
            # No parse="full" (the reference sent it): it makes Slack escape "<@U123>" in `text`, so the
            # notification preview would show raw mention markup. Blocks are unaffected either way.
        )
    except Exception as exc:
        error = _describe_error(exc, settings.slack_api_url)
        logger.error("Slack notification to %s not sent: %s", _display_channel(channel), error)
        return NotificationResult(sent=False, channel=channel, error=error)

    posted_channel = str(response.get("channel") or channel)
    ts = str(response.get("ts") or "")
    logger.info("Slack notification posted to %s (ts %s)", _display_channel(channel), ts)
    result = NotificationResult(sent=True, channel=posted_channel, ts=ts)

    if file_content:
        title = file_title.strip() or "attachment"
        try:
            # completeUploadExternal wants a channel id; chat.postMessage answered with it.
            client.files_upload_v2(
                channel=posted_channel,
                content=file_content,
                filename=_file_name(title),
                title=title,
                thread_ts=thread_ts,
            )
        except Exception as exc:
            result.error = (
                f"message posted but file upload failed: {_describe_error(exc, settings.slack_api_url)}"
            )
            logger.error(
                "Slack file %r not uploaded to %s: %s", title, _display_channel(channel), result.error
            )
    return result


def make_client(token: str, api_url: str) -> WebClient:
    """A WebClient with retries for connection errors, HTTP 429 (honouring Retry-After) and 500/503."""
    base_url = api_url.strip() or "https://slack.com/api/"
    if not base_url.endswith("/"):
        base_url += "/"
    backoff = BackoffRetryIntervalCalculator(
        backoff_factor=RETRY_BACKOFF_SECONDS, jitter=_ProportionalJitter()
    )
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=backoff),
    ]
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=handlers)


def format_cc(cc: str) -> str:
    """``"U1, @jdoe,<@U2>"`` → ``"\\ncc: <@U1> <@jdoe> <@U2>"``; empty for no names."""
    mentions = []
    for raw in (cc or "").split(","):
        name = raw.strip()
        if not name:
            continue
        if not (name.startswith("<") and name.endswith(">")):
            name = f"<@{name.lstrip('@')}>"
        mentions.append(name)
    return "\ncc: " + " ".join(mentions) if mentions else ""


def build_blocks(text: str, code_block: str = "") -> tuple[list[dict[str, Any]], bool]:
    """mrkdwn sections for the text and the code block, each within Slack's 3000-character section limit.

    Long parts are split on line boundaries into several sections; past ``MAX_SECTIONS_PER_PART`` sections
    a part is cut with a note saying how much was left out. Returns (blocks, truncated).
    """
    blocks: list[dict[str, Any]] = []
    truncated = False
    if text.strip():
        chunks, cut = _split(text, SECTION_TEXT_LIMIT, MAX_SECTIONS_PER_PART)
        truncated |= cut
        blocks += [_section(chunk) for chunk in chunks]
    if code_block.strip():
        # A literal ``` inside the code would close the block early; a zero-width space defuses it.
        code = code_block.strip("\n").replace("```", "``\u200b`")
        fence_overhead = len("```\n\n```")
        chunks, cut = _split(code, SECTION_TEXT_LIMIT - fence_overhead, MAX_SECTIONS_PER_PART)
        truncated |= cut
        blocks += [_section(f"```\n{chunk}\n```") for chunk in chunks]
    return blocks, truncated


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _split(text: str, limit: int, max_chunks: int) -> tuple[list[str], bool]:
    """Split into chunks of at most ``limit`` characters, preferring line breaks; cut after ``max_chunks``."""
    chunks: list[str] = []
    rest = text
    while rest:
        if len(rest) <= limit:
            chunks.append(rest)
            rest = ""
            break
        if len(chunks) == max_chunks - 1:
            break
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            chunks.append(rest[:limit])
            rest = rest[limit:]
        else:
            chunks.append(rest[:cut])
            rest = rest[cut + 1 :]
    if rest:
        reserve = len("\n… ( more characters not shown)") + 12
        room = max(limit - reserve, 0)
        chunks.append(f"{rest[:room]}\n… ({len(rest) - room} more characters not shown)")
        return chunks, True
    return chunks, False


def _fallback_text(text: str, code_block: str) -> str:
    """The ``text`` field: shown in notifications and by clients that cannot render blocks."""
    fallback = text.strip() or code_block.strip() or "(empty notification)"
    if len(fallback) > FALLBACK_TEXT_LIMIT:
        fallback = fallback[: FALLBACK_TEXT_LIMIT - 1] + "…"
    return fallback


def _file_name(title: str) -> str:
    name = re.sub(r"[^\w.\-]+", "_", title).strip("._") or "attachment"
    return name if "." in name else f"{name}.txt"


def _display_channel(channel: str) -> str:
    if not channel:
        return "(no channel)"
    if channel.startswith("#") or _CHANNEL_ID.match(channel):
        return channel
    return f"#{channel}"


def _as_log_text(
    text: str, code_block: str, file_title: str, file_content: str, thread_ts: str | None
) -> str:
    parts = [text]
    if code_block:
        parts.append(f"```\n{code_block}\n```")
    if file_content:
        parts.append(f"[file {file_title or 'attachment'!r}: {len(file_content)} characters]")
    if thread_ts:
        parts.append(f"[in thread {thread_ts}]")
    return "\n".join(parts)


def _describe_error(exc: Exception, api_url: str) -> str:
    from urllib.error import URLError

    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        code = exc.response.get("error") if exc.response is not None else None
        status = getattr(exc.response, "status_code", None)
        return f"Slack API error: {code or 'unknown'}" + (
            f" (HTTP {status})" if status and status != 200 else ""
        )
    if isinstance(exc, URLError):
        return f"cannot reach Slack at {api_url}: {exc.reason}"
    if isinstance(exc, OSError | TimeoutError):
        return f"cannot reach Slack at {api_url}: {exc}"
    return f"{type(exc).__name__}: {exc}"


class _ProportionalJitter(Jitter):
    """Back-off jitter proportional to the interval (slack_sdk's default adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration * (0.5 + random.random())
