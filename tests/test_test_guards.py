"""The suite's own guards: a missing server or package skips on a laptop and fails under CI=true."""

from __future__ import annotations

import pytest

from tests.conftest import import_or_skip


def test_a_missing_package_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and no_such_package_xyz is missing"):
        import_or_skip("no_such_package_xyz", "no_such_package_xyz is missing")


def test_a_missing_package_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no_such_package_xyz is missing"):
        import_or_skip("no_such_package_xyz", "no_such_package_xyz is missing")


def test_an_installed_package_is_returned() -> None:
    assert import_or_skip("json", "json is missing").dumps([1]) == "[1]"
