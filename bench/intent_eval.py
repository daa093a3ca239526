"""(d) Intent evaluation on 1M turns and 300 intents vs ``sklearn.metrics.classification_report`` alone.

Ours: the confusion matrix (``confusion_counts``), the classification report derived from it and Cohen's
kappa. Baseline: sklearn's ``classification_report(output_dict=True, zero_division=0)`` on the same
arrays, which computes only the report. Labels are Python strings in object arrays (what a CSV column read
with pandas gives), with a skewed intent distribution and ~80 % accuracy. The two reports are checked to be
identical before the timings count.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report as sklearn_classification_report

from bench.common import Measurement, timed
from skit_pipelines.metrics.intent.scores import classification_report, cohen_kappa, confusion_counts


def make_labels(rows: int, intents: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = np.array([f"intent_{i:03d}_{'x' * (i % 12)}" for i in range(intents)], dtype=object)
    weights = 1.0 / np.arange(1, intents + 1) ** 0.7  # a few frequent intents, a long tail
    weights /= weights.sum()
    truth = rng.choice(intents, rows, p=weights)
    wrong = rng.random(rows) >= 0.8
    pred = np.where(wrong, rng.choice(intents, rows, p=weights), truth)
    return names[truth], names[pred]


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[dict, float]:
    confusion = confusion_counts(y_true, y_pred)
    return classification_report(confusion), cohen_kappa(confusion)


def bench_intent_eval(rows: int = 1_000_000, intents: int = 300, repeat: int = 3) -> Measurement:
    y_true, y_pred = make_labels(rows, intents)
    baseline_seconds, expected = timed(
        lambda: sklearn_classification_report(y_true, y_pred, output_dict=True, zero_division=0), repeat
    )
    seconds, (report, kappa) = timed(lambda: evaluate(y_true, y_pred), repeat)
    if report != expected:
        raise AssertionError("our classification report differs from sklearn's on the benchmark arrays")
    return Measurement(
        name=f"intent evaluation: report + confusion matrix + kappa ({rows:,} turns, {intents} intents)",
        seconds=seconds,
        baseline="sklearn classification_report alone",
        baseline_seconds=baseline_seconds,
        extra={
            "turns": rows,
            "intents": intents,
            "accuracy": round(expected["accuracy"], 4),
            "kappa": round(kappa, 4),
            "limit": "1.5x",
        },
    )


if __name__ == "__main__":
    result = bench_intent_eval()
    print(f"{result.name}: {result.seconds:.3f}s vs {result.baseline_seconds:.3f}s = {result.ratio:.3f}x")
