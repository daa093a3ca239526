"""Issue 12.2 "settings read once": only entry points read the settings; everything below takes values.

Entry points are the CLI commands, the API (start-up and its worker), the component bodies (each step is
a process of its own) and the runner factory. The rule is checked on the source (any reference to
``get_settings``, imported or called), so that a new deep read fails here rather than in review. Modules
below get storage's root and endpoint, the read policy's paths and the default timezone through
:mod:`skit_pipelines.runtime`, configured by the entry point; using them unconfigured fails loudly.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import skit_pipelines
from skit_pipelines.config import get_settings
from tests.conftest import SettingsEnv

PACKAGE_DIR = Path(skit_pipelines.__file__).parent

# Where get_settings may be referenced: the entry points (and config.py, which defines it).
ENTRY_POINTS = {
    "config.py",
    "cli.py",
    "cli_output.py",  # _settings(): what each CLI command (cli.py, cli_runs.py) calls first
    "cli_schedule.py",
    "api/endpoints.py",
    "api/worker.py",
    "runner/base.py",
    "runner/kfp_cluster_step.py",
}
ENTRY_POINT_FOLDERS = ("components/",)


def _references_get_settings(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "get_settings":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "get_settings":
            return True
        if isinstance(node, ast.ImportFrom) and any(alias.name == "get_settings" for alias in node.names):
            return True
    return False


def test_only_entry_points_read_the_settings() -> None:
    readers = {
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if _references_get_settings(path)
    }
    assert "cli.py" in readers and "components/fetch_calls.py" in readers  # the walk sees real readers
    outside = {
        name
        for name in readers - ENTRY_POINTS
        if not name.startswith(ENTRY_POINT_FOLDERS) or name.endswith("__init__.py")
    }
    assert outside == set(), "read the settings at the entry point and pass the values down"


def test_components_package_reads_no_settings_at_import() -> None:
    """The image is set when a pipeline is compiled (see test_compile), not read at import."""
    assert not _references_get_settings(PACKAGE_DIR / "components" / "__init__.py")


def test_storage_before_an_entry_point_configured_it_fails_loudly(tmp_path: Path) -> None:
    """A forgotten entry point must not silently write artifacts to a default folder."""
    code = (
        "from skit_pipelines import storage\n"
        "from skit_pipelines.runtime import RuntimeNotConfiguredError\n"
        "try:\n"
        "    storage.artifact_uri('a.csv')\n"
        "except RuntimeNotConfiguredError as exc:\n"
        "    print('refused:', exc)\n"
        "else:\n"
        "    print('written')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=True
    )
    assert done.stdout.startswith("refused:") and "entry point" in done.stdout


def test_a_test_changes_settings_through_settings_env(settings_env: SettingsEnv) -> None:
    from skit_pipelines import storage

    assert get_settings().timezone == "UTC"
    settings_env(SKIT_TIMEZONE="Asia/Kolkata", SKIT_ARTIFACT_ROOT="s3://bucket/prefix")
    assert get_settings().timezone == "Asia/Kolkata"
    assert storage.artifact_uri("a.csv") == "s3://bucket/prefix/a.csv"  # the runtime follows


def test_settings_do_not_leak_into_the_next_test() -> None:
    """Runs after the test above (same module, file order), whose settings were cached."""
    assert get_settings().timezone == "UTC"
