"""Webhook delivery semantics: at-least-once with one delivery id, redirects as permanent failures, and the
private-address guard applied again at each attempt (real receivers on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skit_pipelines.api.notifier import Notifier
from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.api.store import RunRecord, RunStore
from skit_pipelines.api.webhooks import DELIVERY_HEADER, post_to, post_webhook
from skit_pipelines.config import get_settings
from skit_pipelines.runner.base import RunState
from tests.api_helpers import ApiClient, WebhookReceiver
from tests.conftest import SettingsEnv

pytest_plugins = ["tests.api_fixtures"]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fast_retries(api_env: None, settings_env: SettingsEnv) -> None:
    """A short retry window and timeout; set before ``client`` starts the API."""
    settings_env(SKIT_WEBHOOK_TIMEOUT_SECONDS="0.3", SKIT_WEBHOOK_RETRY_SECONDS="1.5")


def test_a_receiver_slower_than_the_timeout_gets_repeats_of_one_delivery_id(
    fast_retries: None, client: ApiClient
) -> None:
    with WebhookReceiver(delay_seconds=1.0) as receiver:
        created = client.run("sleep_pipeline", {"seconds": 0.1, "webhook_uri": receiver.url}).json()
        run_id = created["response"]["run_id"]
        body = client.wait_delivery(run_id, timeout=60)
        # At-least-once: every attempt reached the receiver, none was acknowledged in time.
        note = body["response"]["notifications"]["webhook"]
        assert note["status"] == "failed" and len(note["attempts"]) >= 2, note
        assert len(receiver.requests) == len(note["attempts"])
        assert {r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests} == {run_id}
        assert len({r.body for r in receiver.requests}) == 1  # the same body each time
        assert "no answer within 0.3 s" in note["last_error"], note


def test_a_redirect_is_a_permanent_failure_without_retries(fast_retries: None, client: ApiClient) -> None:
    with WebhookReceiver(fail_first=100, fail_status=302) as receiver:
        created = client.run("sleep_pipeline", {"seconds": 0.1, "webhook_uri": receiver.url}).json()
        body = client.wait_delivery(created["response"]["run_id"], timeout=60)
        note = body["response"]["notifications"]["webhook"]
        assert note["status"] == "failed" and len(note["attempts"]) == 1, note
        assert "HTTP 302: redirects are not followed" in note["last_error"]
        assert len(receiver.requests) == 1


def test_a_host_resolving_to_loopback_at_delivery_is_refused_when_private_targets_are_not_allowed(
    isolated_settings: Path,
) -> None:
    # The run was accepted earlier (the name was public then, or the setting was different): the check
    # that counts is the one at delivery.
    with WebhookReceiver() as receiver:
        store = RunStore.from_url(get_settings().effective_database_url, create=True)
        uri = receiver.url.replace("127.0.0.1", "localhost")
        store.insert_run(
            RunRecord(
                run_id="r1",
                pipeline="p",
                namespace="skit",
                backend="local",
                state=RunState.PENDING,
                webhook_uri=uri,
            )
        )
        store.finish_run("r1", RunState.SUCCEEDED)
        api_settings = ApiSettings(home=isolated_settings, webhook_allow_private=False)
        notifier = Notifier(store, get_settings(), api_settings)
        delivery = store.claim_delivery("r1", "webhook", notifier.claimer)
        assert delivery is not None
        assert notifier.deliver(delivery) == "failed"
        (attempt,) = store.attempts_of("r1", "webhook")
        assert "private or loopback" in attempt["error"]
        assert receiver.requests == []
        # The same name is delivered when private targets are allowed.
        assert post_webhook(uri, {"a": 1}, delivery_id="r1", allow_private=True).ok
        notifier.shutdown()
        store.dispose()


def test_a_pinned_attempt_connects_to_the_checked_address_with_the_original_host() -> None:
    with WebhookReceiver() as receiver:
        port = receiver.url.split(":")[-1].split("/")[0]
        url = f"http://hook.invalid:{port}/hook"  # .invalid never resolves: only the pinned address works
        assert not post_to(url, {"a": 1}, delivery_id="d1").ok
        result = post_to(url, {"a": 1}, delivery_id="d1", connect_to="127.0.0.1")
        assert result.ok, result
        (received,) = receiver.requests
        assert received.headers["host"] == f"hook.invalid:{port}" and received.json == {"a": 1}
