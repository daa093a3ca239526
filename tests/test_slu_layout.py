"""The SLU project repository layout: the reference's paths, run folders named by UTC time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from skit_pipelines.slu.layout import (
    InvalidRunNameError,
    SluLayout,
    latest_run,
    run_name,
)


def test_paths_are_the_reference_layout(tmp_path: Path) -> None:
    layout = SluLayout(tmp_path)
    relative = {
        name: getattr(layout, name).relative_to(tmp_path).as_posix()
        for name in (
            "config_file",
            "dvc_file",
            "dvc_config",
            "train_csv",
            "test_csv",
            "models_dir",
            "metrics_dir",
        )
    }
    assert relative == {
        "config_file": "slu.yaml",
        "dvc_file": "data.dvc",
        "dvc_config": ".dvc/config",
        "train_csv": "data/classification/datasets/train.csv",
        "test_csv": "data/classification/datasets/test.csv",
        "models_dir": "data/classification/models",
        "metrics_dir": "data/classification/metrics",
    }
    run = "2026-01-02-03-04-05"
    assert (
        layout.classification_report(run)
        == tmp_path / f"data/classification/metrics/{run}/classification_report.csv"
    )
    assert layout.confusion_matrix(run).name == "full_confusion_matrix.csv"
    assert set(layout.directories()) == {layout.datasets_dir, layout.models_dir, layout.metrics_dir}


def test_run_names_are_utc_timestamps() -> None:
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert run_name(dt.datetime(2026, 3, 1, 5, 30, 7, tzinfo=kolkata)) == "2026-03-01-00-00-07"
    assert run_name(dt.datetime(2026, 3, 1, 5, 30, 7)) == "2026-03-01-05-30-07"  # naive: taken as UTC


def test_latest_run_is_chosen_by_name_not_by_file_times() -> None:
    names = ["2026-01-10-09-00-00", "2025-12-31-23-59-59", "notes", "2026-01-10-10-00-00", "2024-05-01"]
    assert latest_run(names) == "2026-01-10-10-00-00"
    assert latest_run(["notes"]) is None and latest_run([]) is None


@pytest.mark.parametrize("name", ["latest", "../escape", "2026-01-01", "2026-01-01-00-00-00/.."])
def test_a_run_folder_must_be_a_timestamp(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidRunNameError, match="is not a UTC timestamp YYYY-MM-DD-HH-MM-SS"):
        SluLayout(tmp_path).metrics_run_dir(name)
