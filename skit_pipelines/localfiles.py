"""Local file conventions every module follows: atomic writes, and CSVs whose cells hold large JSON.

Why one module: "nothing half-written is left behind" is a rule of the whole product (artifacts, run records,
compiled pipelines, model archives, filtered CSVs), and so is reading turn CSVs whose n-best and context
cells can pass the csv module's default 128 KiB field limit. Each used to carry its own copy of the
temp-name-then-rename dance or of the limit; one implementation keeps them the same everywhere.
"""

from __future__ import annotations

import contextlib
import csv
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# The largest limit a C long holds on every platform (it is 32 bits on some).
LARGE_CSV_FIELD = min(sys.maxsize, 2**31 - 1)


def allow_large_csv_fields() -> None:
    """Let the csv module read cells of any practical size (JSON columns of turn CSVs)."""
    csv.field_size_limit(LARGE_CSV_FIELD)


@contextlib.contextmanager
def atomic_path(dest: Path | str) -> Iterator[Path]:
    """A temporary path beside ``dest`` that becomes ``dest`` when the block succeeds, and vanishes if not.

    The temporary name lives in the destination folder (so ``os.replace`` is a rename on one filesystem),
    is hidden, and keeps the destination's extension (``.stem.token.tmp.yaml``) for writers that pick a
    format from it (kfp's compiler does). The file is created by whoever writes it, with the usual umask.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{secrets.token_hex(4)}.tmp{dest.suffix}")
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(dest: Path | str, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """``open(dest, mode)`` that is all or nothing: written to a temporary file, synced, then renamed."""
    with atomic_path(dest) as tmp, open(tmp, mode, **open_kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
