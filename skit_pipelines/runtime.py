"""What an entry point hands over, once per process, to the modules that every job goes through.

Why: settings are read at the entry points only (a CLI command, the API's start-up, a component body; the
rule is checked by a test). Most values then travel down as parameters. Three kinds of values do not: the
artifact store (root, S3 endpoint and region), the read policy's secrets and write root, and the default
timezone of pipelines. They are used by storage, the read policy and ``parameters.effective_timezone``,
which are called from dozens of places in every job; threading the same values through each of those
calls would add a parameter to most functions of the package and change nothing. So the entry point builds
one :class:`RuntimeConfig` from its settings (``Settings.runtime()``) and calls :func:`configure`.

This module imports nothing of the package but the errors (not even the settings), so that any layer may
read the configuration without depending on where it came from. Using it before an entry point configured
it raises :class:`RuntimeNotConfiguredError`: a missing entry point fails loudly instead of silently
writing artifacts to a default folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skit_pipelines.errors import SkitPipelinesError

__all__ = ["RuntimeConfig", "RuntimeNotConfiguredError", "configure", "current"]


class RuntimeNotConfiguredError(SkitPipelinesError, RuntimeError):
    """Storage, the read policy or the default timezone was used before an entry point configured them."""


@dataclass(frozen=True)
class RuntimeConfig:
    """The values of the settings that storage, the read policy and the timezone default need."""

    artifact_root: str
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    timezone: str = "UTC"
    secret_paths: tuple[Path, ...] = ()
    """Files and folders never read nor written by a pipeline (the API's state folder, the run database)."""
    database_url: str = ""
    """Where evaluations write their metrics rows (``SKIT_DATABASE_URL``, or SQLite under ``SKIT_HOME``)."""


_current: RuntimeConfig | Callable[[], RuntimeConfig] | None = None


def configure(config: RuntimeConfig | Callable[[], RuntimeConfig]) -> None:
    """Make ``config`` the configuration of this process (replacing any earlier one).

    Entry points pass the values they read. A callable is called at each use instead: the test suite
    passes one so that a test that changes its settings changes what storage and the read policy see.
    """
    global _current
    _current = config


def current() -> RuntimeConfig:
    """The configuration an entry point set; RuntimeNotConfiguredError when none did."""
    if _current is None:
        raise RuntimeNotConfiguredError(
            "the runtime is not configured: an entry point (CLI command, API start-up, component body) "
            "must call skit_pipelines.runtime.configure(get_settings().runtime()) first"
        )
    return _current() if callable(_current) else _current
