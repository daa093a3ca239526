"""What every ``skit-pipelines`` command module shares: the consoles, the error exit, the settings read.

Why a module of its own: command modules beside :mod:`skit_pipelines.cli` (``cli_cluster``) need the same
``error: ...`` line and the same settings entry point, and importing them from ``cli`` (which registers those
modules' commands) would be an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from skit_pipelines.config import Settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def read_settings() -> Settings:
    """The settings of a command that does work, read here (an entry point) and handed to the runtime:
    storage, the read policy and the default timezone use them in this process."""
    from skit_pipelines.config import get_settings
    from skit_pipelines.runtime import configure

    settings = get_settings()
    configure(settings.runtime())
    return settings


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` (plain text, never markup) on stderr; the exit to raise."""
    err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)
