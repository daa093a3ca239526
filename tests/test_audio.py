"""drop_turns_without_audio against a real HTTP server on 127.0.0.1 and real local files."""

from __future__ import annotations

import csv
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from skit_pipelines.warehouse import audio
from skit_pipelines.warehouse.audio import AudioCheckResult, check_audio_url, drop_turns_without_audio
from tests.conftest import free_port
from tests.fakes.http import LoopbackHTTPServer, reply


class _AudioServer(LoopbackHTTPServer):
    """Audio URLs in every state the check must tell apart; ``hits`` counts requests per (method, path)."""

    thread_name = "fake-audio"

    def __init__(self) -> None:
        super().__init__()
        self.hits: Counter[tuple[str, str]] = Counter()  # (HTTP method, path) → count
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return self.base_url

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.hits[(handler.command, path)] += 1
            hits = self.hits[(handler.command, path)]
        if handler.command == "HEAD":
            if path.startswith("/ok/"):
                reply(handler, 200, headers={"Content-Type": "audio/wav"})
            elif path == "/redirect":
                reply(handler, 302, headers={"Location": "/ok/target.wav"})
            elif path == "/no-head.wav":
                reply(handler, 405, headers={"Allow": "GET"})
            elif path == "/flaky.wav":
                reply(handler, 503 if hits == 1 else 200)
            elif path == "/down.wav":
                reply(handler, 503)
            else:
                reply(handler, 404)
        elif handler.path == "/no-head.wav" and handler.headers.get("Range") == "bytes=0-0":
            reply(handler, 206, b"R", headers={"Content-Range": "bytes 0-0/1000"})
        else:
            reply(handler, 404)


@pytest.fixture
def server() -> Iterator[_AudioServer]:
    with _AudioServer() as httpd:
        yield httpd


HEADER = ["call_id", "conversation_uuid", "audio_url", "utterances", "state"]


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_keeps_only_rows_with_available_audio(server: _AudioServer, tmp_path: Path) -> None:
    (tmp_path / "local.wav").write_bytes(b"RIFF....")
    (tmp_path / "empty.wav").write_bytes(b"")
    base = server.base
    utterances = '[[{"transcript": "yes, please", "confidence": 0.9}]]'
    urls = {
        "ok-1": f"{base}/ok/1.wav",
        "ok-1-again": f"{base}/ok/1.wav",  # same URL, checked once
        "ok-query": f"{base}/ok/2.wav?X-Amz-Signature=secret",
        "redirect": f"{base}/redirect",
        "missing": f"{base}/missing.wav",
        "no-head": f"{base}/no-head.wav",
        "flaky": f"{base}/flaky.wav",
        "down": f"{base}/down.wav",
        "local": str(tmp_path / "local.wav"),
        "local-uri": (tmp_path / "local.wav").as_uri(),
        "local-missing": str(tmp_path / "nope.wav"),
        "local-empty": (tmp_path / "empty.wav").as_uri(),
        "no-url": "",
        "blank-url": "   ",
    }
    rows = [[str(i), name, url, utterances, "COF"] for i, (name, url) in enumerate(urls.items())]
    in_csv, out_csv = tmp_path / "in.csv", tmp_path / "out" / "kept.csv"
    _write(in_csv, rows)

    result = drop_turns_without_audio(in_csv, out_csv, workers=4, timeout=5)

    expected_kept = ["ok-1", "ok-1-again", "ok-query", "redirect", "no-head", "flaky", "local", "local-uri"]
    out = _read(out_csv)
    assert out[0] == HEADER
    assert [row[1] for row in out[1:]] == expected_kept
    assert out[1:] == [row for row in rows if row[1] in expected_kept]  # every column untouched
    assert result == AudioCheckResult(kept=8, dropped_no_url=2, dropped_unavailable=4, checked_urls=11)

    hits = server.hits
    assert hits[("HEAD", "/ok/1.wav")] == 1
    assert hits[("HEAD", "/missing.wav")] == 1  # a 404 is not retried
    assert hits[("HEAD", "/no-head.wav")] == 1 and hits[("GET", "/no-head.wav")] == 1
    assert hits[("HEAD", "/flaky.wav")] == 2  # 503, then 200
    assert hits[("HEAD", "/down.wav")] == audio.RETRY_ATTEMPTS
    assert not list(out_csv.parent.glob(".*.tmp"))


