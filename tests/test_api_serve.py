"""`skit-pipelines serve --port P`, as an operator runs it: run links point at P."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api_helpers import DAY, ApiClient, wait_for
from tests.conftest import free_port

pytest_plugins = ["tests.api_fixtures"]


def test_serve_port_is_the_port_of_run_links(api_env: None, warehouse: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "skit_pipelines.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(url + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 60, 0.1, "skit-pipelines serve to answer")
        client = ApiClient(url)
        response = client.run("fetch_calls_pipeline", {"lang": "en", "call_quantity": "2", **DAY})
        assert response.status_code == 200, response.text
        created = response.json()["response"]
        assert created["run_url"] == f"{url}/skit/pipelines/runs/{created['run_id']}"
        client.wait_final(created["run_id"])  # stop only once the worker is done with it
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
