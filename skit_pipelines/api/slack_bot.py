"""The Slack bot: ``@bot run ...`` in a channel starts a run and answers in the message's thread.

Why slack-bolt: Slack's own framework verifies every request's signature (``SKIT_SLACK_SIGNING_SECRET``)
and refuses requests whose timestamp is more than 5 minutes off (replays), answers Slack's URL
verification, acknowledges events at once and runs our handler in a thread pool (Slack wants an answer
within 3 s). Its Web API client is the project's configured one (``SKIT_SLACK_API_URL``, retries).

The bot calls the run service in-process (the reference POSTed to its own API over localhost with a
cached password login). Runs it creates are recorded with ``source="slack"`` in ``SKIT_SLACK_NAMESPACE``;
their ``channel``, ``slack_thread`` and ``notify`` are filled in from the message, so the pipeline's own
notification and the completion message land in the thread where the run was asked for. Slack re-sends
an event it thinks was missed: event ids are recorded and a repeat is ignored (no second run).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from skit_pipelines.api.schedules import ScheduleService
from skit_pipelines.api.service import InvalidRequest, RunNotFound, RunService, ServiceError
from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.api.slack_grammar import Command, CommandError, parse_command, remind_command
from skit_pipelines.api.views import output_uris, state_message
from skit_pipelines.config import Settings
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.parameters import problem_lines
from skit_pipelines.pipelines.parameters import pipeline_description, pipeline_parameters

logger = logging.getLogger(__name__)

USAGE = (
    "*How to talk to me*\n"
    "• `run <pipeline>` followed by a code block with the parameters as JSON (comments allowed)\n"
    "• `run <pipeline> b64_<base64 JSON>`\n"
    "• `create_recurring <pipeline> <cron> [tz=<timezone>]` + a JSON code block: I run it on that schedule "
    "(e.g. `create_recurring fetch_calls_pipeline 0 3 * * 1 tz=Asia/Kolkata`)\n"
    "• `status <run_id>`\n"
    "• `help`: this message"
)


class SlackBot:
    """Turns one mention into one reply (the Slack transport is in :func:`create_bolt_app`)."""

    def __init__(
        self, service: RunService, api_settings: ApiSettings, schedules: ScheduleService | None = None
    ) -> None:
        self.service = service
        self.schedules = schedules
        self.namespace = api_settings.slack_namespace
        self.bot_name = api_settings.slack_bot_name.strip()

    def reply(
        self, text: str, *, channel: str, ts: str, thread_ts: str = "", user: str = "", bot_user_id: str = ""
    ) -> str:
        try:
            command = parse_command(text)
        except CommandError as exc:
            return f"I could not read that: {exc}\n\n{USAGE}"
        try:
            if command.action == "run":
                return self._run(command, channel=channel, thread=thread_ts or ts, user=user)
            if command.action == "create_recurring":
                if self.schedules is not None:
                    return self._schedule(command, channel=channel, thread=thread_ts or ts, user=user)
                bot = self.bot_name or (f"<@{bot_user_id}>" if bot_user_id else "@skit-pipelines")
                return self._recurring(command, channel=channel, bot=bot)
            if command.action == "status":
                return self._status(command.run_id)
        except InvalidRequest as exc:
            return _errors_reply(exc)
        except ServiceError as exc:
            return f"Failed to create pipeline: {exc.message}"
        return self.help_text()

    def help_text(self) -> str:
        lines = [USAGE, "", "*Pipelines*"]
        for name in sorted(self.service.pipelines):
            summary = pipeline_description(self.service.pipelines[name]).splitlines()
            lines.append(f"• `{name}`: {summary[0] if summary else ''}")
        return "\n".join(lines)

    def _fill(self, pipeline: str, payload: dict[str, Any], *, channel: str, thread: str, user: str) -> dict:
        """channel, slack_thread and notify from the message, where the pipeline takes them."""
        _, pipe = self.service.resolve(pipeline)
        accepted = {p.name for p in pipeline_parameters(pipe)}
        filled = dict(payload)
        if "channel" in accepted and not filled.get("channel"):
            filled["channel"] = channel
            if "slack_thread" in accepted:
                filled["slack_thread"] = thread
        if "notify" in accepted and user:
            mention = f"<@{user}>"
            existing = str(filled.get("notify") or "").strip()
            filled["notify"] = (
                f"{existing},{mention}" if existing and mention not in existing else existing or mention
            )
        return filled

    def _run(self, command: Command, *, channel: str, thread: str, user: str) -> str:
        payload = self._fill(command.pipeline, command.payload, channel=channel, thread=thread, user=user)
        created = self.service.create_run(
            self.namespace,
            command.pipeline,
            payload,
            created_by=f"slack:{user}" if user else "slack",
            source="slack",
        ).run
        link = f"<{created.run_url}|{created.pipeline}>" if created.run_url else created.pipeline
        return f"Running {link}. Run id: `{created.run_id}` (ask me `status {created.run_id}`)."

    def _schedule(self, command: Command, *, channel: str, thread: str, user: str) -> str:
        """A schedule in the API's store (its runs report to this channel, each in its own thread)."""
        if not command.cron:
            return (
                "Say when, as a five-field cron (minute hour day-of-month month day-of-week), e.g. "
                f"`create_recurring {command.pipeline} 0 3 * * 1 tz=Asia/Kolkata`, then the parameters "
                "in a ```{json}``` block."
            )
        assert self.schedules is not None
        payload = self._fill(command.pipeline, command.payload, channel=channel, thread="", user=user)
        payload.pop("slack_thread", None)  # each run starts its own thread in the channel
        record = self.schedules.create(
            self.namespace,
            command.pipeline,
            payload,
            cron=command.cron,
            timezone=command.timezone or "UTC",
            created_by=f"slack:{user}" if user else "slack",
            source="slack",
        )
        when = record.next_fire_at.isoformat() if record.next_fire_at else "never"
        return (
            f"Scheduled {record.pipeline} at `{record.cron}` ({record.timezone}). Schedule id: "
            f"`{record.schedule_id}`; first run at {when}. Pause or delete it with "
            f"`skit-pipelines schedule pause|delete {record.schedule_id}` or the API."
        )

    def _recurring(self, command: Command, *, channel: str, bot: str) -> str:
        # Check now what the reminder will send later (with the channel it will be run from).
        self.service.validate(
            command.pipeline,
            self._fill(command.pipeline, command.payload, channel=channel, thread="0", user=""),
        )
        key, _ = self.service.resolve(command.pipeline)
        return (
            "Paste this to run it on a schedule (change the time at the end):\n"
            f"```{remind_command(channel, bot, key, command.payload)}```"
        )

    def _status(self, run_id: str) -> str:
        try:
            run = self.service.get_run(self.namespace, run_id)
        except RunNotFound:
            return f"I know no run `{run_id}`."
        lines = [f"`{run.run_id}` ({run.pipeline}): *{run.state.value}*. {state_message(run.state)}"]
        if run.run_url:
            lines.append(f"<{run.run_url}|details>")
        uris = output_uris(run.outputs)
        if uris:
            lines.append("```" + "\n".join(uris) + "```")
        if run.error:
            lines.append(f"Error: {run.error}")
        return "\n".join(lines)


