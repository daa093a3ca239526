"""A short summary of an untagged-turns CSV: what a person checks first after a sample.

Why: "did I get what I asked for?" is answered by four numbers (calls, turns, clients, date range) and the
split by client and language, not by opening a 10 MB CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from skit_pipelines.localfiles import allow_large_csv_fields


@dataclass
class TurnsCsvSummary:
    calls: int = 0
    turns: int = 0
    clients: int = 0
    first_turn: dt.datetime | None = None
    last_turn: dt.datetime | None = None
    calls_per_client: Counter[str] = field(default_factory=Counter)
    turns_per_language: Counter[str] = field(default_factory=Counter)

    def as_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a table."""
        span = "-"
        if self.first_turn and self.last_turn:
            span = f"{self.first_turn:%Y-%m-%d %H:%M} → {self.last_turn:%Y-%m-%d %H:%M} {self.first_turn:%Z}"
        return [
            ("calls", str(self.calls)),
            ("turns", str(self.turns)),
            ("clients", str(self.clients)),
            ("date range", span.strip()),
        ]


def summarise_turns_csv(path: Path | str) -> TurnsCsvSummary:
    """Count calls, turns and clients and find the time span of a CSV written by ``fetch_calls``."""
    summary = TurnsCsvSummary()
    call_client: dict[str, str] = {}
    allow_large_csv_fields()  # context and n-best cells can pass csv's default 128 KiB
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            summary.turns += 1
            call_client.setdefault(
                row.get("call_uuid") or row.get("call_id") or "", row.get("client_id") or ""
            )
            summary.turns_per_language[row.get("language") or ""] += 1
            reftime = row.get("reftime") or ""
            if reftime:
                moment = dt.datetime.fromisoformat(reftime)
                if summary.first_turn is None or moment < summary.first_turn:
                    summary.first_turn = moment
                if summary.last_turn is None or moment > summary.last_turn:
                    summary.last_turn = moment
    summary.calls = len(call_client)
    summary.calls_per_client = Counter(call_client.values())
    summary.clients = len(summary.calls_per_client)
    return summary
