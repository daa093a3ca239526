"""(d) HTTP API under load: 50 concurrent clients create runs of a no-op pipeline and read their status; and
authenticated latency while 60 connections flood ``POST /token`` with wrong passwords.

Both servers run as separate uvicorn processes on 127.0.0.1 (the load generator's own CPU use stays out of
theirs): our API (token auth, validation, a database write per run, the watcher and two workers executing the
runs in the background) and a bare FastAPI app whose endpoints return a constant, measured in the same run.
Reported: p50/p99 latency of run creation and of status reads, and requests per second, each as a ratio to
the bare endpoint. Runs still queued at the end are abandoned with the temporary database.
(No ``from __future__ import annotations`` here: kfp reads the real annotation objects of the component.)
"""

import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from kfp import dsl

from bench.common import Measurement
from skit_pipelines.components import component

CLIENTS = 50
ROUNDS = 4  # per client: create a run, read its status


@component
def bench_noop_step() -> str:
    """Does nothing: the pipeline exists to be created, not to work."""
    return "done"


@dsl.pipeline(name="bench-noop")
def bench_noop() -> str:
    """A one-step pipeline that does nothing (benchmarks only)."""
    return bench_noop_step().set_caching_options(enable_caching=False).output


def _api_app():
    from skit_pipelines.api.endpoints import create_app
    from skit_pipelines.pipelines import PIPELINES

    return create_app(pipelines={**PIPELINES, "bench_noop": bench_noop})


bare_app = FastAPI()


@bare_app.post("/bare")
def bare_create() -> dict:
    return {"status": "ok", "response": {"message": "created", "run_id": "x"}}


@bare_app.get("/bare")
def bare_read() -> dict:
    return {"status": "ok", "response": {"state": "RUNNING"}}


def __getattr__(name: str):
    if name == "api_app":
        return _api_app()
    raise AttributeError(name)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app_path: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app_path,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app_path} did not start:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url + ("/" if "api_app" in app_path else "/docs"), timeout=2).status_code < 500:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{app_path} did not answer within 120 s")


async def _load(
    create: tuple[str, str], read: str, headers: dict[str, str], body: dict | None
) -> tuple[list[float], list[float], float, int]:
    """(create latencies, read latencies, wall seconds, errors) for CLIENTS clients × ROUNDS rounds."""
    creates: list[float] = []
    reads: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:

        async def one_client() -> None:
            nonlocal errors
            for _ in range(ROUNDS):
                started = time.perf_counter()
                response = await client.post(create[0] + create[1], json=body)
                creates.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1
                    continue
                run_id = response.json()["response"]["run_id"]
                started = time.perf_counter()
                status = await client.get(read.format(run_id=run_id))
                reads.append(time.perf_counter() - started)
                errors += status.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        wall = time.perf_counter() - started
    return creates, reads, wall, errors


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _kill_workers(database: Path) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        pids = [
            r[0]
            for r in conn.execute(
                sa.text("select worker_pid from api_runs where state = 'RUNNING' and worker_pid is not null")
            )
        ]
        done = conn.execute(sa.text("select count(*) from api_runs where state = 'SUCCEEDED'")).scalar_one()
    engine.dispose()
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return int(done)


