"""The duty officers' modes carried over a topology import (``topology_import``): read before
the topology tables are emptied (removing rows cascades to the mode tables), filtered against
the new topology with an audit of what is dropped, written back with their original
``updated_at`` and ``updated_by``, and checked with the policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ari_app.store.db import Connection
from ari_app.store.errors import TopologyInvalid
from ari_app.store.modes import CentreModesRow, ModeValue, insert_default_modes
from ari_app.vcta import Modes, Topology
from ari_app.vcta import modes as policy_modes
from ari_app.vcta.mode_changes import modes_problems


@dataclass(slots=True)
class StoredCentreModes:
    modes: CentreModesRow
    updated_at: datetime
    updated_by: str


@dataclass(slots=True)
class StoredActivation:
    vcta_id: str
    active: bool
    updated_at: datetime
    updated_by: str


@dataclass(slots=True)
class StoredPause:
    position_id: str
    centre_id: str
    since: datetime
    paused_by: str
    reason: str | None


@dataclass(slots=True)
class Audit:
    unit_id: str
    what: str
    before: Mapping[str, ModeValue]
    after: Mapping[str, ModeValue]
    reason: str
    position_id: str | None = None


@dataclass(slots=True)
class Carried:
    """The modes carried over into the new topology, and what was dropped on the way."""

    centres: list[StoredCentreModes] = field(default_factory=list)
    activations: list[StoredActivation] = field(default_factory=list)
    pauses: list[StoredPause] = field(default_factory=list)
    audits: list[Audit] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    removed_modes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredModes:
    centres: list[StoredCentreModes]
    activations: list[StoredActivation]
    pauses: list[StoredPause]


async def read_modes(conn: Connection) -> StoredModes:
    centres = [
        StoredCentreModes(CentreModesRow(r[0], r[1], r[2], r[3], r[4]), r[5], r[6])
        for r in await (
            await conn.execute(
                "SELECT centre_id, outgoing_mutual_aid, incoming_mutual_aid, diverted_to,"
                " crisis_message, updated_at, updated_by FROM centre_modes ORDER BY centre_id"
            )
        ).fetchall()
    ]
    activations = [
        StoredActivation(r[0], r[1], r[2], r[3])
        for r in await (
            await conn.execute(
                "SELECT virtual_cta_id, active, updated_at, updated_by FROM vcta_modes"
                " ORDER BY virtual_cta_id"
            )
        ).fetchall()
    ]
    pauses = [
        StoredPause(r[0], r[1], r[2], r[3], r[4])
        for r in await (
            await conn.execute(
                "SELECT p.position_id, pos.centre_id, p.since, p.paused_by, p.reason"
                " FROM position_pauses p JOIN positions pos ON pos.id = p.position_id"
                " ORDER BY p.position_id"
            )
        ).fetchall()
    ]
    return StoredModes(centres, activations, pauses)


def carry_over(topology: Topology, stored: StoredModes, source: str) -> Carried:
    """Which stored modes fit the new topology; the others dropped, with their audit."""
    carried = Carried()
    centres = topology.centre_by_id
    gone = f"no longer in the topology ({source})"
    for row in stored.centres:
        modes = row.modes
        if modes.centre_id not in centres:
            carried.audits.append(
                Audit(modes.centre_id, "removed", modes.values(), {}, f"centre {gone}")
            )
            carried.removed_modes.append(modes.centre_id)
            continue
        target = modes.diverted_to
        if target is not None and target not in centres:
            # The policy diverts to centres only; the target was removed or is now pooled.
            carried.audits.append(
                Audit(
                    modes.centre_id,
                    "diverted_to",
                    {"diverted_to": target},
                    {"diverted_to": None},
                    f"diversion target {target} is no longer a centre of the topology ({source})",
                )
            )
            carried.dropped.append(
                f"diversion of {modes.centre_id} to {target} ended: {target} is no longer "
                "a centre of the topology"
            )
            carried.centres.append(
                StoredCentreModes(
                    dataclasses.replace(modes, diverted_to=None), row.updated_at, row.updated_by
                )
            )
            continue
        carried.centres.append(row)

    vctas = topology.vcta_by_id
    switched: dict[str, StoredActivation] = {}
    for activation in stored.activations:
        if activation.vcta_id not in vctas:
            carried.audits.append(
                Audit(
                    activation.vcta_id,
                    "removed",
                    {"active": activation.active},
                    {},
                    f"virtual CTA {gone}",
                )
            )
            carried.dropped.append(
                f"switch of virtual CTA {activation.vcta_id} dropped: it is no longer "
                "in the topology"
            )
            continue
        switched[activation.vcta_id] = activation
    # Virtual CTAs the file starts active never share a member (the policy checks it); one
    # a duty officer activated may share one with them now that members changed: it yields.
    pooled_by: dict[str, str] = {}
    file_first = sorted(
        topology.virtual_ctas, key=lambda v: 0 if v.active else 1
    )  # stable: file order within each group
    for vcta in file_first:
        switch = switched.get(vcta.id)
        if not (switch.active if switch is not None else vcta.active):
            continue
        shared = [m for m in vcta.members if m in pooled_by]
        if shared and switch is not None and not vcta.active:
            del switched[vcta.id]
            other = pooled_by[shared[0]]
            carried.audits.append(
                Audit(
                    vcta.id,
                    "active",
                    {"active": True},
                    {"active": False},
                    f"{', '.join(shared)} now also pooled in active virtual CTA {other} ({source})",
                )
            )
            carried.dropped.append(
                f"virtual CTA {vcta.id} deactivated: {', '.join(shared)} already pooled in {other}"
            )
            continue
        for member in vcta.members:
            pooled_by.setdefault(member, vcta.id)
    carried.activations = list(switched.values())

    positions = topology.position_by_id
    for pause in stored.pauses:
        if pause.position_id in positions:
            carried.pauses.append(pause)
            continue
        carried.audits.append(
            Audit(
                pause.centre_id,
                "paused",
                {"paused": True},
                {"paused": False},
                f"position {gone}",
                position_id=pause.position_id,
            )
        )
        carried.dropped.append(
            f"pause of {pause.position_id} dropped: the position is no longer in the topology"
        )
    return carried


async def write_modes(conn: Connection, topology: Topology, carried: Carried, actor: str) -> int:
    """Write the carried-over modes back and the file's modes for the other centres; check
    the result with the policy; return how many centres got the file's modes."""
    async with conn.cursor() as cursor:
        if carried.centres:
            await cursor.executemany(
                "INSERT INTO centre_modes (centre_id, outgoing_mutual_aid, incoming_mutual_aid,"
                " diverted_to, crisis_message, updated_at, updated_by)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        row.modes.centre_id,
                        row.modes.outgoing_mutual_aid,
                        row.modes.incoming_mutual_aid,
                        row.modes.diverted_to,
                        row.modes.crisis_message,
                        row.updated_at,
                        row.updated_by,
                    )
                    for row in carried.centres
                ],
            )
        if carried.activations:
            await cursor.executemany(
                "INSERT INTO vcta_modes (virtual_cta_id, active, updated_at, updated_by)"
                " VALUES (%s, %s, %s, %s)",
                [(a.vcta_id, a.active, a.updated_at, a.updated_by) for a in carried.activations],
            )
        if carried.pauses:
            await cursor.executemany(
                "INSERT INTO position_pauses (position_id, since, paused_by, reason)"
                " VALUES (%s, %s, %s, %s)",
                [(p.position_id, p.since, p.paused_by, p.reason) for p in carried.pauses],
            )
    kept = {row.modes.centre_id for row in carried.centres}
    defaults = [
        CentreModesRow(
            c.id,
            c.modes.outgoing_mutual_aid,
            c.modes.incoming_mutual_aid,
            c.modes.diverted_to,
            c.modes.crisis_message,
        )
        for c in topology.centres
        if c.id not in kept
    ]
    created = await insert_default_modes(conn, defaults, actor=actor)
    _check_modes(topology, carried, defaults)
    return created


def _check_modes(topology: Topology, carried: Carried, defaults: Sequence[CentreModesRow]) -> None:
    """Refuse (roll back) an import whose carried-over modes the policy would refuse."""
    centres = {
        m.centre_id: policy_modes.CentreModes(
            m.outgoing_mutual_aid, m.incoming_mutual_aid, m.diverted_to, m.crisis_message
        )
        for m in [*(row.modes for row in carried.centres), *defaults]
    }
    switched = {a.vcta_id: a.active for a in carried.activations}
    active = frozenset(v.id for v in topology.virtual_ctas if switched.get(v.id, v.active))
    paused = frozenset(p.position_id for p in carried.pauses)
    problems = modes_problems(topology, Modes(centres, active, paused))
    if problems:
        raise TopologyInvalid(
            "the topology was not imported: with the modes duty officers have set, "
            f"{'; '.join(problems)}; change those modes first, then import again",
            tuple(problems),
        )
