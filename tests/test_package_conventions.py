"""Issue 12.4 "one of each": no two product classes share a name (a reader of a traceback or an import line
must know which class is meant without looking up its module), and every product exception derives from one
root, :class:`skit_pipelines.errors.SkitPipelinesError`, so callers can catch "any error of ours" at once.

The class-name check reads the source; the exception check imports every module, because a base class can
only be resolved on the live class.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections import defaultdict
from pathlib import Path

import skit_pipelines
from skit_pipelines.errors import SkitPipelinesError

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


def _module_names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="skit_pipelines.")
        if not info.name.endswith("__main__")
    )


def test_every_product_exception_derives_from_the_root() -> None:
    """Each exception class defined in the package derives from SkitPipelinesError (and may keep a builtin
    base such as ValueError, so ``except ValueError`` callers keep working)."""
    outside: list[str] = []
    seen = 0
    for name in _module_names():
        module = importlib.import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name or not issubclass(cls, BaseException):
                continue
            seen += 1
            if not issubclass(cls, SkitPipelinesError):
                outside.append(f"{name}.{cls_name}")
    assert seen > 40  # the walk really found the package's exceptions
    assert outside == []


def test_root_keeps_builtin_bases() -> None:
    """The root is added, not substituted: the builtin base each error had stays in its MRO."""
    from skit_pipelines.parameters import InvalidParameterError
    from skit_pipelines.storage import ArtifactNotFoundError

    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(ArtifactNotFoundError, FileNotFoundError)
    assert issubclass(InvalidParameterError, SkitPipelinesError)


def test_components_return_plain_tuples() -> None:
    """A component declares its outputs once, in its signature; kfp takes a plain tuple in that order, so a
    second ``namedtuple`` in the body would only be a copy that can drift from the signature."""
    redeclared = []
    for path in sorted((PACKAGE_DIR / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "namedtuple":
                    redeclared.append(f"{path.name}:{node.lineno}")
    assert redeclared == []
