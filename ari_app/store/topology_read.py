"""The imported topology, read back from the tables into the policy's dataclasses.

What ``read_topology`` returns equals what ``ari_app.vcta.load_topology`` returns for the
file that was imported (file order included), and it is checked with the policy's
``check_topology`` before it is handed out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from psycopg import pq

from ari_app.store.db import Connection, describe_dsn
from ari_app.store.errors import TopologyInvalid
from ari_app.vcta import Announcements, Centre, CentreModes, Position, Topology, VirtualCta
from ari_app.vcta.checks import check_topology

# Listing every problem of a badly damaged topology would drown the message.
_MAX_LISTED = 5


@dataclass(frozen=True, slots=True)
class TopologySource:
    """Where the imported topology came from: the file's path and SHA-256, and when."""

    source: str
    digest: str
    imported_at: datetime


async def topology_source(conn: Connection) -> TopologySource | None:
    """The source of the imported topology; None when none was imported."""
    row = await (await conn.execute("SELECT source, digest, imported_at FROM topology")).fetchone()
    if row is None:
        return None
    return TopologySource(str(row[0]), str(row[1]), row[2])


async def read_topology(conn: Connection) -> Topology | None:
    """The imported topology, or None when none was imported.

    Read in one snapshot (an import running at the same time is seen whole or not at all).
    Raises TopologyInvalid when the tables hold a topology the policy refuses (edited by
    hand, say): the message lists the problems and says to import the file again.
    """
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        return await read_topology_rows(conn)
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return await read_topology_rows(conn)


async def read_topology_rows(conn: Connection) -> Topology | None:
    """``read_topology`` within the caller's transaction."""
    policy = await (
        await conn.execute(
            "SELECT default_unit, backup_unit, last_resort_after_s, skip_failed_position_for_s"
            " FROM topology"
        )
    ).fetchone()
    if policy is None:
        return None
    positions: defaultdict[str, list[Position]] = defaultdict(list)
    for position_id, centre_id, endpoint in await (
        await conn.execute(
            "SELECT id, centre_id, endpoint FROM positions ORDER BY centre_id, ordinal, id"
        )
    ).fetchall():
        positions[centre_id].append(Position(position_id, endpoint, centre_id))
    keys: defaultdict[str, list[str]] = defaultdict(list)
    for centre_id, key in await (
        await conn.execute("SELECT centre_id, key FROM routing_keys ORDER BY centre_id, ordinal")
    ).fetchall():
        keys[centre_id].append(key)
    ranks: defaultdict[str, dict[int, list[str]]] = defaultdict(dict)
    for centre_id, neighbour_id, rank in await (
        await conn.execute(
            "SELECT centre_id, neighbour_id, rank FROM neighbours"
            " ORDER BY centre_id, rank, ordinal, neighbour_id"
        )
    ).fetchall():
        ranks[centre_id].setdefault(rank, []).append(neighbour_id)
    members: defaultdict[str, list[str]] = defaultdict(list)
    for vcta_id, centre_id in await (
        await conn.execute(
            "SELECT virtual_cta_id, centre_id FROM virtual_cta_members"
            " ORDER BY virtual_cta_id, ordinal, centre_id"
        )
    ).fetchall():
        members[vcta_id].append(centre_id)

    centres = [
        Centre(
            id=row[0],
            name=row[1],
            department=row[2],
            routing_keys=tuple(keys[row[0]]),
            positions=tuple(positions[row[0]]),
            max_queue=row[3],
            max_wait=float(row[4]),
            reserve=row[5],
            overflow_cap=row[6],
            announcements=Announcements(row[7], row[8], float(row[9]), row[10]),
            neighbours=tuple(tuple(ids) for _, ids in sorted(ranks[row[0]].items())),
            modes=CentreModes(row[11], row[12], row[13], row[14]),
        )
        for row in await (
            await conn.execute(
                "SELECT u.id, u.name, c.department, c.max_queue, c.max_wait_s, c.reserve,"
                " c.overflow_cap, c.welcome, c.reminder, c.reminder_every_s, c.music_on_hold,"
                " c.initial_outgoing_mutual_aid, c.initial_incoming_mutual_aid,"
                " c.initial_diverted_to, c.initial_crisis_message"
                " FROM centres c JOIN units u ON u.id = c.id ORDER BY u.ordinal, u.id"
            )
        ).fetchall()
    ]
    vctas = [
        VirtualCta(
            id=row[0],
            name=row[1],
            members=tuple(members[row[0]]),
            active=row[2],
            max_queue=row[3],
            max_wait=float(row[4]),
            reserve=row[5],
            overflow_cap=row[6],
            announcements=Announcements(row[7], row[8], float(row[9]), row[10]),
        )
        for row in await (
            await conn.execute(
                "SELECT u.id, u.name, v.active, v.max_queue, v.max_wait_s, v.reserve,"
                " v.overflow_cap, v.welcome, v.reminder, v.reminder_every_s, v.music_on_hold"
                " FROM virtual_ctas v JOIN units u ON u.id = v.id ORDER BY u.ordinal, u.id"
            )
        ).fetchall()
    ]
    topology = Topology(
        centres=tuple(centres),
        virtual_ctas=tuple(vctas),
        default_unit=policy[0],
        backup_unit=policy[1],
        last_resort_after=float(policy[2]),
        skip_failed_position_for=float(policy[3]),
    )
    where = f"the topology stored in {describe_dsn(conn.info.dsn)}"
    problems = check_topology(topology, file=where)
    if problems:
        listed = "; ".join(str(p) for p in problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise TopologyInvalid(
            f"{where} is not valid: {listed}{more}; import the topology file again with "
            "'ari-app topology import FILE'",
            tuple(str(p) for p in problems),
        )
    return topology
