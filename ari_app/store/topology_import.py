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

from dataclasses import dataclass

from ari_app.store.db import Connection
from ari_app.store.errors import TopologyInvalid
from ari_app.store.mode_carry import Audit, carry_over, read_modes, write_modes
from ari_app.store.modes import insert_mode_change
from ari_app.store.topology_read import read_topology_rows, topology_source
from ari_app.store.topology_write import insert_topology
from ari_app.vcta import Topology
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
        carried = carry_over(topology, await read_modes(conn), source)
        tokens = await _tokens_of_removed_centres(conn, topology)

        await conn.execute("DELETE FROM topology")
        await conn.execute("DELETE FROM units")  # cascades to every topology and mode table
        await insert_topology(conn, topology, source, digest)
        created = await write_modes(conn, topology, carried, actor)
        for change in changes:
            carried.audits.append(
                Audit(
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
