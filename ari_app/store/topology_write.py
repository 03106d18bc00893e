"""Writing a topology into its tables, in file order (``topology_import`` empties them first)."""

from __future__ import annotations

from ari_app.store.db import Connection
from ari_app.vcta import Topology


async def insert_topology(conn: Connection, topology: Topology, source: str, digest: str) -> None:
    units = [(c.id, "centre", c.name, i) for i, c in enumerate(topology.centres)]
    units += [
        (v.id, "virtual_cta", v.name, len(units) + i) for i, v in enumerate(topology.virtual_ctas)
    ]
    centres = [
        (
            c.id,
            c.department,
            c.max_queue,
            c.max_wait,
            c.reserve,
            c.overflow_cap,
            c.announcements.welcome,
            c.announcements.reminder,
            c.announcements.reminder_every,
            c.announcements.music_on_hold,
            c.modes.outgoing_mutual_aid,
            c.modes.incoming_mutual_aid,
            c.modes.diverted_to,
            c.modes.crisis_message,
        )
        for c in topology.centres
    ]
    vctas = [
        (
            v.id,
            v.active,
            v.max_queue,
            v.max_wait,
            v.reserve,
            v.overflow_cap,
            v.announcements.welcome,
            v.announcements.reminder,
            v.announcements.reminder_every,
            v.announcements.music_on_hold,
        )
        for v in topology.virtual_ctas
    ]
    members = [
        (v.id, member, i) for v in topology.virtual_ctas for i, member in enumerate(v.members)
    ]
    positions = [
        (p.id, c.id, p.endpoint, i) for c in topology.centres for i, p in enumerate(c.positions)
    ]
    keys = [(k, c.id, i) for c in topology.centres for i, k in enumerate(c.routing_keys)]
    neighbours = [
        (c.id, neighbour, rank, i)
        for c in topology.centres
        for rank, ids in enumerate(c.neighbours, start=1)
        for i, neighbour in enumerate(ids)
    ]
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO units (id, kind, name, ordinal) VALUES (%s, %s, %s, %s)", units
        )
        await cursor.executemany(
            "INSERT INTO centres (id, department, max_queue, max_wait_s, reserve, overflow_cap,"
            " welcome, reminder, reminder_every_s, music_on_hold, initial_outgoing_mutual_aid,"
            " initial_incoming_mutual_aid, initial_diverted_to, initial_crisis_message)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            centres,
        )
        if vctas:
            await cursor.executemany(
                "INSERT INTO virtual_ctas (id, active, max_queue, max_wait_s, reserve,"
                " overflow_cap, welcome, reminder, reminder_every_s, music_on_hold)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                vctas,
            )
        if members:
            await cursor.executemany(
                "INSERT INTO virtual_cta_members (virtual_cta_id, centre_id, ordinal)"
                " VALUES (%s, %s, %s)",
                members,
            )
        if positions:
            await cursor.executemany(
                "INSERT INTO positions (id, centre_id, endpoint, ordinal) VALUES (%s, %s, %s, %s)",
                positions,
            )
        if keys:
            await cursor.executemany(
                "INSERT INTO routing_keys (key, centre_id, ordinal) VALUES (%s, %s, %s)", keys
            )
        if neighbours:
            await cursor.executemany(
                "INSERT INTO neighbours (centre_id, neighbour_id, rank, ordinal)"
                " VALUES (%s, %s, %s, %s)",
                neighbours,
            )
    await conn.execute(
        "INSERT INTO topology (default_unit, backup_unit, last_resort_after_s,"
        " skip_failed_position_for_s, source, digest) VALUES (%s, %s, %s, %s, %s, %s)",
        (
            topology.default_unit,
            topology.backup_unit,
            topology.last_resort_after,
            topology.skip_failed_position_for,
            source,
            digest,
        ),
    )
