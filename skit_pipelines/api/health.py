"""``GET /``: is the API up, does its database answer, can it run pipelines?

The reference only asked Kubeflow. Here each part is checked and reported on its own, so that an operator
sees *what* is down: 200 when everything answers, 503 otherwise (the envelope's ``status`` says the same).
``queue`` says whether runs move: an API whose watcher is stuck, or whose queued runs wait beside free
worker slots, is not healthy even though it answers (that once went unnoticed while nothing started).
"""

from __future__ import annotations

from typing import Any

import httpx

from skit_pipelines.api.service import RunService
from skit_pipelines.api.watcher import Watcher
from skit_pipelines.runner.base import RunState

KFP_TIMEOUT_SECONDS = 5.0


def check_database(service: RunService) -> dict[str, Any]:
    try:
        service.store.ping()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    return {"ok": True, "backend": service.store.engine.dialect.name}


def check_runner(service: RunService, watcher_alive: bool) -> dict[str, Any]:
    settings = service.settings
    if not settings.kfp_host:
        info: dict[str, Any] = {
            "ok": watcher_alive,
            "backend": "local",
            "workers": service.api_settings.api_workers,
        }
        try:
            info["running"] = service.store.count_local(RunState.RUNNING)
            info["queued"] = service.store.count_local(RunState.PENDING)
        except Exception:
            pass  # the database check reports it
        if not watcher_alive:
            info["error"] = "the run watcher is not running"
        return info
    host = settings.kfp_host.rstrip("/")
    if not host.startswith(("http://", "https://")):
        host = "https://" + host
    headers = {}
    token = settings.kfp_token.get_secret_value()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.get(f"{host}/apis/v2beta1/healthz", headers=headers, timeout=KFP_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return {
            "ok": False,
            "backend": "kubeflow",
            "host": host,
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }
    if response.status_code != 200:
        return {
            "ok": False,
            "backend": "kubeflow",
            "host": host,
            "error": f"healthz answered {response.status_code}",
        }
    return {"ok": watcher_alive, "backend": "kubeflow", "host": host}


def check_queue(watcher: Watcher) -> dict[str, Any]:
    report = watcher.queue_report()
    info: dict[str, Any] = {
        "ok": not report.stalled,
        "state": "stalled" if report.stalled else "moving",
        "last_cycle_seconds_ago": report.last_cycle_seconds_ago,
        "stalled_after_seconds": watcher.stall_after,
    }
    if report.stalled:
        info["error"] = report.reason
    if report.failing_parts:
        info["failing"] = report.failing_parts
    return info


def health(service: RunService, watcher: Watcher) -> tuple[int, dict[str, Any]]:
    database = check_database(service)
    runner = check_runner(service, watcher.alive)
    queue = check_queue(watcher)
    parts = (("database", database), ("runner", runner), ("queue", queue))
    ok = all(part["ok"] for _, part in parts)
    if ok:
        message = "skit-pipelines API is up."
    else:
        broken = [name for name, part in parts if not part["ok"]]
        message = f"skit-pipelines API is up but {' and '.join(broken)} is not."
    response = {
        "message": message,
        "api": {"ok": True},
        "database": database,
        "runner": runner,
        "queue": queue,
    }  # no user count, nothing about users: this answer is public (problems are logged at start-up)
    return (200 if ok else 503), {"status": "ok" if ok else "error", "response": response}