def bench_api_load() -> list[Measurement]:
    from skit_pipelines.api.auth import hash_password

    with tempfile.TemporaryDirectory(prefix="skit-bench-api-") as work:
        home = Path(work) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKIT_")}
        env |= {
            "SKIT_HOME": str(home),
            "SKIT_API_USERS": json.dumps({"bench": hash_password("bench-password")}),
            "SKIT_API_WORKERS": "2",
            "SKIT_API_MAX_QUEUED": str(CLIENTS * ROUNDS + 10),
            "SKIT_API_WATCH_SECONDS": "0.2",
        }
        api, api_url = _serve("bench.api_load:api_app", env, Path(work) / "api.log")
        bare, bare_url = _serve("bench.api_load:bare_app", env, Path(work) / "bare.log")
        try:
            token = httpx.post(
                api_url + "/token", data={"username": "bench", "password": "bench-password"}, timeout=30
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            # The bare app goes first: once runs exist, the API's workers execute them in the background and
            # would take CPU from whichever server is measured next.
            bare_result = asyncio.run(_load((bare_url, "/bare"), bare_url + "/bare", {}, {}))
            api_result = asyncio.run(
                _load(
                    (api_url, "/skit/pipelines/run/bench_noop/"),
                    api_url + "/skit/pipelines/runs/{run_id}",
                    headers,
                    {},
                )
            )
        finally:
            for process in (api, bare):
                process.terminate()
                process.wait(30)
            completed = _kill_workers(home / "skit.db")

    (creates, reads, wall, errors), (b_creates, b_reads, b_wall, b_errors) = api_result, bare_result
    if errors or b_errors:
        raise AssertionError(f"{errors} API and {b_errors} bare requests failed under load")
    requests, b_requests = len(creates) + len(reads), len(b_creates) + len(b_reads)
    shape = {"clients": CLIENTS, "requests": requests}
    return [
        Measurement(
            "API load: create run p50",
            _p(creates, 50),
            "bare FastAPI POST p50",
            _p(b_creates, 50),
            extra=shape | {"p99_s": round(_p(creates, 99), 4), "bare_p99_s": round(_p(b_creates, 99), 4)},
        ),
        Measurement(
            "API load: run status p50",
            _p(reads, 50),
            "bare FastAPI GET p50",
            _p(b_reads, 50),
            extra=shape | {"p99_s": round(_p(reads, 99), 4), "bare_p99_s": round(_p(b_reads, 99), 4)},
        ),
        Measurement(
            "API load: seconds per request (1/throughput)",
            wall / requests,
            "bare FastAPI",
            b_wall / b_requests,
            extra=shape
            | {
                "requests_per_s": round(requests / wall, 1),
                "bare_requests_per_s": round(b_requests / b_wall, 1),
                "runs_completed_meanwhile": completed,
            },
        ),
    ]


FLOOD_CONNECTIONS = 60  # the flood: 60 connections guessing passwords
READERS = 10  # authenticated clients measured with and without the flood
READS = 30  # requests per reader


async def _reads(url: str, headers: dict[str, str]) -> list[float]:
    """Latencies of READERS × READS authenticated run-list reads."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:

        async def reader() -> None:
            for _ in range(READS):
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise AssertionError(f"authenticated read answered {response.status_code}")

        await asyncio.gather(*(reader() for _ in range(READERS)))
    return latencies


async def _flood(api_url: str, stop: Any) -> tuple[dict[int | str, int], float]:
    """FLOOD_CONNECTIONS connections posting wrong passwords to /token non-stop until ``stop`` is set."""
    answers: dict[int | str, int] = {}
    started = time.monotonic()
    limits = httpx.Limits(max_connections=FLOOD_CONNECTIONS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as flood:

        async def guesser(index: int) -> None:
            attempt = 0
            while not stop.is_set():
                attempt += 1
                try:
                    response = await flood.post(
                        api_url + "/token", data={"username": f"guess-{index}-{attempt}", "password": "wrong"}
                    )
                    answer: int | str = response.status_code
                except httpx.HTTPError as exc:  # counted, not fatal: a flood client does not care
                    answer = type(exc).__name__
                answers[answer] = answers.get(answer, 0) + 1

        await asyncio.gather(*(guesser(i) for i in range(FLOOD_CONNECTIONS)))
    return answers, time.monotonic() - started


def _flood_process(api_url: str, stop: Any, results: Any) -> None:
    results.put(asyncio.run(_flood(api_url, stop)))


def _flooded_reads(api_url: str, read_url: str, headers: dict[str, str]) -> tuple[list[float], dict]:
    """The same reads while another process (the attacker, with its own CPU) floods /token."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    stop = context.Event()
    attacker = context.Process(target=_flood_process, args=(api_url, stop, results))
    attacker.start()
    time.sleep(5)  # the attacker's start-up, then the flood builds up
    try:
        latencies = asyncio.run(_reads(read_url, headers))
    finally:
        stop.set()
    answers, seconds = results.get(timeout=120)
    attacker.join(30)
    rate = round(sum(answers.values()) / seconds)
    return latencies, {"flood_answers": answers, "flood_logins_per_s": rate}


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def bench_login_flood() -> list[Measurement]:
    """Authenticated p99 during a login flood vs without it (target: within 3x), with the per-client limit
    off so that every guess is hashed: the worst case, as from many addresses; only the bound on concurrent
    hash checks protects the server."""
    from skit_pipelines.api.auth import hash_password

    with tempfile.TemporaryDirectory(prefix="skit-bench-flood-") as work:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKIT_")}
        env |= {
            "SKIT_HOME": str(Path(work) / "home"),
            "SKIT_API_USERS": json.dumps({"bench": hash_password("bench-password")}),
            "SKIT_API_LOGIN_LIMIT_PER_CLIENT": "1000000 per minute",
        }
        api, api_url = _serve("bench.api_load:api_app", env, Path(work) / "api.log")
        try:
            token = httpx.post(
                api_url + "/token", data={"username": "bench", "password": "bench-password"}, timeout=30
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            read_url = api_url + "/skit/pipelines/runs?limit=10"
            asyncio.run(_reads(read_url, headers))  # warm-up
            rss_before = _rss_mib(api.pid)
            quiet = asyncio.run(_reads(read_url, headers))
            flooded, flood = _flooded_reads(api_url, read_url, headers)
            peak = _rss_mib(api.pid, "VmHWM")
        finally:
            api.terminate()
            api.wait(30)
    extra = {"readers": READERS, "flood_connections": FLOOD_CONNECTIONS, **flood}
    return [
        Measurement(
            "API under a login flood: authenticated p99",
            _p(flooded, 99),
            "same reads without the flood, p99",
            _p(quiet, 99),
            extra=extra
            | {
                "p50_s": round(_p(flooded, 50), 4),
                "quiet_p50_s": round(_p(quiet, 50), 4),
                "rss_mib_before": rss_before,
                "peak_rss_mib": peak,
            },
        )
    ]


if __name__ == "__main__":
    for measurement in bench_api_load() + bench_login_flood():
        ratio = f"{measurement.ratio:.1f}x" if measurement.ratio else "-"
        print(
            f"{measurement.name}: {measurement.seconds * 1000:.1f} ms"
            f" vs {measurement.baseline_seconds * 1000:.1f} ms"
            f" ({ratio}) {measurement.extra}"
        )
