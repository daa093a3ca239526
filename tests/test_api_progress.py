"""The API's run status shows the latest progress line of a running training step (``progress``).

A real API (uvicorn on loopback) and a real worker process run ``progress_pipeline``, whose step waits
after each epoch's report for a file the test creates: the test reads the status while the step waits, so
no timing is asserted. ``PYTHONUNBUFFERED`` is removed, so the worker's steps stream only because the runner
makes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import ApiClient, wait_for

pytest_plugins = ["tests.api_fixtures"]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(autouse=True)
def buffered_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)


def progress_of(client: ApiClient, run_id: str, epoch: int) -> dict[str, Any]:
    def reported() -> dict[str, Any] | None:
        response = client.status(run_id).json()["response"]
        progress = response["progress"]
        return response if progress and progress["epoch"] == epoch else None

    return wait_for(reported, 120, 0.05, f"the progress of epoch {epoch}")


def test_the_run_status_shows_the_latest_progress_line(client: ApiClient, tmp_path: Path) -> None:
    release = tmp_path / "release"
    created = client.run("progress_pipeline", {"release": str(release), "epochs": 2, "wait_seconds": 120})
    assert created.status_code == 200, created.text
    run_id = created.json()["response"]["run_id"]

    first = progress_of(client, run_id, 1)
    assert first["state"] == "RUNNING"  # the step is waiting for the release of epoch 1
    assert first["progress"] == {
        "step": "progress-step",  # the pipeline step that reported it
        "event": "epoch",
        "epoch": 1,
        "epochs": 2,
        "batch": 10,
        "batches": 10,
        "loss": 1.0,
        "elapsed_s": 1.0,
        "eta_s": 1.0,
        "validation_loss": None,
        "validation_accuracy": 0.75,
        "validation_macro_f1": None,
    }
    Path(f"{release}.1").touch()

    second = progress_of(client, run_id, 2)
    assert second["state"] == "RUNNING" and second["progress"]["validation_accuracy"] == 1.0
    Path(f"{release}.2").touch()

    final = client.wait_final(run_id)["response"]
    assert final["state"] == "SUCCEEDED" and final["outputs"] == {"Output": "released"}
    assert final["progress"]["epoch"] == 2  # the last report stays with the finished run


def test_a_run_without_progress_lines_has_null_progress(client: ApiClient) -> None:
    run_id = client.run("sleep_pipeline", {"seconds": 0.1}).json()["response"]["run_id"]
    final = client.wait_final(run_id)["response"]
    assert final["state"] == "SUCCEEDED" and final["progress"] is None
