"""Metric values as plain JSON: NaN and infinities as null, numpy scalars as Python numbers.

Why one function for every writer: JSON columns (PostgreSQL JSONB) reject NaN and ``json.dumps`` writes it
as an invalid token, while undefined metrics (kappa of one label, precision of a never-predicted intent) are
NaN by design. Artifacts and metric rows therefore go through :func:`json_safe` before they are written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf replaced by None and numpy scalars as Python numbers (JSONB rejects NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