def _errors_reply(exc: InvalidRequest) -> str:
    details = "\n".join(problem_lines(exc.errors)) or exc.message
    return f"Please address the following errors and ask again (no run was started):\n```{details}```"


class SlackRequestRefused(SkitPipelinesError):
    """A request to ``/slack/events`` that bolt must not see; the message is safe to show."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def check_slack_request(signing_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Refuse what is not a signed, readable Slack request: 401 before anything else, then 400.

    Bolt verifies signatures too, but it turns a non-numeric timestamp or a body that is not JSON into an
    unhandled exception (a 500), so anyone could make the server log tracebacks without knowing the secret.
    Here the signature is checked before the body is parsed, and the body with bolt's own parser.
    """
    timestamp = headers.get("x-slack-request-timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SlackRequestRefused(401, "X-Slack-Request-Timestamp: expected the Unix time in seconds")
    try:
        text = body.decode("utf-8")  # Slack signs text; bytes that are not UTF-8 are no Slack request
    except UnicodeDecodeError:
        raise SlackRequestRefused(400, "the body is not UTF-8") from None
    signature = headers.get("x-slack-signature", "")
    if not SignatureVerifier(signing_secret).is_valid(text, timestamp, signature):
        raise SlackRequestRefused(401, "X-Slack-Signature: invalid, or the request is older than 5 minutes")
    try:
        parsed = parse_body(text, headers.get("content-type"))
    except ValueError as exc:
        raise SlackRequestRefused(400, f"the body is not valid JSON ({str(exc)[:100]})") from None
    if not isinstance(parsed, dict):
        raise SlackRequestRefused(400, "the body is not a JSON object")


def create_bolt_app(bot: SlackBot, settings: Settings, api_settings: ApiSettings) -> App | None:
    """The bolt app behind ``POST /slack/events``, or None without a token and signing secret."""
    from skit_pipelines.notify.slack import make_client

    token = settings.slack_token.get_secret_value().strip()
    secret = api_settings.slack_signing_secret.get_secret_value()
    if not token or not secret:
        return None
    store = bot.service.store
    app = App(
        client=make_client(token, settings.slack_api_url),
        signing_secret=secret,
        token_verification_enabled=False,  # no call to Slack at start-up; auth.test happens on first event
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("skit_pipelines.api.slack_bolt"),
    )

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any], say: Any, context: Any) -> None:
        event_id = str(body.get("event_id") or "")
        if event_id and not store.first_sight_of_event(event_id):
            logger.info("Slack event %s seen before; ignored", event_id)
            return
        ts = str(event.get("ts") or "")
        thread_ts = str(event.get("thread_ts") or "")
        text = bot.reply(
            str(event.get("text") or ""),
            channel=str(event.get("channel") or ""),
            ts=ts,
            thread_ts=thread_ts,
            user=str(event.get("user") or ""),
            bot_user_id=str(getattr(context, "bot_user_id", "") or ""),
        )
        say(text=text, thread_ts=thread_ts or ts, unfurl_links=False)

    @app.event("message")
    def on_message() -> None:  # messages without a mention are not for us
        return None

    return app