def test_logs_summary_and_examples_without_query_strings(
    server: _AudioServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "in.csv", [["1", "a", f"{server.base}/gone.wav?X-Amz-Signature=secret", "[]", "S"]])

    with caplog.at_level(logging.INFO, logger="skit_pipelines.warehouse.audio"):
        result = drop_turns_without_audio(tmp_path / "in.csv", tmp_path / "out.csv")

    assert result == AudioCheckResult(kept=0, dropped_no_url=0, dropped_unavailable=1, checked_urls=1)
    assert _read(tmp_path / "out.csv") == [HEADER]
    text = caplog.text
    assert "kept 0 rows" in text and "1 with unavailable audio" in text
    assert f"{server.base}/gone.wav?… (HTTP 404)" in text
    assert "secret" not in text


def test_unreachable_host_counts_as_unavailable(server: _AudioServer, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/a.wav"
    _write(
        tmp_path / "in.csv", [["1", "a", down, "[]", "S"], ["2", "b", f"{server.base}/ok/1.wav", "[]", "S"]]
    )

    result = drop_turns_without_audio(tmp_path / "in.csv", tmp_path / "out.csv", timeout=2)

    assert result == AudioCheckResult(kept=1, dropped_no_url=0, dropped_unavailable=1, checked_urls=2)


def test_nothing_reachable_fails_and_drops_nothing(tmp_path: Path) -> None:
    """A network outage must not turn into an empty sample."""
    urls = [f"http://127.0.0.1:{free_port()}/{i}.wav" for i in range(3)]
    _write(tmp_path / "in.csv", [[str(i), "a", url, "[]", "S"] for i, url in enumerate(urls)])

    with pytest.raises(audio.AudioHostsUnreachableError, match="no turn was dropped"):
        drop_turns_without_audio(tmp_path / "in.csv", tmp_path / "out.csv", timeout=2)
    assert not (tmp_path / "out.csv").exists()


def test_missing_column_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "in.csv", [["1", "x"]], header=["call_id", "audio"])

    with pytest.raises(ValueError, match="audio_url"):
        drop_turns_without_audio(tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_empty_csv_and_header_only(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="audio_url"):
        drop_turns_without_audio(tmp_path / "empty.csv", tmp_path / "out.csv")

    _write(tmp_path / "header.csv", [])
    result = drop_turns_without_audio(tmp_path / "header.csv", tmp_path / "out.csv")
    assert result == AudioCheckResult(kept=0, dropped_no_url=0, dropped_unavailable=0, checked_urls=0)
    assert _read(tmp_path / "out.csv") == [HEADER]


def test_quoting_newlines_and_large_fields_survive(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    big = '{"context": "' + "z" * 200_000 + '"}'
    rows = [["1", 'multi\nline, "quoted"', str(tmp_path / "a.wav"), big, "ünïcode"]]
    _write(tmp_path / "in.csv", rows)

    drop_turns_without_audio(tmp_path / "in.csv", tmp_path / "in.csv")  # in place: read fully, then replaced

    assert _read(tmp_path / "in.csv") == [HEADER, *rows]


def test_storage_uris_use_the_artifact_store(s3_bucket: str, tmp_path: Path) -> None:
    """s3:// audio is checked in the configured store (a real moto server here)."""
    from skit_pipelines import storage

    (tmp_path / "there.wav").write_bytes(b"RIFF")
    there = storage.upload_file(tmp_path / "there.wav", reference="audio", file_type="turn", ext=".wav")
    gone = there.removesuffix(".wav") + "-gone.wav"
    rows = [["1", "a", there, "[]", "S"], ["2", "b", gone, "[]", "S"]]
    _write(tmp_path / "in.csv", rows)

    result = drop_turns_without_audio(tmp_path / "in.csv", tmp_path / "out.csv")

    assert there.startswith(f"s3://{s3_bucket}/")
    assert result == AudioCheckResult(kept=1, dropped_no_url=0, dropped_unavailable=1, checked_urls=2)
    assert _read(tmp_path / "out.csv") == [HEADER, rows[0]]


def test_check_audio_url(server: _AudioServer) -> None:
    assert check_audio_url(f"{server.base}/ok/x.wav")
    assert not check_audio_url(f"{server.base}/missing.wav")
