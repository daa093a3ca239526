"""API settings: the users format, the generated JWT secret, and the create-user helper."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skit_pipelines.api.auth import AuthError, authenticate, password_hasher
from skit_pipelines.api.cli import app as api_cli
from skit_pipelines.api.settings import ApiSettings, parse_users
from tests.conftest import SettingsEnv


def test_users_accept_hashes_and_namespaced_entries(tmp_path: Path) -> None:
    hashed = password_hasher().hash("pw")
    users = parse_users(json.dumps({"alice": hashed, "bob": {"password_hash": hashed, "namespaces": ["b"]}}))
    assert users["alice"].may_use("anything") and users["bob"].may_use("b") and not users["bob"].may_use("a")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{nope", "not valid JSON"),
        ('["alice"]', "must be a JSON object"),
        ('{"alice": "plain-password"}', "user 'alice' is not a hash"),
        ('{"alice": 3}', "user 'alice' must map to"),
        ('{"bob": {"password_hash": "$x", "namespaces": "b"}}', "namespaces of user 'bob'"),
    ],
)
def test_bad_users_are_refused_at_start_up(text: str, words: str, settings_env: SettingsEnv) -> None:
    with pytest.raises(ValueError, match=words):
        parse_users(text)
    settings_env(SKIT_API_USERS=text)
    with pytest.raises(ValueError, match=words):
        ApiSettings()


def test_jwt_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = ApiSettings(home=tmp_path / "home")
    first = settings.jwt_key()
    assert len(first) >= 48 and ApiSettings(home=tmp_path / "home").jwt_key() == first
    path = tmp_path / "home" / "api" / "jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ApiSettings(home=tmp_path / "home", jwt_secret="configured").jwt_key() == "configured"
    assert "configured" not in repr(ApiSettings(jwt_secret="configured"))


def test_create_user_prints_an_entry_that_logs_in(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        api_cli, ["create-user", "carol", "--namespace", "team-c"], input="s3cret\ns3cret\n"
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(next(line for line in result.output.splitlines() if line.startswith("{")))
    assert entry["carol"]["namespaces"] == ["team-c"]
    settings = ApiSettings(home=tmp_path, api_users=json.dumps(entry))
    assert authenticate(settings, "carol", "s3cret").namespaces == ("team-c",)
    with pytest.raises(AuthError):
        authenticate(settings, "carol", "wrong")
