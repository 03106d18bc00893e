"""Per-centre modes, virtual CTA activation and position pauses, persisted and audited.

Every change is written together with its audit row (who, when, what, before, after, why)
in one transaction, so there is never a change without its record or the reverse. Whether a
change is *allowed* (a diversion loop, a token's scope) is decided before calling this
module; here the store only refuses what would break the database's integrity (an unknown
centre, position or unit; a centre diverted to itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from psycopg.types.json import Jsonb

from ari_app.store.db import Connection, ConnectionSource
from ari_app.store.errors import StoreError, UnknownPosition, UnknownUnit
from ari_app.store.known import unknown_centre_error

ModeValue = str | bool | None

MODE_FIELDS: tuple[str, ...] = (
    "outgoing_mutual_aid",
    "incoming_mutual_aid",
    "diverted_to",
    "crisis_message",
)


@dataclass(frozen=True, slots=True)
class CentreModesRow:
    """What a centre's duty officer has switched. ``None`` means off."""

    centre_id: str
    outgoing_mutual_aid: bool
    incoming_mutual_aid: bool
    diverted_to: str | None = None
    crisis_message: str | None = None

    def values(self) -> dict[str, ModeValue]:
        """The modes by field name, without the centre id."""
        return {name: value for name, value in asdict(self).items() if name in MODE_FIELDS}


@dataclass(frozen=True, slots=True)
class PositionPause:
    """A paused position: not offered calls until resumed."""

    position_id: str
    centre_id: str
    since: datetime
    paused_by: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class StoredModes:
    """Every stored mode and pause. A centre missing from ``centres`` runs on its defaults;
    ``active_vctas`` holds every virtual CTA: switched by a duty officer, or as the topology
    starts it."""

    centres: Mapping[str, CentreModesRow]
    paused: Mapping[str, PositionPause]
    active_vctas: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class ModeAuditRow:
    """One audit row. ``unit_id`` is the centre (the position's, for a pause) or the virtual
    CTA changed. ``before``/``after`` hold the changed fields only; ``before`` is None when
    the centre had no stored modes yet. ``change_id`` is the id the application gave the
    change, when it gave one (see the ``change_id`` argument of the ModeStore methods)."""

    id: int
    at: datetime
    actor: str
    unit_id: str
    position_id: str | None
    what: str
    before: Mapping[str, ModeValue] | None
    after: Mapping[str, ModeValue]
    reason: str | None
    change_id: str | None = None


_CHANGE_COLUMNS = "id, at, actor, unit_id, position_id, what, before, after, reason, change_id"


def _change(row: tuple[object, ...]) -> ModeAuditRow:
    id_, at, actor, unit_id, position_id, what, before, after, reason, change_id = row
    assert isinstance(id_, int)
    assert isinstance(at, datetime)
    assert isinstance(after, dict)
    return ModeAuditRow(
        id=id_,
        at=at,
        actor=str(actor),
        unit_id=str(unit_id),
        position_id=str(position_id) if position_id is not None else None,
        what=str(what),
        before=before if isinstance(before, dict) else None,
        after=after,
        reason=str(reason) if reason is not None else None,
        change_id=str(change_id) if change_id is not None else None,
    )


def _clean_reason(reason: str | None) -> str | None:
    return reason.strip() or None if reason is not None else None


def _check_actor(actor: str) -> None:
    if not actor.strip():
        raise ValueError("a change needs the name of who makes it (actor)")


async def insert_mode_change(
    conn: Connection,
    *,
    actor: str,
    unit_id: str,
    position_id: str | None,
    what: str,
    before: Mapping[str, ModeValue] | None,
    after: Mapping[str, ModeValue],
    reason: str | None,
    change_id: str | None = None,
    at: datetime | None = None,
) -> ModeAuditRow:
    """Write one audit row inside the caller's transaction and return it."""
    row = await (
        await conn.execute(
            "INSERT INTO mode_changes (at, actor, unit_id, position_id, what, before, after,"
            " reason, change_id) VALUES (coalesce(%s, clock_timestamp()), %s, %s, %s, %s, %s,"
            f" %s, %s, %s) RETURNING {_CHANGE_COLUMNS}",
            (
                at,
                actor,
                unit_id,
                position_id,
                what,
                Jsonb(dict(before)) if before is not None else None,
                Jsonb(dict(after)),
                reason,
                change_id,
            ),
        )
    ).fetchone()
    assert row is not None
    return _change(row)


