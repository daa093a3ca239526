"""Drop turns whose audio is missing, without downloading any audio (``fetch_calls`` step 6).

Why: the reference downloaded and transcoded every turn's audio (a Go binary, 40 workers) only to learn
which files exist, and dropped turns without saying how many or why (spec 14 item 13). Here each distinct
URL is checked once with the cheapest request that answers the question (an HTTP ``HEAD``; a 1-byte ranged
``GET`` where a server refuses ``HEAD``), and the result says how many turns were dropped for which reason.

Why threads sharing one ``httpx.Client`` rather than httpx's async client: the function is synchronous and
is called from kfp components, the CLI and the API server alike; a thread pool needs no event loop (so it
cannot clash with one the caller already runs), the shared client still pools connections per host, and
the same pool also runs the local-file and ``storage.exists`` checks (boto3 is synchronous). The work is
network-bound, so the GIL does not matter.

Why tenacity: transient failures (connection errors, timeouts, 429 and 5xx answers) are retried a couple of
times with a short exponential back-off; a URL that still fails counts as unavailable and is reported with
its last error, so a flaky server does not silently shrink a dataset by more than it has to.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.localfiles import allow_large_csv_fields, atomic_open

logger = logging.getLogger(__name__)
_P = ParamSpec("_P")
_R = TypeVar("_R")

AUDIO_URL_COLUMN = "audio_url"

# Retries of transient errors.
RETRY_ATTEMPTS = 3
RETRY_WAIT_SECONDS = 0.25
RETRY_MAX_WAIT_SECONDS = 2.0
EXAMPLES_LOGGED = 5

# HEAD answers after which a 1-byte ranged GET is tried: 405/501 "HEAD not supported"; 403 because presigned
# S3 URLs are signed for GET only, so S3 refuses a HEAD on them with SignatureDoesNotMatch.
_HEAD_FALLBACK_STATUSES = {403, 405, 501}
_TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class AudioCheckResult:
    """Rows kept and dropped (by reason), and how many distinct audio URLs were checked."""

    kept: int
    dropped_no_url: int
    dropped_unavailable: int
    checked_urls: int


class _TransientAudioError(SkitPipelinesError):
    """A 5xx/429 answer: worth retrying."""


class AudioHostsUnreachableError(SkitPipelinesError, RuntimeError):
    """No audio could be checked at all (network down, wrong host): nothing is dropped, the step fails."""


@dataclass
class _Check:
    available: bool
    reason: str = ""  # why not available (HTTP status, error), for the log
    unreachable: bool = False  # a connection error or a 5xx that outlived the retries, not an answer


def drop_turns_without_audio(
    in_csv: Path, out_csv: Path, *, workers: int = 32, timeout: float = 10.0
) -> AudioCheckResult:
    """Copy the rows of ``in_csv`` whose ``audio_url`` is available to ``out_csv`` (written atomically).

    Every column of a kept row is written back untouched, in the same order, under the same header. Rows
    with an empty ``audio_url`` are dropped as ``dropped_no_url``; rows whose audio is missing, empty or
    unreachable as ``dropped_unavailable``. Raises ``ValueError`` if the CSV has no ``audio_url`` column.
    """
    in_csv, out_csv = Path(in_csv), Path(out_csv)
    allow_large_csv_fields()

    # Pass 1: the distinct URLs (rows stay on disk: call CSVs hold large JSON columns).
    with in_csv.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        column = _audio_column(header, in_csv)
        urls = {url for url in (_cell(row, column) for row in reader) if url}

    checks = _check_all(sorted(urls), workers=workers, timeout=timeout)
    if checks and all(check.unreachable for check in checks.values()):
        # Dropping every turn because the network is down would silently lose the whole sample.
        raise AudioHostsUnreachableError(
            f"could not reach the audio of any of {len(checks)} URLs (e.g. {_examples(checks.items())}); "
            "no turn was dropped: check the network or run without remove_empty_audios"
        )

    # Pass 2: copy the rows whose audio is there.
    kept = no_url = unavailable = 0
    with (
        in_csv.open(newline="", encoding="utf-8-sig") as src,
        atomic_open(out_csv, "w", newline="", encoding="utf-8") as dst,
    ):
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        for row in reader:
            url = _cell(row, column)
            if not url:
                no_url += 1
            elif checks[url].available:
                kept += 1
                writer.writerow(row)
            else:
                unavailable += 1

    result = AudioCheckResult(
        kept=kept, dropped_no_url=no_url, dropped_unavailable=unavailable, checked_urls=len(urls)
    )
    _log_summary(result, checks)
    return result


def check_audio_url(url: str, client: httpx.Client | None = None, *, timeout: float = 10.0) -> bool:
    """Whether one audio URL (http(s), local path, ``file://`` or an artifact-store URI) is available."""
    if client is not None:
        return _check_one(url, client).available
    with _http_client(workers=1, timeout=timeout) as own:
        return _check_one(url, own).available


# -- checks -------------------------------------------------------------------------------------------------
def _check_all(urls: list[str], *, workers: int, timeout: float) -> dict[str, _Check]:
    if not urls:
        return {}
    workers = max(1, min(workers, len(urls)))
    with _http_client(workers=workers, timeout=timeout) as client, ThreadPoolExecutor(workers) as pool:
        results = pool.map(lambda url: _check_one(url, client), urls)
        return dict(zip(urls, results, strict=True))


def _http_client(*, workers: int, timeout: float) -> httpx.Client:
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    return httpx.Client(timeout=timeout, limits=limits, follow_redirects=True)


def _check_one(url: str, client: httpx.Client) -> _Check:
    """Never raises: an error is an unavailable URL with the error as its reason."""
    try:
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            return _retrying(_check_http)(url, client)
        if scheme == "file":
            return _check_local(Path(url2pathname(urlsplit(url).path)))
        if scheme == "" or len(scheme) == 1:  # a plain path (a one-letter scheme is a Windows drive)
            return _check_local(Path(url))
        return _retrying(_check_store)(url)
    except (httpx.TransportError, _TransientAudioError) as exc:
        return _Check(False, _describe(exc), unreachable=True)
    except Exception as exc:
        return _Check(False, _describe(exc))


def _retrying(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """tenacity's retry, built per call (not at import) so that the module's retry settings apply."""
    return retry(
        retry=retry_if_exception_type((httpx.TransportError, _TransientAudioError)),
        stop=stop_after_attempt(RETRY_ATTEMPTS),
        wait=wait_exponential(multiplier=RETRY_WAIT_SECONDS, max=RETRY_MAX_WAIT_SECONDS),
        reraise=True,
    )(func)


def _check_http(url: str, client: httpx.Client) -> _Check:
    response = client.head(url)
    status = response.status_code
    if status in _HEAD_FALLBACK_STATUSES:
        # Ask for one byte and never read the body, in case the server ignores Range and sends it all.
        with client.stream("GET", url, headers={"Range": "bytes=0-0"}) as ranged:
            status = ranged.status_code
            if status in (200, 206):
                return _Check(True)
    elif 200 <= status < 300:
        return _Check(True)
    if status in _TRANSIENT_STATUSES:
        raise _TransientAudioError(f"HTTP {status}")
    return _Check(False, f"HTTP {status}")


def _check_local(path: Path) -> _Check:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return _Check(False, "no such file")
    if not path.is_file():
        return _Check(False, "not a file")
    return _Check(True) if size > 0 else _Check(False, "empty file")


def _check_store(uri: str) -> _Check:
    from skit_pipelines import storage  # lazily: boto3 is only needed for s3:// audio

    return _Check(True) if storage.exists(uri) else _Check(False, "no such object")


# -- CSV and logging helpers --------------------------------------------------------------------------------
def _audio_column(header: list[str] | None, path: Path) -> int:
    if not header:
        raise ValueError(f"{path}: empty CSV, expected a header with a column {AUDIO_URL_COLUMN!r}")
    try:
        return header.index(AUDIO_URL_COLUMN)
    except ValueError:
        raise ValueError(f"{path}: no column {AUDIO_URL_COLUMN!r} (columns: {', '.join(header)})") from None


def _cell(row: list[str], column: int) -> str:
    return row[column].strip() if column < len(row) else ""


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    if isinstance(exc, _TransientAudioError):
        return f"{text} after {RETRY_ATTEMPTS} attempts"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _redact(url: str) -> str:
    """Drop the query string (presigned URLs carry credentials in it) before logging a URL."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="…")) if parts.query else url


def _log_summary(result: AudioCheckResult, checks: dict[str, _Check]) -> None:
    missing = [(url, check.reason) for url, check in checks.items() if not check.available]
    logger.info(
        "audio check: kept %d rows; dropped %d without %s and %d with unavailable audio "
        "(%d distinct URLs checked, %d unavailable)",
        result.kept,
        result.dropped_no_url,
        AUDIO_URL_COLUMN,
        result.dropped_unavailable,
        result.checked_urls,
        len(missing),
    )
    if missing:
        logger.warning("unavailable audio, e.g.: %s", _examples(missing))


def _examples(missing: Iterable[tuple[str, str | _Check]]) -> str:
    shown = [
        f"{_redact(url)} ({reason.reason if isinstance(reason, _Check) else reason})"
        for url, reason in list(missing)[:EXAMPLES_LOGGED]
    ]
    return "; ".join(shown)
