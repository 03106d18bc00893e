"""A small topology written straight into the tables, for the mode and token tests.

It is not one the policy accepts (sdis45 has no position): the store's own checks are
tested with it; topologies read back or imported are in tests/store/topologies.py.
"""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

CENTRES = ("sdis77", "sdis91", "sdis45")
POSITIONS = {"sdis77": ("sdis77-op1", "sdis77-op2"), "sdis91": ("sdis91-op1",), "sdis45": ()}


async def insert_small_topology(pool: AsyncConnectionPool) -> None:
    """Three centres, one virtual CTA pooling two of them, a few positions and neighbours."""
    async with pool.connection() as conn, conn.transaction():
        for centre in CENTRES:
            await conn.execute(
                "INSERT INTO units (id, kind, name) VALUES (%s, 'centre', %s)",
                (centre, f"SDIS {centre[-2:]}"),
            )
            await conn.execute(
                "INSERT INTO centres (id, department, max_queue, max_wait_s, reserve,"
                " overflow_cap, welcome, reminder, reminder_every_s, music_on_hold)"
                " VALUES (%s, %s, 5, 30, 1, 3, 'sound:welcome', 'sound:reminder', 20, 'default')",
                (centre, centre[-2:]),
            )
            for ordinal, position in enumerate(POSITIONS[centre]):
                await conn.execute(
                    "INSERT INTO positions (id, centre_id, endpoint, ordinal)"
                    " VALUES (%s, %s, %s, %s)",
                    (position, centre, f"PJSIP/{position}", ordinal),
                )
        await conn.execute(
            "INSERT INTO units (id, kind, name) VALUES ('nuit', 'virtual_cta', 'Nuit')"
        )
        await conn.execute(
            "INSERT INTO virtual_ctas (id, active, max_queue, max_wait_s, reserve, overflow_cap,"
            " welcome, reminder, reminder_every_s, music_on_hold)"
            " VALUES ('nuit', false, 8, 30, 1, 3, 'sound:welcome', 'sound:reminder', 20, 'night')"
        )
        await conn.execute(
            "INSERT INTO virtual_cta_members VALUES ('nuit', 'sdis91'), ('nuit', 'sdis45')"
        )
        await conn.execute(
            "INSERT INTO neighbours (centre_id, neighbour_id, rank)"
            " VALUES ('sdis77', 'sdis91', 1), ('sdis77', 'sdis45', 1), ('sdis91', 'sdis77', 1)"
        )
        await conn.execute("INSERT INTO routing_keys VALUES ('77', 'sdis77'), ('91', 'sdis91')")
        await conn.execute(
            "INSERT INTO topology (default_unit, backup_unit, last_resort_after_s,"
            " skip_failed_position_for_s, source, digest)"
            " VALUES ('sdis77', 'sdis91', 120, 30, 'tests', 'x')"
        )