async def _already_applied(conn: Connection, change_id: str | None) -> bool:
    """Claim ``change_id`` inside the change's transaction; True when it was applied before.

    The claim is kept even when the change turns out to change nothing, so that replaying
    an old change can never undo a later one; it is rolled back with a failed change.
    """
    if change_id is None:
        return False
    cursor = await conn.execute(
        "INSERT INTO applied_mode_changes (change_id) VALUES (%s) ON CONFLICT DO NOTHING",
        (change_id,),
    )
    return cursor.rowcount == 0


async def insert_default_modes(
    conn: Connection, defaults: Iterable[CentreModesRow], *, actor: str
) -> int:
    """Store ``defaults`` for the centres that have no stored modes; return how many.

    Meant for the topology import, inside its transaction: existing modes are kept, and no
    audit row is written because nothing a duty officer chose changes.
    """
    count = 0
    for modes in defaults:
        cursor = await conn.execute(
            "INSERT INTO centre_modes (centre_id, outgoing_mutual_aid, incoming_mutual_aid,"
            " diverted_to, crisis_message, updated_by) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (centre_id) DO NOTHING",
            (
                modes.centre_id,
                modes.outgoing_mutual_aid,
                modes.incoming_mutual_aid,
                modes.diverted_to,
                modes.crisis_message,
                actor,
            ),
        )
        count += cursor.rowcount
    return count


