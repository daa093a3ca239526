"""Issue 12.4 "one of each": no two product classes share a name (a reader of a traceback or an import line
must know which class is meant without looking up its module)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import skit_pipelines

PACKAGE_DIR = Path(skit_pipelines.__file__).parent


def test_no_two_classes_share_a_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level classes only; nested helpers are private to their function
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(PACKAGE_DIR)))
    duplicates = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert duplicates == {}
