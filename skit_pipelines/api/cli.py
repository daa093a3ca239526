"""``skit-pipelines serve`` and ``skit-pipelines create-user``: the API's commands.

Kept apart from :mod:`skit_pipelines.cli` so that the main CLI does not import FastAPI to list pipelines.
The functions are plain (``serve(host, port)``, ``create_user(...)``); :data:`app` offers them as typer
commands to be added to the main CLI (``app.add_typer`` or ``app.command()(serve_command)``).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Annotated

import typer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9991

app = typer.Typer(add_completion=False, no_args_is_help=True, help="The HTTP API and the Slack bot.")


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Run the API (``skit_pipelines.api.endpoints:app``) with uvicorn until interrupted.

    Run links point at the port served here unless ``SKIT_API_PUBLIC_URL`` (environment or ``.env``) says
    otherwise: ``serve --port 8000`` must not hand out links to 9991.
    """
    import uvicorn

    from skit_pipelines.api.settings import get_api_settings

    if "api_public_url" not in get_api_settings().model_fields_set:
        os.environ["SKIT_API_PUBLIC_URL"] = local_base_url(host, port)  # seen by the app and its workers
        get_api_settings.cache_clear()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "skit_pipelines.api.endpoints:app",
        host=host,
        port=port,
        proxy_headers=True,
        server_header=False,
        log_level="info",
    )


def local_base_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses for a server bound to ``host:port`` (any-address → loopback)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def user_entry(username: str, password: str, namespaces: list[str] | None = None) -> dict[str, object]:
    """The ``SKIT_API_USERS`` entry of a user: ``{name: hash}`` or ``{name: {password_hash, namespaces}}``."""
    from skit_pipelines.api.auth import hash_password

    if not username.strip():
        raise ValueError("the user name is empty")
    hashed = hash_password(password)
    if namespaces:
        return {username: {"password_hash": hashed, "namespaces": list(namespaces)}}
    return {username: hashed}


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on")] = DEFAULT_PORT,
) -> None:
    """Serve the HTTP API and the Slack bot (runs locally, or on Kubeflow when SKIT_KFP_HOST is set)."""
    serve(host, port)


@app.command("create-user")
def create_user_command(
    username: Annotated[str, typer.Argument(help="User name")],
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Limit the user to this namespace (repeatable)"),
    ] = None,
) -> None:
    """Hash a password and print the SKIT_API_USERS entry to add (nothing is stored)."""
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        entry = user_entry(username, password, namespace)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo("Add this user to the JSON object in SKIT_API_USERS (e.g. in .env):")
    typer.echo(json.dumps(entry))
    typer.echo(f"For this user alone: SKIT_API_USERS='{json.dumps(entry)}'")
