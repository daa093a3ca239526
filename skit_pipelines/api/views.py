"""What a run looks like from outside: the status response and the webhook body, both in the envelope.

One function builds both so the webhook and ``GET .../runs/{run_id}`` can never disagree. The fields are the
reference's (``message, run_id, run_url, error_logs, uris, webhook``) plus the two its README documented but
never sent (``file_path``: the first artifact URI, ``s3_path``: the first ``s3://`` one; ``null`` when there
is none, as in the reference's error payload, never ``""``), plus what a caller needs to act without a second
request (``state``, ``outputs``, ``failed_step``, ``error``). A run that asked for it also gets a "started"
webhook (:func:`started_webhook_body`, envelope status ``pending``) when it starts.
"""

from __future__ import annotations

from typing import Any

from skit_pipelines.api.store import Delivery, RunRecord
from skit_pipelines.config import mask_url_password
from skit_pipelines.runner.base import RunState

_URI_PREFIXES = ("s3://", "gs://", "file://", "http://", "https://", "/")
CANCELED_MESSAGE = "Run canceled."


def envelope(status: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"status": status, "response": response}


def envelope_status(state: RunState) -> str:
    if state in (RunState.SUCCEEDED, RunState.SKIPPED):
        return "ok"
    if state in (RunState.FAILED, RunState.CANCELED):
        return "error"
    return "pending"


def state_message(state: RunState) -> str:
    return {
        RunState.SUCCEEDED: "Run completed successfully.",
        RunState.SKIPPED: "Run completed successfully (skipped).",
        RunState.FAILED: "Run failed.",
        RunState.CANCELED: CANCELED_MESSAGE,
        RunState.PENDING: "Run queued.",
    }.get(state, "Run in progress.")


def output_uris(outputs: dict[str, Any]) -> list[str]:
    """Output values that name an artifact (a URI or an absolute path), in output order."""
    uris = []
    for value in outputs.values():
        if isinstance(value, str) and value.startswith(_URI_PREFIXES) and value not in uris:
            uris.append(value)
    return uris


def run_response(run: RunRecord, *, webhook: bool = False) -> dict[str, Any]:
    """The ``response`` part for a run (webhook body when ``webhook``)."""
    uris = output_uris(run.outputs)
    artifacts = uris if envelope_status(run.state) != "error" else []  # a failed run's result is no result
    return {
        "message": state_message(run.state),
        "run_id": run.run_id,
        "run_url": run.run_url,
        "name": run.pipeline,
        "namespace": run.namespace,
        "state": run.state.value,
        "file_path": artifacts[0] if artifacts else None,
        "s3_path": next((u for u in artifacts if u.startswith("s3://")), None),
        "uris": uris,
        "outputs": run.outputs,
        "failed_step": run.failed_step,
        "error": run.error,
        "error_logs": run.error_logs,
        "webhook": webhook,
    }


def webhook_body(run: RunRecord) -> dict[str, Any]:
    return envelope(envelope_status(run.state), run_response(run, webhook=True))


def started_webhook_body(run: RunRecord) -> dict[str, Any]:
    """The reference's ``pending`` payload, sent once when the run starts. Built from the run as it was
    then (RUNNING, no outputs yet) even if it is sent late, so it never contradicts the final webhook."""
    response = run_response(run, webhook=True) | {
        "message": state_message(RunState.RUNNING),
        "state": RunState.RUNNING.value,
        "file_path": None,
        "s3_path": None,
        "uris": [],
        "outputs": {},
        "failed_step": "",
        "error": "",
        "error_logs": "",
    }
    return envelope("pending", response)


def status_body(
    run: RunRecord, deliveries: list[Delivery], attempts: dict[str, list[dict[str, Any]]]
) -> dict:
    """``GET .../runs/{run_id}``: the webhook's fields plus steps, the latest progress line of a training step
    (``progress``: step, epoch, batch, loss, validation scores, ETA; null before any, and on Kubeflow), times
    and notification outcomes."""
    response = run_response(run)
    response |= {
        "backend": run.backend,
        "backend_run_id": run.backend_run_id,
        "arguments": run.arguments,
        "steps": run.step_states,
        "progress": run.progress or None,
        "created_by": run.created_by,
        "source": run.source,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "webhook_uri": mask_url_password(run.webhook_uri),
        "worker": {"pid": run.worker_pid, "host": run.worker_host} if run.backend == "local" else None,
        "notifications": {
            d.kind: {
                "status": d.status,
                "attempts": attempts.get(d.kind, []),
                "last_error": d.last_error,
                "delivered_at": _iso(d.delivered_at),
                "next_attempt_at": _iso(d.next_attempt_at) if d.status == "pending" else None,
            }
            for d in deliveries
        },
    }
    return envelope(envelope_status(run.state), response)


def summary(run: RunRecord) -> dict[str, Any]:
    """One run in a list."""
    return {
        "run_id": run.run_id,
        "name": run.pipeline,
        "state": run.state.value,
        "status": envelope_status(run.state),
        "run_url": run.run_url,
        "backend": run.backend,
        "created_by": run.created_by,
        "source": run.source,
        "created_at": _iso(run.created_at),
        "finished_at": _iso(run.finished_at),
        "failed_step": run.failed_step,
        "uris": output_uris(run.outputs),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
