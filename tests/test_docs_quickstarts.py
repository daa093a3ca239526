"""The pipeline docs work as written: every docs/pipelines page's Slack snippet and demo quickstart.

- **Slack**: the message in the ````text block after ``<!-- slack -->`` is parsed by the bot's own grammar
  (``api/slack_grammar.py``) and its parameters are checked against the pipeline (``coerce_arguments``), as
  the bot does before it starts a run.
- **Quickstart**: the ```bash block after ``<!-- quickstart -->`` runs in bash (``set -euo pipefail``), as
  written, in a SKIT_HOME filled by ``skit-pipelines demo-data`` and with the session's Label Studio. Every
  run it starts must succeed, and the page's own pipeline must report a non-zero count (calls, rows, ...).
  Runs are read from their run records (``runs/<id>/run.json``), not from the CLI's printed tables.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from skit_pipelines.api.slack_grammar import parse_command
from skit_pipelines.pipelines import get_pipeline
from skit_pipelines.pipelines.parameters import coerce_arguments

pytest_plugins = ["tests.labelstudio_server"]

DOCS = Path(__file__).resolve().parents[1] / "docs" / "pipelines"
PAGES = sorted(DOCS.glob("*.md"))
BOT_MENTION = "<@U0SKITBOT>"  # what Slack sends for the `@skit-pipelines` a user types

# The count each pipeline's quickstart must make non-zero.
COUNTS = {
    "fetch_calls_pipeline": "turns",
    "tag_calls": "uploaded",
    "fetch_n_tag_calls": "uploaded",
    "fetch_tagged_calls_dataset": "rows",
    "fetch_tagged_entity_dataset": "rows",
    "irr_from_tog": "n",
    "eer_from_tog": "turns",
    "train_voicebot_intent_model_xlmr": "train_rows",
    "eval_voicebot_xlmr_pipeline": "n",
    "add_llm_situations": "situations_count",
    "invalidate_llm_situations_in_db": "invalidated",
    "generate_and_tag_conversations": "valid",
    "retrain_slu": "train_rows",
    "evaluate_slu": "test_rows",
    "publish_compliance_breaches": "calls",
}


def marked_blocks(page: Path, marker: str) -> list[str]:
    """The bodies of the fenced blocks that directly follow ``<!-- marker -->`` (any fence length)."""
    pattern = re.compile(
        rf"<!-- {marker} -->\n(?P<fence>`{{3,}})[a-z]*\n(?P<body>.*?)\n(?P=fence)\n", re.DOTALL
    )
    return [match["body"] for match in pattern.finditer(page.read_text(encoding="utf-8"))]


def test_every_page_has_a_slack_snippet_and_a_quickstart() -> None:
    assert len(PAGES) >= len(COUNTS)
    for page in PAGES:
        assert len(marked_blocks(page, "slack")) == 1, f"{page.name}: one <!-- slack --> block expected"
        assert len(marked_blocks(page, "quickstart")) == 1, f"{page.name}: one <!-- quickstart --> block"
        assert page.stem in COUNTS, f"{page.name}: say which output its quickstart must make non-zero"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_slack_snippet_is_a_valid_command(page: Path) -> None:
    (snippet,) = marked_blocks(page, "slack")
    assert snippet.startswith("@skit-pipelines "), snippet
    command = parse_command(BOT_MENTION + snippet.removeprefix("@skit-pipelines"))
    assert (command.action, command.pipeline) == ("run", page.stem)
    assert command.payload, "the snippet shows the parameters"
    coerce_arguments(page.stem, get_pipeline(page.stem), command.payload)  # raises naming a bad parameter


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SKIT_HOME with the demo warehouse for every quickstart (each uses its own project titles)."""
    home = tmp_path_factory.mktemp("quickstart-home")
    done = subprocess.run(
        ["skit-pipelines", "demo-data"],
        cwd=home,
        env=_environment(home, {}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return home


def _environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """This process's environment (PYTHONPATH included) with the venv's commands first on PATH."""
    env = dict(os.environ)
    env.update(extra, SKIT_HOME=str(home))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run_records(home: Path) -> dict[str, dict[str, Any]]:
    return {path.parent.name: json.loads(path.read_text()) for path in (home / "runs").glob("*/run.json")}


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_quickstart_runs_as_written_on_the_demo_data(
    page: Path, demo_home: Path, request: pytest.FixtureRequest
) -> None:
    (script,) = marked_blocks(page, "quickstart")
    extra: dict[str, str] = {}
    if any(word in script for word in ("tag_calls", "tag_conversations", "demo-annotate")):  # Label Studio
        labelstudio = request.getfixturevalue("labelstudio")
        extra = {"SKIT_LABELSTUDIO_URL": labelstudio.url, "SKIT_LABELSTUDIO_TOKEN": labelstudio.token}
    before = set(_run_records(demo_home))
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=demo_home,
        env=_environment(demo_home, extra),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (
        f"{page.name} quickstart failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    runs = [record for run_id, record in sorted(_run_records(demo_home).items()) if run_id not in before]
    assert runs, "the quickstart started no run"
    for record in runs:
        assert record["state"] == "SUCCEEDED", (record["pipeline"], record["error"])
    (own,) = [record for record in runs if record["pipeline"] == page.stem]
    count = COUNTS[page.stem]
    assert own["outputs"][count] > 0, (count, own["outputs"])
