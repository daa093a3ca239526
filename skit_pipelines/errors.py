"""The one root of every error this product raises.

Each product exception also keeps its builtin base (``ValueError``, ``RuntimeError``, ``FileNotFoundError``…),
so code that catches those keeps working; :class:`SkitPipelinesError` adds one place to catch "any error of
ours" (a CLI's top level, the API's error handler) without also swallowing bugs such as a ``TypeError`` from
a library. This module imports nothing so that every layer, down to the plain domain modules, can use it.
"""

from __future__ import annotations

__all__ = ["SkitPipelinesError"]


class SkitPipelinesError(Exception):
    """Base class of every exception defined in ``skit_pipelines``."""
