"""Importing a topology: the topology tables replaced in one transaction, modes carried over.

The caller has checked the topology (``ari_app.vcta.read_topology_file``). Here, in one
transaction with deferred constraints and the topology and mode tables locked against
concurrent changes:

- every topology table is emptied and filled from the topology, in file order, with the
  file's path and SHA-256 (importing the same file again changes nothing);
- the modes duty officers chose are kept for the centres, positions and virtual CTAs that
  still exist; a new centre gets the modes its file declares (``insert_default_modes``);
- what no longer fits is dropped, and each drop is audited in ``mode_changes`` with the
  importer as actor: modes of a removed centre, a diversion to a unit that is no longer a
  centre, a pause of a removed position, the activation of a removed virtual CTA or of one
  that now shares a member with another active one.

Removing rows cascades to the mode tables, so the modes are read before and written back
after, with their original ``updated_at`` and ``updated_by``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ari_app.store.db import Connection
from ari_app.store.errors import TopologyInvalid
from ari_app.store.modes import CentreModes, ModeValue, insert_default_modes, insert_mode_change
from ari_app.store.topology_read import read_topology_rows, topology_source
from ari_app.vcta import Modes, Topology
from ari_app.vcta import modes as policy_modes
from ari_app.vcta.mode_changes import modes_problems
from ari_app.vcta.topology_change import CallInProgress, limit_changes, stranded

# The channel a committed import is announced on, with the new topology's SHA-256: every
# running instance LISTENs on it and takes the new topology (ari_app.topology_reload).
TOPOLOGY_CHANNEL = "ari_app_topology"

_TOPOLOGY_TABLES = (
    "topology",
    "units",
    "centres",
    "virtual_ctas",
    "virtual_cta_members",
    "positions",
    "routing_keys",
    "neighbours",
    "centre_modes",
    "vcta_modes",
    "position_pauses",
)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did. ``unchanged``: the same file was already imported, nothing written.

    ``removed_modes``: centres removed whose stored modes were dropped (each audited);
    ``dropped`` has one sentence per diversion, pause or virtual CTA switch dropped (each
    also audited);
    ``warnings`` names what the import leaves behind for a person to look at (tokens scoped
    to a removed centre).
    """

    unchanged: bool
    centres: int
    positions: int
    virtual_ctas: int
    added_centres: tuple[str, ...] = ()
    removed_centres: tuple[str, ...] = ()
    added_positions: tuple[str, ...] = ()
    removed_positions: tuple[str, ...] = ()
    added_virtual_ctas: tuple[str, ...] = ()
    removed_virtual_ctas: tuple[str, ...] = ()
    modes_kept: int = 0
    modes_created: int = 0
    pauses_kept: int = 0
    activations_kept: int = 0
    removed_modes: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # Each value the import changed for a unit that remains, or for the policy, such as
    # "sdis77 max_queue 8 → 9" (each also audited).
    changes: tuple[str, ...] = ()


@dataclass(slots=True)
class _StoredCentreModes:
    modes: CentreModes
    updated_at: datetime
    updated_by: str


@dataclass(slots=True)
class _StoredActivation:
    vcta_id: str
    active: bool
    updated_at: datetime
    updated_by: str


@dataclass(slots=True)
class _StoredPause:
    position_id: str
    centre_id: str
    since: datetime
    paused_by: str
    reason: str | None


@dataclass(slots=True)
class _Audit:
    unit_id: str
    what: str
    before: Mapping[str, ModeValue]
    after: Mapping[str, ModeValue]
    reason: str
    position_id: str | None = None


@dataclass(slots=True)
class _Carried:
    """The modes carried over into the new topology, and what was dropped on the way."""

    centres: list[_StoredCentreModes] = field(default_factory=list)
    activations: list[_StoredActivation] = field(default_factory=list)
    pauses: list[_StoredPause] = field(default_factory=list)
    audits: list[_Audit] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    removed_modes: list[str] = field(default_factory=list)


