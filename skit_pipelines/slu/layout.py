"""Where things live in an SLU project repository (spec 7.1, issue 13): paths only, no file system access.

An SLU project is one git repository per client bot (the reference's "project-config" repository)::

    <repo>/
      slu.yaml                                   training config, versioned with the data (project_config.py)
      data.dvc                                   DVC's pointer to data/ (data/ itself is not in git)
      .dvc/config                                DVC remote (S3 or a local folder), as the repo says
      data/
        classification/
          datasets/train.csv                     text / ASR n-best columns + ``tag`` (the intent)
          datasets/test.csv                      the same + ``intent`` (the deployed model's prediction)
          models/                                the model archive written by this product's trainer
          metrics/<run>/                         one folder per evaluation run:
            classification_report.csv            per-intent precision / recall / f1-score / support
            full_confusion_matrix.csv            true intent x predicted intent counts

Why a module of path functions: the git/DVC edge, the dataset preparation job and the evaluation job all
need the same paths, and the reference spread them as string literals over three repositories (the ``slu``
CLI, the pipeline, the comparison helper). One definition here keeps them in step.

Why run folders are named by a UTC timestamp: the reference picked "the newest metrics folder" by ctime,
which a ``dvc pull`` or a fresh clone rewrites (spec 14 item 22). A ``YYYY-MM-DD-HH-MM-SS`` name (the same
shape as the retraining branch names) sorts by time as text, so :func:`latest_run` needs only the names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from skit_pipelines.errors import SkitPipelinesError

__all__ = [
    "CLASSIFICATION_DIR",
    "CLASSIFICATION_REPORT",
    "CONFIG_FILE",
    "CONFUSION_MATRIX",
    "DATA_DIR",
    "DATASETS_DIR",
    "DVC_CONFIG",
    "DVC_FILE",
    "METRICS_DIR",
    "MODELS_DIR",
    "TEST_CSV",
    "TRAIN_CSV",
    "InvalidRunNameError",
    "SluLayout",
    "check_run_name",
    "latest_run",
    "run_name",
]

# Paths relative to the repository root, with forward slashes whatever the OS (they also name git/DVC paths).
CONFIG_FILE = PurePosixPath("slu.yaml")
DVC_FILE = PurePosixPath("data.dvc")
DVC_CONFIG = PurePosixPath(".dvc/config")
DATA_DIR = PurePosixPath("data")
CLASSIFICATION_DIR = DATA_DIR / "classification"
DATASETS_DIR = CLASSIFICATION_DIR / "datasets"
TRAIN_CSV = DATASETS_DIR / "train.csv"
TEST_CSV = DATASETS_DIR / "test.csv"
MODELS_DIR = CLASSIFICATION_DIR / "models"
METRICS_DIR = CLASSIFICATION_DIR / "metrics"

# File names inside one metrics run folder (the names the reference's ``slu test`` wrote).
CLASSIFICATION_REPORT = "classification_report.csv"
CONFUSION_MATRIX = "full_confusion_matrix.csv"

RUN_FORMAT = "%Y-%m-%d-%H-%M-%S"
_RUN_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$")


class InvalidRunNameError(SkitPipelinesError, ValueError):
    """A metrics run folder name is not a ``YYYY-MM-DD-HH-MM-SS`` timestamp."""


def run_name(when: dt.datetime) -> str:
    """The folder name of a run started at ``when``: its UTC time as ``YYYY-MM-DD-HH-MM-SS``.

    A naive ``when`` is taken as UTC; an aware one is converted, so two machines in different zones name
    the same instant alike.
    """
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime(RUN_FORMAT)


def latest_run(names: Iterable[str]) -> str | None:
    """The newest run among folder names (None when there is none); names that are not runs are ignored.

    Ignoring rather than failing: a repository may hold other folders under ``metrics/`` (notes, the
    reference's ``<date>/<run>`` folders), and they must not hide the runs this product wrote.
    """
    runs = [name for name in names if _RUN_PATTERN.match(name)]
    return max(runs) if runs else None


def check_run_name(name: str) -> str:
    """``name`` when it is a run folder name, else an error saying the expected shape."""
    if not _RUN_PATTERN.match(name):
        raise InvalidRunNameError(
            f"metrics run name {name!r} is not a UTC timestamp YYYY-MM-DD-HH-MM-SS (e.g. 2024-05-01-13-45-00)"
        )
    return name


@dataclass(frozen=True)
class SluLayout:
    """The paths of one checked-out SLU project repository under ``root``."""

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def dvc_file(self) -> Path:
        return self.root / DVC_FILE

    @property
    def dvc_config(self) -> Path:
        return self.root / DVC_CONFIG

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    @property
    def datasets_dir(self) -> Path:
        return self.root / DATASETS_DIR

    @property
    def train_csv(self) -> Path:
        return self.root / TRAIN_CSV

    @property
    def test_csv(self) -> Path:
        return self.root / TEST_CSV

    @property
    def models_dir(self) -> Path:
        return self.root / MODELS_DIR

    @property
    def metrics_dir(self) -> Path:
        return self.root / METRICS_DIR

    def metrics_run_dir(self, run: str) -> Path:
        """The folder of one evaluation run (``run`` as made by :func:`run_name`)."""
        return self.metrics_dir / check_run_name(run)

    def classification_report(self, run: str) -> Path:
        return self.metrics_run_dir(run) / CLASSIFICATION_REPORT

    def confusion_matrix(self, run: str) -> Path:
        return self.metrics_run_dir(run) / CONFUSION_MATRIX

    def directories(self) -> tuple[Path, ...]:
        """The folders a new project starts with (the reference's ``slu setup-dirs``)."""
        return (self.datasets_dir, self.models_dir, self.metrics_dir)
