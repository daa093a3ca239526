"""The demo's summary of a turns CSV: calls, turns, clients and time span, whatever the cell sizes."""

import csv
from pathlib import Path

from skit_pipelines.warehouse.summary import summarise_turns_csv


def test_summary_counts_calls_turns_clients_and_span(tmp_path: Path) -> None:
    path = tmp_path / "turns.csv"
    rows = [
        ("c1", "7", "en", "2026-03-10T10:00:00+00:00", "{}"),
        ("c1", "7", "en", "2026-03-10T10:01:00+00:00", "x" * 200_000),  # a huge context cell
        ("c2", "9", "hi", "2026-03-10T09:00:00+00:00", "{}"),
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["call_uuid", "client_id", "language", "reftime", "context"])
        writer.writerows(rows)
    summary = summarise_turns_csv(path)
    assert (summary.calls, summary.turns, summary.clients) == (2, 3, 2)
    assert summary.calls_per_client == {"7": 1, "9": 1}
    assert summary.turns_per_language == {"en": 2, "hi": 1}
    assert summary.first_turn.isoformat() == "2026-03-10T09:00:00+00:00"
    assert summary.last_turn.isoformat() == "2026-03-10T10:01:00+00:00"
