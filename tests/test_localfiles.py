"""Atomic writes and large CSV cells: the local file conventions every module shares."""

import csv
from pathlib import Path

import pytest

from skit_pipelines.localfiles import allow_large_csv_fields, atomic_open, atomic_path


def test_atomic_open_replaces_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.json"
    with atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write("{}")
        assert not target.exists()  # nothing visible while writing
    assert target.read_text() == "{}"
    assert [p.name for p in target.parent.iterdir()] == ["run.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_atomic_path_keeps_the_extension_for_format_sniffing_writers(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "pipeline.yaml") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".yaml"
        tmp.write_text("a: 1\n")
    assert (tmp_path / "pipeline.yaml").read_text() == "a: 1\n"


def test_large_csv_cells_can_be_read(tmp_path: Path) -> None:
    path = tmp_path / "turns.csv"
    big = "x" * 300_000  # past csv's default 128 KiB limit
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([["context"], [big]])
    allow_large_csv_fields()
    with open(path, newline="") as handle:
        assert list(csv.reader(handle))[1] == [big]
