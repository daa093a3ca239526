"""Annotation benchmark: upload and download of 10k turns through our code vs raw HTTP, in the same run.

- upload: ``annotation.upload.tag_calls`` (read the CSV from the artifact store, build tasks with predictions,
  list the project's existing tasks for de-duplication, import in batches) against a bare loop of
  ``POST /api/projects/{id}/import`` with the same task payload (built beforehand) and the same batch size
  into a second project.
- download: ``annotation.download.fetch_tagged_dataset`` (export, select annotations, flatten, write and store
  the CSV) against a bare ``GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=true`` + JSON
  parse of the same tasks.

    python -m bench.annotation                # starts a local Label Studio from .venv-labelstudio
    python -m bench.annotation --url http://127.0.0.1:8080 --token T --turns 2000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.common import Measurement, machine, save, timed

BATCH = 500


def _turns_csv(work: Path, turns: int) -> str:
    """A fetch_calls CSV of exactly ``turns`` rows from a demo warehouse, stored in the artifact store."""
    from skit_pipelines import storage
    from skit_pipelines.warehouse.demo_data import generate_demo_warehouse
    from skit_pipelines.warehouse.fetch import fetch_calls
    from skit_pipelines.warehouse.filters import build_call_filters

    url = f"sqlite:///{work / 'warehouse.db'}"
    generate_demo_warehouse(url, calls=max(50, turns // 2), seed=1, end_date=dt.date(2026, 3, 10), days=1)
    rows: list[dict[str, str]] = []
    for lang in ("en", "hi", "es", "ta"):  # the demo speaks several languages: take them until full
        fetched = fetch_calls(
            build_call_filters(lang=lang, start_date="2026-03-09", end_date="2026-03-11", timezone="UTC"),
            call_quantity=turns,
            random_seed=1,
            warehouse_url=url,
        )
        with open(fetched.calls_uri, newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
        if len(rows) >= turns:
            break
    if len(rows) < turns:
        raise RuntimeError(f"the demo warehouse gave {len(rows)} turns, fewer than {turns}")
    path = work / "turns.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:turns])
    return storage.upload_file(path, reference="bench", file_type="untagged", ext=".csv")


def bench_annotation(url: str, token: str, turns: int = 10_000) -> list[Measurement]:
    """Upload and download ``turns`` turns, ours vs raw HTTP of the same payload; tasks/s in ``extra``."""
    from skit_pipelines.annotation.client import LabelStudioClient
    from skit_pipelines.annotation.download import download_request, fetch_tagged_dataset
    from skit_pipelines.annotation.tasks import turn_task
    from skit_pipelines.annotation.upload import read_rows, tag_calls
    from skit_pipelines.config import get_settings

    saved = os.environ.get("SKIT_HOME")
    with tempfile.TemporaryDirectory(prefix="bench-annotation-") as tmp:
        work = Path(tmp)
        os.environ["SKIT_HOME"] = str(work / "home")
        get_settings.cache_clear()
        try:
            uri = _turns_csv(work, turns)
            _, rows = read_rows(Path(uri), uri, ())
            title = f"bench {uuid.uuid4().hex[:8]}"

            upload_s, result = timed(
                lambda: tag_calls(s3_path=uri, project_title=title, batch_size=BATCH, url=url, token=token)
            )
            ours_project = result.projects[0].project_id
            assert result.uploaded == turns, result.message

            with LabelStudioClient(url, token) as client:
                config = client.get_project(ours_project)["label_config"]
                raw_project = client.create_project(f"{title} raw", config)["id"]
            payload = [turn_task(row, data_label="Live") for row in rows]
            auth = {"Authorization": f"Token {token}"}

            def raw_upload() -> int:
                created = 0
                with httpx.Client(base_url=url, headers=auth, timeout=600) as http:
                    for start in range(0, len(payload), BATCH):
                        response = http.post(
                            f"/api/projects/{raw_project}/import", json=payload[start : start + BATCH]
                        )
                        response.raise_for_status()
                        created += response.json()["task_count"]
                return created

            raw_upload_s, created = timed(raw_upload)
            assert created == turns

            download_s, dataset = timed(
                lambda: fetch_tagged_dataset(
                    download_request(labelstudio_project_id=str(ours_project), include_unannotated=True),
                    url=url,
                    token=token,
                )
            )
            assert dataset.counts.rows == turns

            def raw_download() -> int:
                response = httpx.get(
                    f"{url}/api/projects/{raw_project}/export",
                    headers=auth,
                    timeout=600,
                    params={"exportType": "JSON", "download_all_tasks": "true"},
                )
                response.raise_for_status()
                return len(response.json())

            raw_download_s, exported = timed(raw_download)
            assert exported == turns
        finally:
            if saved is None:
                os.environ.pop("SKIT_HOME", None)
            else:
                os.environ["SKIT_HOME"] = saved
            get_settings.cache_clear()
    return [
        Measurement(
            f"annotation upload {turns} turns",
            upload_s,
            "raw HTTP import, same tasks and batches",
            raw_upload_s,
            {"tasks_per_s": round(turns / upload_s), "raw_tasks_per_s": round(turns / raw_upload_s)},
        ),
        Measurement(
            f"annotation download {turns} turns",
            download_s,
            "raw HTTP JSON export + parse",
            raw_download_s,
            {
                "tasks_per_s": round(turns / download_s),
                "raw_tasks_per_s": round(turns / raw_download_s),
                "export": "snapshot" if turns > 2000 else "direct",
            },
        ),
    ]


def bench_annotation_local(turns: int = 10_000) -> list[Measurement]:
    """Start a scratch Label Studio from ``.venv-labelstudio`` (warm template), benchmark, stop it."""
    from skit_pipelines.annotation import local_server

    venv = local_server.DEFAULT_VENV
    scratch = Path(tempfile.mkdtemp(prefix="bench-labelstudio-"))
    started = time.perf_counter()
    server = local_server.start_from_template(venv / "skit-test-template", scratch, venv=venv)
    print(f"Label Studio started at {server.url} in {time.perf_counter() - started:.1f} s")
    try:
        return bench_annotation(server.url, server.token, turns)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default="", help="Label Studio URL (default: start one from .venv-labelstudio)"
    )
    parser.add_argument("--token", default="")
    parser.add_argument("--turns", type=int, default=10_000)
    args = parser.parse_args()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine().items()))
    if args.url:
        results = bench_annotation(args.url, args.token, args.turns)
    else:
        results = bench_annotation_local(args.turns)
    for r in results:
        print(
            f"{r.name}: {r.seconds:.2f} s vs {r.baseline} {r.baseline_seconds:.2f} s "
            f"(ratio {r.ratio:.2f}x) {r.extra}"
        )
    print(f"saved {save(results, 'annotation')}")


if __name__ == "__main__":
    main()
