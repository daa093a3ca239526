"""Model comparison from files: classification reports and confusion matrices at paths or artifact URIs.

Why a job: :mod:`skit_pipelines.metrics.intent.compare` compares frames in memory; the reports a user
compares usually sit in files (``slu test`` output, an earlier run's ``report_uri``), and reading the
artifact store is I/O. These functions take either a location (read through
:mod:`skit_pipelines.storage`, under the read policy) or anything the pure module takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from skit_pipelines import storage
from skit_pipelines.metrics.intent import compare

__all__ = ["compare_confusions", "compare_reports", "read_confusion", "read_report"]


def _frame(source: Any) -> Any:
    """A location's CSV as a frame; any other source (frame, mapping, Confusion, None, "") unchanged."""
    if isinstance(source, Path) or (isinstance(source, str) and source.strip()):
        return compare.csv_frame(storage.read_text(str(source)))
    return source


def read_report(source: Any) -> pd.DataFrame | None:
    """:func:`~skit_pipelines.metrics.intent.compare.read_report` of a frame, a mapping or a CSV location."""
    return compare.read_report(_frame(source))


def read_confusion(source: Any) -> pd.DataFrame | None:
    """:func:`~skit_pipelines.metrics.intent.compare.read_confusion` of a matrix or a CSV location."""
    return compare.read_confusion(_frame(source))


def compare_reports(new: Any, production: Any = None) -> pd.DataFrame:
    """:func:`~skit_pipelines.metrics.intent.compare.compare_reports` where either side may be a location."""
    return compare.compare_reports(_frame(new), _frame(production))


def compare_confusions(new: Any, production: Any = None, *, include_diagonal: bool = True) -> pd.DataFrame:
    """:func:`~skit_pipelines.metrics.intent.compare.compare_confusions`; either side may be a location."""
    return compare.compare_confusions(_frame(new), _frame(production), include_diagonal=include_diagonal)
