"""The demo marker: which warehouses the demo data generator may overwrite.

Why a marker and not a file name: a user may point any URL at the generator (``--db``), and a real
warehouse must never be emptied by a demo. A database that the generator wrote carries ``kind=demo`` in its
``skit_metadata`` table; one that holds calls or turns without that marker is somebody's data, and the
generator refuses to touch it unless told to (:class:`NotDemoDataError`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from skit_pipelines import __version__
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.warehouse import schema

DEMO_KIND = "demo"


class NotDemoDataError(SkitPipelinesError, ValueError):
    """The target database holds calls or turns that the demo generator did not write."""

    def __init__(self, url: str, calls: int, turns: int) -> None:
        self.url, self.calls, self.turns = url, calls, turns
        super().__init__(
            f"{schema.describe_url(url)} holds {calls} calls and {turns} turns that are not demo data "
            f"(no kind=demo marker in its {schema.skit_metadata.name} table); "
            "refusing to delete or mix with them"
        )


def read_marker(conn: sa.Connection) -> dict[str, str]:
    """The ``skit_metadata`` key/value pairs ({} when the table does not exist)."""
    if not sa.inspect(conn).has_table(schema.skit_metadata.name):
        return {}
    rows = conn.execute(sa.select(schema.skit_metadata.c.key, schema.skit_metadata.c.value))
    return {key: value for key, value in rows}


def is_demo(conn: sa.Connection) -> bool:
    return read_marker(conn).get("kind") == DEMO_KIND


def check_demo_or_empty(conn: sa.Connection, url: str) -> None:
    """Raise :class:`NotDemoDataError` if ``conn``'s database holds calls or turns without the demo marker.

    Reads only: a refused database is left exactly as it was (no table is created in it).
    """
    if is_demo(conn):
        return
    inspector = sa.inspect(conn)
    counts = {}
    for table in (schema.calls, schema.turns):
        has = inspector.has_table(table.name)
        counts[table.name] = (
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() if has else 0
        )
    if counts["calls"] or counts["turns"]:
        raise NotDemoDataError(url, int(counts["calls"] or 0), int(counts["turns"] or 0))


def write_marker(conn: sa.Connection, *, seed: int, calls: int, generator: str) -> None:
    """Mark the database as demo data (replacing an earlier marker), inside the caller's transaction."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    values = {
        "kind": DEMO_KIND,
        "generator": generator,
        "skit_pipelines_version": __version__,
        "seed": str(seed),
        "calls": str(calls),
        "created_at": now,
    }
    conn.execute(schema.skit_metadata.delete())
    conn.execute(schema.skit_metadata.insert(), [{"key": k, "value": v} for k, v in values.items()])
