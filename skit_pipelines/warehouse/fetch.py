"""``fetch_calls``: sample calls matching validated filters, drop turns without audio if asked, store the CSV.

Plain Python (no kfp): the ``fetch_calls`` component builds one :class:`CallFilters` from its raw
parameters and calls :func:`fetch_calls`; tests call it directly. Every parameter is validated before any
query runs (the filters when they are built, the sample size here), so a typo in a date fails in
milliseconds with the parameter's name instead of after a slow query.
"""

from __future__ import annotations

import logging
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from skit_pipelines import storage
from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.filters import CallFilters
from skit_pipelines.warehouse.sampling import sample_calls_to_csv

log = logging.getLogger(__name__)

NO_CALLS_MESSAGE = "no calls matched these filters"


@dataclass
class FetchCallsResult:
    """What a fetch produced; every field is a component output."""

    calls_uri: str
    matching_calls: int
    sampled_calls: int
    turns: int
    dropped_audio_turns: int
    random_seed: int
    start: str
    end: str
    message: str
    download_command: str


def file_reference(filters: CallFilters) -> str:
    """Reference part of the artifact name: ``{clients}-{start}-{end}`` as in the original naming."""
    who = "-".join(filters.client_ids) or filters.template_id or "all-clients"
    return f"{who}-{filters.start:%Y-%m-%d}-{filters.last_moment:%Y-%m-%d}"


def describe_request(filters: CallFilters, call_quantity: int) -> str:
    clients = ",".join(filters.client_ids) or "all"
    return (
        f"a request for {call_quantity} calls in {filters.lang} from {filters.start:%Y-%m-%d %H:%M} to "
        f"{filters.last_moment:%Y-%m-%d %H:%M} ({filters.timezone}) for client_id={clients!r}"
    )


def check_sample_size(*, call_quantity: int, random_seed: int) -> None:
    """The sample's size and seed; also the pre-run check of the sampling pipelines."""
    if call_quantity < 0:
        raise InvalidParameterError("call_quantity", f"call_quantity: must be >= 0, got {call_quantity}")
    if random_seed < -1:
        raise InvalidParameterError(
            "random_seed", f"random_seed: must be >= 0 (or -1 for a fresh seed), got {random_seed}"
        )


def fetch_calls(
    filters: CallFilters,
    *,
    call_quantity: int = 200,
    remove_empty_audios: bool = False,
    random_seed: int = -1,
    warehouse_url: str,
) -> FetchCallsResult:
    """Sample ``call_quantity`` calls matching ``filters`` and store every turn of them as CSV.

    ``filters`` come validated from :func:`~skit_pipelines.warehouse.filters.build_call_filters` (or
    :func:`~skit_pipelines.warehouse.filters.call_filters_from` in a component); the sample's size and seed
    are checked here, before any query runs. ``random_seed=-1`` draws a fresh seed; the seed used is
    returned so the same sample can be drawn again.
    ``warehouse_url``: the caller's ``Settings.effective_warehouse_url`` (settings are read by entry points).
    """
    check_sample_size(call_quantity=call_quantity, random_seed=random_seed)
    seed = random_seed if random_seed >= 0 else random.SystemRandom().randrange(2**31)

    engine = schema.open_warehouse(warehouse_url)  # a missing warehouse is an error, never a new empty file
    try:
        with tempfile.TemporaryDirectory(prefix="fetch-calls-") as work:
            csv_path = Path(work) / "calls.csv"
            sample = sample_calls_to_csv(engine, filters, call_quantity, csv_path, seed=seed)
            dropped = 0
            if remove_empty_audios and sample.turns:
                # Imported here: the HTTP checks (httpx, tenacity) are only needed with remove_empty_audios.
                from skit_pipelines.warehouse.audio import drop_turns_without_audio

                checked_path = Path(work) / "calls-with-audio.csv"
                audio = drop_turns_without_audio(csv_path, checked_path)
                dropped = audio.dropped_no_url + audio.dropped_unavailable
                turns = audio.kept
                csv_path = checked_path
                log.info(
                    "remove_empty_audios: kept %d turns, dropped %d without a URL and %d unavailable",
                    audio.kept,
                    audio.dropped_no_url,
                    audio.dropped_unavailable,
                )
            else:
                turns = sample.turns
            uri = storage.upload_file(
                csv_path,
                reference=file_reference(filters),
                file_type=f"{filters.lang}-untagged",
                ext=".csv",
            )
    finally:
        engine.dispose()

    request = describe_request(filters, call_quantity)
    if sample.sampled_calls == 0:
        message = f"Finished {request}: {NO_CALLS_MESSAGE} ({sample.matching_calls} matching calls)."
        log.warning("%s", message)
    else:
        message = (
            f"Finished {request}: sampled {sample.sampled_calls} of {sample.matching_calls} matching calls, "
            f"{turns} turns"
            + (f" ({dropped} turns without audio dropped)" if remove_empty_audios else "")
            + "."
        )
    return FetchCallsResult(
        calls_uri=uri,
        matching_calls=sample.matching_calls,
        sampled_calls=sample.sampled_calls,
        turns=turns,
        dropped_audio_turns=dropped,
        random_seed=seed,
        start=filters.start.isoformat(),
        end=filters.end.isoformat(),
        message=message,
        download_command=storage.download_command(uri),
    )
