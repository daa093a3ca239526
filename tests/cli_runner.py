"""The CLI as a user runs it: `python -m skit_pipelines.cli` in a subprocess, with this environment.

Why a subprocess: exit codes, stdout/stderr and settings read from the environment and ``.env`` are what a
user sees; the environment is copied from ``os.environ`` so the worktree on ``PYTHONPATH`` stays first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "skit_pipelines.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def flat(text: str) -> str:
    """``text`` with line wrapping undone (rich wraps long messages at the terminal width)."""
    return " ".join(text.split())
