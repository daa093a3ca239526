"""(e) Entity evaluation of 1M tagged turns vs reading the same columns with pandas + json.loads.

What is timed (wall clock, best of ``repeat``; ``cpu_seconds`` is this process's CPU time, which a busy
machine does not inflate): everything the ``gen_eer_metrics`` step does except the table write — read the CSV,
parse both entity columns, the first-entity report, the all-entities report, the four span schemes, the
fp/fn/mm tables, the HTML report with its chart, and the upload of every artifact to a local store.

Baseline: ``pandas.read_csv`` of the same three columns followed by ``json.loads`` of every truth and
prediction cell — the least any evaluation in Python has to do with this file. The ratio is the price of
everything the evaluation adds on top of reading it. Target (issue 4 §5): under 60 s for 1M turns.

The dataset is synthetic and deterministic (seeded): 35 % of turns with no entity on either side, the
rest one entity (sometimes two) of date, time, datetime, number, people, duration or a categorical type,
with predictions that are right ~70 % of the time and otherwise wrong in value, type, span or presence.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.common import Measurement, timed

TYPES = ("date", "time", "datetime", "number", "people", "duration", "product_kind")


def _value(kind: str, rng: random.Random) -> object:
    day = f"2026-03-{rng.randint(1, 28):02d}"
    clock = f"{rng.randint(0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
    return {
        "date": day,
        "time": clock,
        "datetime": f"{day}T{clock}+05:30",
        "number": rng.randint(0, 500),
        "people": rng.randint(1, 9),
        "duration": rng.choice((60, 300, 3600, 86400)),
        "product_kind": rng.choice(("credit_card", "debit_card", "loan", "savings")),
    }[kind]


def _entity(kind: str, rng: random.Random, start: int) -> dict[str, object]:
    length = rng.randint(3, 14)
    return {
        "type": kind,
        "value": _value(kind, rng),
        "text": "x" * length,
        "start": start,
        "end": start + length,
    }


def _prediction(truth: dict[str, object], rng: random.Random) -> list[dict[str, object]]:
    roll = rng.random()
    if roll < 0.70:
        return [dict(truth)]
    if roll < 0.80:  # wrong value
        return [{**truth, "value": _value(str(truth["type"]), rng)}]
    if roll < 0.87:  # wrong type
        return [{**truth, "type": rng.choice([t for t in TYPES if t != truth["type"]])}]
    if roll < 0.93:  # shifted span
        return [{**truth, "end": int(truth["end"]) + 2}]  # type: ignore[call-overload]
    return []  # missed


def make_dataset(path: Path, turns: int, seed: int = 7) -> int:
    """Write a tagged entity CSV of ``turns`` rows; returns its size in bytes."""
    rng = random.Random(seed)
    ids, truth_cells, pred_cells = [], [], []
    empty = "[]"
    for i in range(turns):
        ids.append(f"turn-{i}")
        roll = rng.random()
        if roll < 0.35:
            truth_cells.append(empty)
            spurious = rng.random() >= 0.95
            pred_cells.append(json.dumps([_entity(rng.choice(TYPES), rng, 0)]) if spurious else empty)
            continue
        truth = [_entity(rng.choice(TYPES), rng, rng.randint(0, 20))]
        if roll > 0.92:  # a second entity
            truth.append(_entity(rng.choice(TYPES), rng, 40))
        pred = [p for t in truth for p in _prediction(t, rng)]
        truth_cells.append(json.dumps(truth))
        pred_cells.append(json.dumps(pred))
    frame = pd.DataFrame(
        {
            "data_id": ids,
            "truth_entities": truth_cells,
            "predicted_entities": pred_cells,
            "raw.language": "en",
            "reftime": "2026-03-10T10:00:00+05:30",
        }
    )
    frame.to_csv(path, index=False)
    return path.stat().st_size


def _baseline(path: Path) -> int:
    frame = pd.read_csv(
        path, usecols=["data_id", "truth_entities", "predicted_entities"], dtype=str, keep_default_na=False
    )
    loads = json.loads
    parsed = [loads(cell) for cell in frame["truth_entities"].tolist()]
    parsed += [loads(cell) for cell in frame["predicted_entities"].tolist()]
    return len(parsed)


def _ours(path: Path, root: str) -> dict[str, object]:
    from skit_pipelines.jobs.entity_eval import read_entity_dataset, write_entity_artifacts
    from skit_pipelines.metrics.entity.evaluation import evaluate_entity_frame
    from skit_pipelines.metrics.entity.html import render_entity_html

    evaluation = evaluate_entity_frame(read_entity_dataset(str(path)))
    html = render_entity_html(evaluation, title="bench")
    os.environ["SKIT_ARTIFACT_ROOT"] = root
    from skit_pipelines.config import get_settings

    get_settings.cache_clear()
    write_entity_artifacts(evaluation, "bench", html=html)
    return evaluation.headline()


def bench_entity_eval(turns: int = 1_000_000, repeat: int = 1) -> Measurement:
    """Time the entity evaluation of ``turns`` synthetic turns and the pandas + json.loads baseline."""
    saved = os.environ.get("SKIT_ARTIFACT_ROOT")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-entities-") as work:
            path = Path(work) / "tagged_entities.csv"
            size = make_dataset(path, turns)
            base_seconds, _ = timed(lambda: _baseline(path), repeat)
            cpu_start = time.process_time()
            seconds, headline = timed(lambda: _ours(path, str(Path(work) / "artifacts")), repeat)
            cpu_seconds = (time.process_time() - cpu_start) / repeat
    finally:
        if saved is None:
            os.environ.pop("SKIT_ARTIFACT_ROOT", None)
        else:
            os.environ["SKIT_ARTIFACT_ROOT"] = saved
        from skit_pipelines.config import get_settings

        get_settings.cache_clear()
    return Measurement(
        name=f"entity evaluation, {turns:,} turns (read + reports + spans + HTML + artifacts)",
        seconds=seconds,
        baseline="pandas.read_csv + json.loads of both entity columns",
        baseline_seconds=base_seconds,
        extra={
            "csv_mb": round(size / 1e6, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "target_seconds": 60,
            "within_target": seconds < 60,
            "entity_error_rate": round(float(headline["entity_error_rate"]), 4),  # type: ignore[arg-type]
            "strict_f1": round(float(headline["strict_f1"]), 4),
        },  # type: ignore[arg-type]
    )


if __name__ == "__main__":  # python -m bench.entity_eval [turns]
    import sys

    from bench.common import machine

    result = bench_entity_eval(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    print(machine())
    print(
        f"{result.name}: {result.seconds:.2f}s; baseline {result.baseline_seconds:.2f}s "
        f"(ratio {result.ratio:.2f}); {result.extra}"
    )