class ModeStore:
    """Reads and changes modes and pauses, auditing every change."""

    def __init__(self, pool: ConnectionSource) -> None:
        self._pool = pool

    async def load(self) -> StoredModes:
        """Every stored centre mode and position pause."""
        async with self._pool.connection() as conn:
            mode_rows = await (
                await conn.execute(
                    "SELECT centre_id, outgoing_mutual_aid, incoming_mutual_aid, diverted_to,"
                    " crisis_message FROM centre_modes ORDER BY centre_id"
                )
            ).fetchall()
            pause_rows = await (
                await conn.execute(
                    "SELECT p.position_id, pos.centre_id, p.since, p.paused_by, p.reason"
                    " FROM position_pauses p JOIN positions pos ON pos.id = p.position_id"
                    " ORDER BY p.position_id"
                )
            ).fetchall()
            vcta_rows = await (
                await conn.execute(
                    "SELECT v.id, coalesce(m.active, v.active) FROM virtual_ctas v"
                    " LEFT JOIN vcta_modes m ON m.virtual_cta_id = v.id ORDER BY v.id"
                )
            ).fetchall()
        centres = {
            str(r[0]): CentreModesRow(str(r[0]), bool(r[1]), bool(r[2]), r[3], r[4])
            for r in mode_rows
        }
        paused = {
            str(r[0]): PositionPause(str(r[0]), str(r[1]), r[2], str(r[3]), r[4])
            for r in pause_rows
        }
        return StoredModes(centres, paused, {str(r[0]): bool(r[1]) for r in vcta_rows})

    async def apply(
        self,
        modes: CentreModesRow,
        *,
        actor: str,
        reason: str | None,
        change_id: str | None = None,
        at: datetime | None = None,
    ) -> ModeAuditRow | None:
        """Store ``modes`` as the centre's modes and audit the difference, in one transaction.

        Returns the audit row, or None when nothing changed (nothing is written then).
        Raises UnknownCentre, UnknownUnit, or StoreError for a centre diverted to itself.
        ``change_id`` and ``at``: see :meth:`ModeStore.set_paused`.
        """
        _check_actor(actor)
        if modes.diverted_to == modes.centre_id:
            raise StoreError(
                f"centre {modes.centre_id} cannot be diverted to itself: "
                "to stop a diversion, switch it off"
            )
        if modes.crisis_message is not None and not modes.crisis_message.strip():
            raise StoreError("a crisis message cannot be empty: to remove it, switch it off")
        async with self._pool.connection() as conn, conn.transaction():
            if await _already_applied(conn, change_id):
                return None
            # Locking the centre's row serialises concurrent changes of one centre, so each
            # audit row's "before" is what the change really replaced. The modes are read by
            # a separate statement, after the lock: a statement that waited for a lock still
            # sees the other tables as they were when it started.
            locked = await (
                await conn.execute(
                    "SELECT id FROM centres WHERE id = %s FOR UPDATE", (modes.centre_id,)
                )
            ).fetchone()
            if locked is None:
                raise await unknown_centre_error(conn, [modes.centre_id], "the mode change")
            row = await (
                await conn.execute(
                    "SELECT centre_id, outgoing_mutual_aid, incoming_mutual_aid, diverted_to,"
                    " crisis_message FROM centre_modes WHERE centre_id = %s",
                    (modes.centre_id,),
                )
            ).fetchone()
            if modes.diverted_to is not None:
                unit = await (
                    await conn.execute("SELECT 1 FROM units WHERE id = %s", (modes.diverted_to,))
                ).fetchone()
                if unit is None:
                    raise UnknownUnit(
                        f"centre {modes.centre_id} cannot be diverted to {modes.diverted_to}: "
                        "no centre or virtual CTA has that id in the imported topology"
                    )
            after = modes.values()
            if row is not None:
                stored = CentreModesRow(str(row[0]), bool(row[1]), bool(row[2]), row[3], row[4])
                before_all = stored.values()
                changed = [name for name in MODE_FIELDS if before_all[name] != after[name]]
                if not changed:
                    return None
                before: dict[str, ModeValue] | None = {n: before_all[n] for n in changed}
            else:
                changed = list(MODE_FIELDS)
                before = None
            await conn.execute(
                "INSERT INTO centre_modes (centre_id, outgoing_mutual_aid, incoming_mutual_aid,"
                " diverted_to, crisis_message, updated_at, updated_by)"
                " VALUES (%s, %s, %s, %s, %s, clock_timestamp(), %s)"
                " ON CONFLICT (centre_id) DO UPDATE SET"
                " outgoing_mutual_aid = EXCLUDED.outgoing_mutual_aid,"
                " incoming_mutual_aid = EXCLUDED.incoming_mutual_aid,"
                " diverted_to = EXCLUDED.diverted_to, crisis_message = EXCLUDED.crisis_message,"
                " updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
                (
                    modes.centre_id,
                    modes.outgoing_mutual_aid,
                    modes.incoming_mutual_aid,
                    modes.diverted_to,
                    modes.crisis_message,
                    actor,
                ),
            )
            return await insert_mode_change(
                conn,
                actor=actor,
                unit_id=modes.centre_id,
                position_id=None,
                what=", ".join(changed),
                before=before,
                after={n: after[n] for n in changed},
                reason=_clean_reason(reason),
                change_id=change_id,
                at=at,
            )

    async def set_paused(
        self,
        position_id: str,
        paused: bool,
        *,
        actor: str,
        reason: str | None,
        change_id: str | None = None,
        at: datetime | None = None,
    ) -> ModeAuditRow | None:
        """Pause or resume a position and audit it, in one transaction.

        Returns the audit row, or None when the position already was in that state.
        Raises UnknownPosition.

        ``change_id`` (all three methods): the application's id of the change; a change
        whose id was applied before is not applied again (None is returned), so a change
        replayed after an outage is applied and audited once. ``at``: when the change was
        made, as the audit's time (default: the time of the write).
        """
        _check_actor(actor)
        async with self._pool.connection() as conn, conn.transaction():
            if await _already_applied(conn, change_id):
                return None
            row = await (
                await conn.execute(
                    "SELECT centre_id FROM positions WHERE id = %s FOR UPDATE", (position_id,)
                )
            ).fetchone()
            if row is None:
                raise UnknownPosition(
                    f"unknown position {position_id}: no position has that id in the "
                    "imported topology"
                )
            pause = await (
                await conn.execute(
                    "SELECT 1 FROM position_pauses WHERE position_id = %s", (position_id,)
                )
            ).fetchone()
            centre_id, was_paused = str(row[0]), pause is not None
            if was_paused == paused:
                return None
            if paused:
                await conn.execute(
                    "INSERT INTO position_pauses (position_id, paused_by, reason)"
                    " VALUES (%s, %s, %s)",
                    (position_id, actor, _clean_reason(reason)),
                )
            else:
                await conn.execute(
                    "DELETE FROM position_pauses WHERE position_id = %s", (position_id,)
                )
            return await insert_mode_change(
                conn,
                actor=actor,
                unit_id=centre_id,
                position_id=position_id,
                what="paused",
                before={"paused": was_paused},
                after={"paused": paused},
                reason=_clean_reason(reason),
                change_id=change_id,
                at=at,
            )

    async def set_vcta_active(
        self,
        vcta_id: str,
        active: bool,
        *,
        actor: str,
        reason: str | None,
        change_id: str | None = None,
        at: datetime | None = None,
    ) -> ModeAuditRow | None:
        """Activate or deactivate a virtual CTA and audit it, in one transaction.

        Returns the audit row, or None when it already was in that state. Raises UnknownUnit.
        ``change_id`` and ``at``: see :meth:`ModeStore.set_paused`.
        """
        _check_actor(actor)
        async with self._pool.connection() as conn, conn.transaction():
            if await _already_applied(conn, change_id):
                return None
            row = await (
                await conn.execute(
                    "SELECT active FROM virtual_ctas WHERE id = %s FOR UPDATE", (vcta_id,)
                )
            ).fetchone()
            if row is None:
                raise UnknownUnit(
                    f"unknown virtual CTA {vcta_id}: no virtual CTA has that id in the "
                    "imported topology"
                )
            switched = await (
                await conn.execute(
                    "SELECT active FROM vcta_modes WHERE virtual_cta_id = %s", (vcta_id,)
                )
            ).fetchone()
            was_active = bool(switched[0] if switched is not None else row[0])
            if was_active == active:
                return None
            await conn.execute(
                "INSERT INTO vcta_modes (virtual_cta_id, active, updated_at, updated_by)"
                " VALUES (%s, %s, clock_timestamp(), %s) ON CONFLICT (virtual_cta_id) DO UPDATE"
                " SET active = EXCLUDED.active, updated_at = EXCLUDED.updated_at,"
                " updated_by = EXCLUDED.updated_by",
                (vcta_id, active, actor),
            )
            return await insert_mode_change(
                conn,
                actor=actor,
                unit_id=vcta_id,
                position_id=None,
                what="active",
                before={"active": was_active},
                after={"active": active},
                reason=_clean_reason(reason),
                change_id=change_id,
                at=at,
            )

    async def recent_changes(
        self, *, limit: int = 50, unit_id: str | None = None
    ) -> list[ModeAuditRow]:
        """The latest audit rows, newest first, optionally of one unit only."""
        async with self._pool.connection() as conn:
            if unit_id is None:
                cursor = await conn.execute(
                    f"SELECT {_CHANGE_COLUMNS} FROM mode_changes"
                    " ORDER BY at DESC, id DESC LIMIT %s",
                    (limit,),
                )
            else:
                cursor = await conn.execute(
                    f"SELECT {_CHANGE_COLUMNS} FROM mode_changes WHERE unit_id = %s"
                    " ORDER BY at DESC, id DESC LIMIT %s",
                    (unit_id, limit),
                )
            rows = await cursor.fetchall()
        return [_change(r) for r in rows]
