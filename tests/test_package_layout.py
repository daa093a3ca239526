"""House rules on the package's shape: no empty placeholder packages, no setting that nothing reads.

Both rot silently: an empty package promises code that is not there, and an unread setting is listed by
``skit-pipelines config`` and the README as if setting it changed something.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

import skit_pipelines
from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.config import Settings

PACKAGE = Path(skit_pipelines.__file__).resolve().parent


def _has_code(init: Path) -> bool:
    body = ast.parse(init.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return bool(body)


def test_no_package_is_an_empty_placeholder() -> None:
    empty = [
        init.parent.relative_to(PACKAGE.parent).as_posix()
        for init in PACKAGE.rglob("__init__.py")
        if not _has_code(init)
        and not [p for p in init.parent.glob("*.py") if p.name != "__init__.py"]
        and not [p for p in init.parent.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    ]
    assert empty == []


@pytest.mark.parametrize("settings_class", [Settings, ApiSettings])
def test_every_setting_is_read_by_the_package(settings_class: type[BaseSettings]) -> None:
    sources = {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}
    unread = []
    for name in settings_class.model_fields:
        use = re.compile(rf"\.{name}\b")
        if not any(use.search(text) for text in sources.values()):
            unread.append(name)
    assert unread == []
