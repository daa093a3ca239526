"""The README's `--params-file` example names a file that exists and a command that runs."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from skit_pipelines.config import get_settings
from skit_pipelines.warehouse.demo_data import generate_demo_warehouse
from tests.cli_runner import cli

ROOT = Path(__file__).resolve().parents[1]


def readme_commands_with_params_files() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#", 1)[0] for line in readme.splitlines() if "--params-file" in line]
    return [shlex.split(line)[1:] for line in lines if line.strip().startswith("skit-pipelines ")]


def test_readme_params_file_example_runs(isolated_settings: Path) -> None:
    commands = readme_commands_with_params_files()
    assert commands, "the README shows no `skit-pipelines ... --params-file` command"
    generate_demo_warehouse(get_settings().effective_warehouse_url, calls=300, days=7, seed=3)
    for args in commands:
        params = ROOT / args[args.index("--params-file") + 1]
        assert params.is_file(), f"README refers to {params}, which does not exist"
        assert isinstance(json.loads(params.read_text(encoding="utf-8")), dict)
        result = cli(*args, "--json", cwd=ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads(result.stdout)
        assert record["state"] == "SUCCEEDED" and record["outputs"]["sampled_calls"] > 0, record