async def import_topology(
    conn: Connection, topology: Topology, *, source: str, digest: str, actor: str
) -> ImportReport:
    """Replace the stored topology by ``topology`` (checked by the caller); see the module doc.

    ``source`` is the file's path and ``digest`` its SHA-256; when both equal the stored ones
    and the tables already hold this topology, nothing is written. ``actor`` signs the audit
    rows of what the import drops. Raises TopologyInvalid, rolling everything back, when the
    modes carried over would not be valid with the new topology.
    """
    if not actor.strip():
        raise ValueError("an import needs the name of who makes it (actor)")
    async with conn.transaction():
        await conn.execute("SET CONSTRAINTS ALL DEFERRED")
        # EXCLUSIVE: reads go on, mode changes wait until the new topology is in place.
        await conn.execute(f"LOCK TABLE {', '.join(_TOPOLOGY_TABLES)} IN EXCLUSIVE MODE")
        previous = await topology_source(conn)
        if (
            previous is not None
            and (previous.source, previous.digest) == (source, digest)
            and await read_topology_rows(conn) == topology
        ):
            return ImportReport(
                unchanged=True,
                centres=len(topology.centres),
                positions=topology.position_count,
                virtual_ctas=len(topology.virtual_ctas),
            )
        before = await read_topology_rows(conn)
        changes = limit_changes(before, topology) if before is not None else []
        if before is not None:
            # Calls in progress, as the journal has them: one the new topology cannot carry
            # is a reason to refuse, before anything is written.
            open_calls = [
                CallInProgress(call_id, position)
                for call_id, position in await (
                    await conn.execute("SELECT call_id, position FROM calls WHERE ended_at IS NULL")
                ).fetchall()
            ]
            reasons = stranded(before, topology, open_calls)
            if reasons:
                raise TopologyInvalid(
                    f"the topology was not imported: {'; '.join(reasons)}", tuple(reasons)
                )
        old_units: dict[str, str] = dict(
            await (await conn.execute("SELECT id, kind FROM units")).fetchall()
        )
        old_positions: dict[str, str] = dict(
            await (await conn.execute("SELECT id, centre_id FROM positions")).fetchall()
        )
        carried = _carry_over(topology, await _read_modes(conn), source)
        tokens = await _tokens_of_removed_centres(conn, topology)

        await conn.execute("DELETE FROM topology")
        await conn.execute("DELETE FROM units")  # cascades to every topology and mode table
        await _insert_topology(conn, topology, source, digest)
        created = await _write_modes(conn, topology, carried, actor)
        for change in changes:
            carried.audits.append(
                _Audit(
                    change.unit,
                    f"topology.{change.name}",
                    {change.name: change.before},
                    {change.name: change.after},
                    f"topology imported from {source}",
                )
            )
        # Sent at commit only: instances never see a topology that is rolled back.
        await conn.execute("SELECT pg_notify(%s, %s)", (TOPOLOGY_CHANNEL, digest))
        for audit in carried.audits:
            await insert_mode_change(
                conn,
                actor=actor,
                unit_id=audit.unit_id,
                position_id=audit.position_id,
                what=audit.what,
                before=audit.before,
                after=audit.after,
                reason=audit.reason,
            )

    old_centres = {u for u, kind in old_units.items() if kind == "centre"}
    old_vctas = {u for u, kind in old_units.items() if kind == "virtual_cta"}
    new_centres = [c.id for c in topology.centres]
    new_vctas = [v.id for v in topology.virtual_ctas]
    new_positions = list(topology.position_by_id)
    return ImportReport(
        unchanged=False,
        centres=len(topology.centres),
        positions=topology.position_count,
        virtual_ctas=len(topology.virtual_ctas),
        added_centres=tuple(c for c in new_centres if c not in old_centres),
        removed_centres=tuple(sorted(old_centres - set(new_centres))),
        added_positions=tuple(p for p in new_positions if p not in old_positions),
        removed_positions=tuple(sorted(set(old_positions) - set(new_positions))),
        added_virtual_ctas=tuple(v for v in new_vctas if v not in old_vctas),
        removed_virtual_ctas=tuple(sorted(old_vctas - set(new_vctas))),
        modes_kept=len(carried.centres),
        modes_created=created,
        pauses_kept=len(carried.pauses),
        activations_kept=len(carried.activations),
        removed_modes=tuple(carried.removed_modes),
        dropped=tuple(carried.dropped),
        warnings=tokens,
        changes=tuple(str(c) for c in changes),
    )


