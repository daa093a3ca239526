"""Sends what a run owes: its final webhook and Slack thread message, and (opt-in) a "started" webhook when
it starts, each until it is acknowledged.

Deliveries are rows in the database (see :mod:`skit_pipelines.api.store`). This module claims due ones,
makes one attempt each in a small thread pool (a slow receiver never blocks the watcher), records the
attempt and decides what comes next: delivered, retry later (exponential back-off within
``SKIT_WEBHOOK_RETRY_SECONDS``), failed (a permanent answer such as 404, or the window is over) or skipped
(Slack is not configured). The claim makes one sender attempt a delivery at a time, across API processes
and restarts, and an acknowledged delivery is never sent again. Delivery is at-least-once
(:mod:`skit_pipelines.api.webhooks`): an attempt that timed out is repeated, as is one acknowledged just
before a crash; ``X-Skit-Delivery`` lets a receiver drop repeats.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.api.store import HOST, PENDING_WEBHOOK, WEBHOOK, Delivery, RunRecord, RunStore, now_utc
from skit_pipelines.api.views import output_uris, started_webhook_body, state_message, webhook_body
from skit_pipelines.api.webhooks import AttemptResult, next_attempt, post_webhook, redact_url
from skit_pipelines.api.workers import pid_alive
from skit_pipelines.config import Settings
from skit_pipelines.runner.base import RunState

logger = logging.getLogger(__name__)

MAX_PARALLEL = 8


def claimer_id() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def slack_message(run: RunRecord) -> tuple[str, str]:
    """(text, code block) of the thread message: a link to the run, its artifacts or a pointer to the logs."""
    message = f"{run.pipeline}: {state_message(run.state)}"
    text = f"<{run.run_url}|{message}>" if run.run_url else message
    failed = run.state in (RunState.FAILED, RunState.CANCELED)
    if failed and run.error:
        text += f"\n{run.error}"
    if failed and run.error_logs:
        text += "\nCheck error logs for more info :point_down:"
    code_block = "\n".join(output_uris(run.outputs)) if not failed else ""
    return text, code_block


class Notifier:
    def __init__(self, store: RunStore, settings: Settings, api_settings: ApiSettings) -> None:
        self.store = store
        self.settings = settings
        self.api_settings = api_settings
        self.claimer = claimer_id()
        self._pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="delivery")
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def claim_timeout(self) -> dt.timedelta:
        """A claim older than this was left by a sender that died (an attempt never takes this long)."""
        return dt.timedelta(seconds=self.api_settings.webhook_timeout_seconds * 3 + 60)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def tick(self) -> int:
        """Claim and start due deliveries (as many as there are free senders); returns how many started."""
        self.release_abandoned_claims()
        with self._lock:
            free = MAX_PARALLEL - self._in_flight
        if free <= 0:
            return 0
        started = 0
        for run_id, kind in self.store.due_deliveries(limit=free):
            delivery = self.store.claim_delivery(run_id, kind, self.claimer)
            if delivery is None:
                continue
            with self._lock:
                self._in_flight += 1
            self._pool.submit(self._deliver_safely, delivery)
            started += 1
        return started

    def release_abandoned_claims(self) -> int:
        """Claims of dead senders on this host go back at once; anyone's after ``claim_timeout``."""
        cutoff = now_utc() - self.claim_timeout
        released = 0
        for run_id, kind, claimed_by, claimed_at in self.store.delivering_claims():
            if claimed_by == self.claimer:
                continue
            host, _, rest = claimed_by.partition(":")
            pid = rest.partition(":")[0]
            dead_here = host == HOST and pid.isdigit() and not pid_alive(int(pid))
            if dead_here or claimed_at is None or claimed_at < cutoff:
                released += self.store.release_claim(run_id, kind, claimed_by)
        return released

    def _deliver_safely(self, delivery: Delivery) -> None:
        try:
            self.deliver(delivery)
        except Exception:
            logger.exception("delivery %s of run %s crashed", delivery.kind, delivery.run_id)
            self.store.record_attempt(
                delivery,
                ok=False,
                status_code=None,
                error="internal error",
                seconds=0,
                outcome="pending",
                next_attempt_at=now_utc() + dt.timedelta(seconds=30),
            )
        finally:
            with self._lock:
                self._in_flight -= 1

    def deliver(self, delivery: Delivery) -> str:
        """One attempt; returns the recorded outcome."""
        run = self.store.get_run(delivery.run_id)
        if run is None:
            outcome = "failed"
            self.store.record_attempt(
                delivery, ok=False, status_code=None, error="run not found", seconds=0, outcome=outcome
            )
            return outcome
        if delivery.kind in (WEBHOOK, PENDING_WEBHOOK):
            started = delivery.kind == PENDING_WEBHOOK
            result = post_webhook(
                run.webhook_uri,
                started_webhook_body(run) if started else webhook_body(run),
                delivery_id=f"{run.run_id}:pending" if started else run.run_id,
                secret=self.api_settings.webhook_secret.get_secret_value(),
                timeout=self.api_settings.webhook_timeout_seconds,
                allow_private=self.api_settings.webhook_allow_private,
            )
            skipped = False
        else:
            result, skipped = self._post_slack(run)
        return self._record(delivery, run, result, skipped)

    def _post_slack(self, run: RunRecord) -> tuple[AttemptResult, bool]:
        from skit_pipelines.notify.slack import send_notification

        text, code_block = slack_message(run)
        failed = run.state in (RunState.FAILED, RunState.CANCELED)
        started = time.monotonic()
        sent = send_notification(
            text,
            code_block=code_block,
            channel=run.channel,
            thread_id=run.slack_thread,
            file_title="Error Logs" if failed and run.error_logs else "",
            file_content=run.error_logs if failed else "",
            settings=self.settings,
        )
        seconds = time.monotonic() - started
        if sent.sent:  # a failed file upload after a posted message is reported, not re-posted
            return AttemptResult(True, None, sent.error, seconds), False
        not_configured = not self.settings.slack_token.get_secret_value().strip()
        return AttemptResult(False, None, sent.error, seconds, permanent=not_configured), not_configured

    def _record(self, delivery: Delivery, run: RunRecord, result: AttemptResult, skipped: bool) -> str:
        target = redact_url(run.webhook_uri) if delivery.kind in (WEBHOOK, PENDING_WEBHOOK) else run.channel
        if result.ok:
            outcome, when = "delivered", None
        elif skipped:
            outcome, when = "skipped", None
        elif result.permanent:
            outcome, when = "failed", None
        else:
            now = now_utc()
            when = next_attempt(
                delivery.first_attempt_at or now,
                delivery.attempts + 1,
                window=self.api_settings.webhook_retry_seconds,
                initial=self.api_settings.webhook_backoff_seconds,
                maximum=self.api_settings.webhook_backoff_max_seconds,
                now=now,
            )
            outcome = "pending" if when is not None else "failed"
        self.store.record_attempt(
            delivery,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error,
            seconds=result.seconds,
            outcome=outcome,
            next_attempt_at=when,
        )
        level = logging.INFO if outcome in ("delivered", "skipped") else logging.WARNING
        logger.log(
            level,
            "%s of run %s to %s: attempt %d %s%s",
            delivery.kind,
            run.run_id,
            target,
            delivery.attempts + 1,
            outcome,
            f" ({result.error})" if result.error else "",
        )
        return outcome
