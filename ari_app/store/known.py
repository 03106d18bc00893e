"""Checks of ids against the imported topology, with errors that list what exists."""

from __future__ import annotations

from collections.abc import Sequence

from ari_app.store.db import Connection
from ari_app.store.errors import UnknownCentre

# Listing every centre of a national topology in one message would drown it.
_MAX_LISTED = 12


async def known_centre_ids(conn: Connection) -> list[str]:
    rows = await (await conn.execute("SELECT id FROM centres ORDER BY id")).fetchall()
    return [str(r[0]) for r in rows]


async def missing_centres(conn: Connection, wanted: Sequence[str]) -> list[str]:
    """Those of ``wanted`` that are not centres of the imported topology, sorted."""
    rows = await (
        await conn.execute("SELECT id FROM centres WHERE id = ANY(%s)", (list(wanted),))
    ).fetchall()
    return sorted(set(wanted) - {str(r[0]) for r in rows})


async def unknown_centre_error(
    conn: Connection, missing: Sequence[str], where: str
) -> UnknownCentre:
    """UnknownCentre naming the missing ids, ``where`` they were given, and the known ones."""
    names = ", ".join(missing)
    known = await known_centre_ids(conn)
    if not known:
        return UnknownCentre(
            f"unknown centre {names} in {where}: no topology has been imported yet; "
            "run 'ari-app topology import FILE' first"
        )
    listed = ", ".join(known[:_MAX_LISTED]) + (" ..." if len(known) > _MAX_LISTED else "")
    return UnknownCentre(f"unknown centre {names} in {where}; the topology has: {listed}")
