"""What every ``skit-pipelines`` command prints with: consoles, plain-text tables, errors, run results.

Shared by :mod:`skit_pipelines.cli` and the command modules it registers (:mod:`skit_pipelines.cli_runs`),
which cannot import the CLI module itself (it imports them to register them).

Everything a user or a docstring wrote (values, errors, descriptions, outputs) is printed as plain text,
never as rich markup. Tables fold long cells instead of cutting them.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from skit_pipelines.parameters import InvalidArgumentsError, problem_lines

if TYPE_CHECKING:
    from skit_pipelines.config import Settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _settings() -> Settings:
    """The settings of a command that does work, read here (an entry point) and handed to the runtime:
    storage, the read policy and the default timezone use them in this process."""
    from skit_pipelines.config import get_settings
    from skit_pipelines.runtime import configure

    settings = get_settings()
    configure(settings.runtime())
    return settings


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def _fail_fields(errors: dict[str, str], message: str) -> typer.Exit:
    """One ``error: <field>: <problem>`` line per refused field (or ``message`` when none is named); exit
    code 2 (nothing started)."""
    for line in problem_lines(errors) if errors else [message]:
        err_console.print(f"[red]error:[/] {escape(line)}", soft_wrap=True)
    return typer.Exit(2)


def _fail_arguments(exc: InvalidArgumentsError) -> typer.Exit:
    """One ``error: <parameter>: <problem>`` line per refused parameter; exit code 2 (nothing started)."""
    return _fail_fields(exc.errors, str(exc))


# Piped output (not a terminal) is not wrapped at 80 columns: one row per line, for grep and logs.
PIPE_WIDTH = 100_000


def _print_table(out: Console, table: Table) -> None:
    if out.is_terminal:
        out.print(table)
    else:
        Console(file=out.file, highlight=False, width=PIPE_WIDTH).print(table)


def _table(title: str, headers: list[str], rows: list[list[str]], *, show_header: bool = True) -> Table:
    """A table of plain-text cells (no markup) that folds long cells instead of cutting them with "…".

    The first column (a name) is kept as wide as its longest entry so that names are never broken.
    """
    table = Table(title=title, title_justify="left", show_header=show_header)
    for index, header in enumerate(headers):
        if index == 0:
            width = max([len(header)] + [len(row[0]) for row in rows])
            table.add_column(header, overflow="fold", min_width=width)
        else:
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _result_dict(result: Any) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "pipeline": result.pipeline,
        "backend": result.backend,
        "state": result.state.value,
        "run_url": result.run_url,
        "run_dir": result.run_dir,
        "outputs": result.outputs,
        "step_outputs": result.step_outputs,
        "messages": result.step_messages,
        "failed_step": result.failed_step,
        "error": result.error,
    }


SIGNIFICANT_DIGITS = 4


def _rounded(value: Any) -> Any:
    """Floats to 4 significant digits (metrics came out as 0.8571428571428571), inside lists and dicts too."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def display_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_rounded(value), ensure_ascii=False, sort_keys=True)


def _print_result(result: Any) -> None:
    """The verdict, each step's message, the outputs (of the steps that succeeded, when a step failed)."""
    out = Console(file=sys.stdout, highlight=False)
    if result.succeeded:
        out.print(f"[green]✔ {escape(result.pipeline)} succeeded[/] (run {escape(result.run_id)})")
    else:
        state = result.state.value.lower()
        out.print(f"[red]✘ {escape(result.pipeline)} {state}[/] (run {escape(result.run_id)})")
        if result.failed_step:
            out.print(f"[red]failed step:[/] {escape(result.failed_step)}")
        if result.error:
            out.print("[red]error:[/]")
            out.print(Text(result.error), soft_wrap=True)
    messages = result.step_messages
    if messages:
        _print_table(out, _table("messages", ["step", "message"], [[s, m] for s, m in messages.items()]))
    if result.outputs:
        rows = [[key, display_value(value)] for key, value in sorted(result.outputs.items())]
        _print_table(out, _table("outputs", ["output", "value"], rows))
    elif result.step_outputs:  # kfp returns no pipeline outputs after a failure: show what the steps wrote
        rows = [
            [f"{step}.{key}", display_value(value)]
            for step, outputs in result.step_outputs.items()
            for key, value in sorted(outputs.items())
            if key != "message"
        ]
        if rows:
            _print_table(out, _table("outputs of the steps that succeeded", ["output", "value"], rows))
    where = result.run_dir or result.run_url
    if where:
        out.print(Text(f"run record and logs: {where}"), soft_wrap=True)
