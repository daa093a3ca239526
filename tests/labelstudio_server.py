"""A real Label Studio for the tests: started once per test session on 127.0.0.1, stopped at the end.

Use it with ``pytest_plugins = ["tests.labelstudio_server"]`` in a test module (or the root conftest):

- ``labelstudio`` (session): a :class:`LabelStudioServer` with ``url``, ``token`` (legacy API token) and
  ``pat`` (personal access token) of the admin user.
- ``labelstudio_env`` (per test): the same, with ``SKIT_LABELSTUDIO_URL``/``SKIT_LABELSTUDIO_TOKEN`` set (and
  the settings cache cleared), so that pipelines and components find the server.

Label Studio is installed in its own virtualenv, ``.venv-labelstudio`` (``make test`` creates it; by hand:
``python3 -m venv .venv-labelstudio && .venv-labelstudio/bin/pip install label-studio``). Where it is
missing the tests skip with that reason, except under ``CI=true`` where it is a failure.

Start-up cost: the first session ever migrates a database once (~30 s idle, minutes on a busy machine) into
a template data dir kept in ``.venv-labelstudio/skit-test-template``; every session copies that template
into its own scratch dir and starts warm (a few seconds). Tests must not assume an empty server: each
creates its own projects.

Import nothing else from this module at the top of a test module that lists it in ``pytest_plugins`` (use
``TYPE_CHECKING`` for the type): an earlier import keeps pytest from rewriting its asserts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from skit_pipelines.annotation import local_server
from tests.conftest import SettingsEnv, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-labelstudio"
TEMPLATE = VENV / "skit-test-template"


@dataclass(frozen=True)
class LabelStudioServer:
    url: str
    token: str
    pat: str
    username: str
    data_dir: Path


@pytest.fixture(scope="session")
def labelstudio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    try:
        local_server.executable(VENV)
    except local_server.LabelStudioNotInstalledError as exc:
        skip_or_fail(str(exc))
    server = local_server.start_from_template(
        TEMPLATE, tmp_path_factory.mktemp("labelstudio-data"), venv=VENV
    )
    try:
        credentials = server.credentials
        yield LabelStudioServer(
            url=server.url,
            token=credentials.token,
            pat=credentials.pat,
            username=credentials.username,
            data_dir=server.data_dir,
        )
    finally:
        server.stop()


@pytest.fixture
def labelstudio_env(labelstudio: LabelStudioServer, settings_env: SettingsEnv) -> LabelStudioServer:
    settings_env(SKIT_LABELSTUDIO_URL=labelstudio.url, SKIT_LABELSTUDIO_TOKEN=labelstudio.token)
    return labelstudio