@dataclass(frozen=True, slots=True)
class _StoredModes:
    centres: list[_StoredCentreModes]
    activations: list[_StoredActivation]
    pauses: list[_StoredPause]


async def _tokens_of_removed_centres(conn: Connection, topology: Topology) -> tuple[str, ...]:
    rows = await (
        await conn.execute(
            "SELECT t.id, t.name, s.scope FROM api_tokens t, unnest(t.scopes) AS s(scope)"
            " WHERE t.revoked_at IS NULL AND s.scope LIKE 'centre:%' ORDER BY t.id, s.scope"
        )
    ).fetchall()
    warnings: list[str] = []
    for token_id, name, scope in rows:
        centre = str(scope).removeprefix("centre:")
        if centre not in topology.centre_by_id:
            warnings.append(
                f"token {token_id} ({name!r}) is scoped to {centre}, which is no longer a "
                f"centre: it changes nothing there; revoke it with "
                f"'ari-app token revoke {token_id}' if it is not needed"
            )
    return tuple(warnings)


async def _read_modes(conn: Connection) -> _StoredModes:
    centres = [
        _StoredCentreModes(CentreModes(r[0], r[1], r[2], r[3], r[4]), r[5], r[6])
        for r in await (
            await conn.execute(
                "SELECT centre_id, outgoing_mutual_aid, incoming_mutual_aid, diverted_to,"
                " crisis_message, updated_at, updated_by FROM centre_modes ORDER BY centre_id"
            )
        ).fetchall()
    ]
    activations = [
        _StoredActivation(r[0], r[1], r[2], r[3])
        for r in await (
            await conn.execute(
                "SELECT virtual_cta_id, active, updated_at, updated_by FROM vcta_modes"
                " ORDER BY virtual_cta_id"
            )
        ).fetchall()
    ]
    pauses = [
        _StoredPause(r[0], r[1], r[2], r[3], r[4])
        for r in await (
            await conn.execute(
                "SELECT p.position_id, pos.centre_id, p.since, p.paused_by, p.reason"
                " FROM position_pauses p JOIN positions pos ON pos.id = p.position_id"
                " ORDER BY p.position_id"
            )
        ).fetchall()
    ]
    return _StoredModes(centres, activations, pauses)


def _carry_over(topology: Topology, stored: _StoredModes, source: str) -> _Carried:
    """Which stored modes fit the new topology; the others dropped, with their audit."""
    carried = _Carried()
    centres = topology.centre_by_id
    gone = f"no longer in the topology ({source})"
    for row in stored.centres:
        modes = row.modes
        if modes.centre_id not in centres:
            carried.audits.append(
                _Audit(modes.centre_id, "removed", modes.values(), {}, f"centre {gone}")
            )
            carried.removed_modes.append(modes.centre_id)
            continue
        target = modes.diverted_to
        if target is not None and target not in centres:
            # The policy diverts to centres only; the target was removed or is now pooled.
            carried.audits.append(
                _Audit(
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
                _StoredCentreModes(
                    dataclasses.replace(modes, diverted_to=None), row.updated_at, row.updated_by
                )
            )
            continue
        carried.centres.append(row)

    vctas = topology.vcta_by_id
    switched: dict[str, _StoredActivation] = {}
    for activation in stored.activations:
        if activation.vcta_id not in vctas:
            carried.audits.append(
                _Audit(
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
                _Audit(
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
            _Audit(
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


async def _insert_topology(conn: Connection, topology: Topology, source: str, digest: str) -> None:
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


async def _write_modes(conn: Connection, topology: Topology, carried: _Carried, actor: str) -> int:
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
        CentreModes(
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


def _check_modes(topology: Topology, carried: _Carried, defaults: Sequence[CentreModes]) -> None:
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
