"""The modes the application starts with: the stored ones, then the changes still spooled.

Stored values go through the policy's ``change_modes`` one by one, as a duty officer's
changes would, starting from the topology's own modes: whatever the database holds, the
result is modes the policy accepts. A value the policy refuses, or one naming a centre,
position or virtual CTA the topology does not have, is left out with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Sequence

import psycopg
from psycopg_pool import PoolTimeout

from ari_app.store.db import ConnectionSource, first_line, missing_schema
from ari_app.store.errors import DatabaseUnreachable
from ari_app.store.mode_writes import ModeChangeWrite, apply_changes, apply_writes
from ari_app.vcta import (
    CentreModes,
    ModeChange,
    Modes,
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    Topology,
)

log = logging.getLogger(__name__)


async def load_modes(
    pool: ConnectionSource, topology: Topology, *, pending: Sequence[ModeChangeWrite] = ()
) -> Modes:
    """The modes to start with.

    The stored centre modes, paused positions and virtual CTA switches, mapped onto the
    policy's ``Modes``: centres and virtual CTAs without a stored row keep the topology's
    own. Then ``pending`` (the recorder's spooled changes, ``StoreModeRecorder.pending()``)
    are applied in order, except those the database shows were already applied: a change
    made while PostgreSQL was unreachable survives a restart.

    Raises DatabaseUnreachable or SchemaError (both StoreError) when the database cannot
    be read.
    """
    try:
        async with pool.connection() as conn:
            centre_rows = await (
                await conn.execute(
                    "SELECT centre_id, outgoing_mutual_aid, incoming_mutual_aid, diverted_to,"
                    " crisis_message FROM centre_modes ORDER BY centre_id"
                )
            ).fetchall()
            vcta_rows = await (
                await conn.execute(
                    "SELECT virtual_cta_id, active FROM vcta_modes ORDER BY virtual_cta_id"
                )
            ).fetchall()
            pause_rows = await (
                await conn.execute("SELECT position_id FROM position_pauses ORDER BY 1")
            ).fetchall()
            applied_rows = await (
                await conn.execute(
                    "SELECT change_id FROM applied_mode_changes WHERE change_id = ANY(%s)",
                    ([w.change_id for w in pending],),
                )
            ).fetchall()
    except psycopg.errors.UndefinedTable as error:
        raise missing_schema(error) from None
    except (psycopg.OperationalError, PoolTimeout) as error:
        raise DatabaseUnreachable(
            f"cannot read the modes from PostgreSQL: {first_line(error)}"
        ) from None

    centres = {
        str(r[0]): CentreModes(bool(r[1]), bool(r[2]), r[3], r[4])
        for r in centre_rows
        if _known(topology.centre_by_id, str(r[0]), "centre modes")
    }
    switched = {
        str(r[0]): bool(r[1])
        for r in vcta_rows
        if _known(topology.vcta_by_id, str(r[0]), "virtual CTA switch")
    }
    paused = [str(r[0]) for r in pause_rows if _known(topology.position_by_id, str(r[0]), "pause")]
    modes = apply_changes(
        topology,
        topology.initial_modes(),
        stored_changes(centres, switched, paused),
        source="stored modes",
    )
    applied = {str(r[0]) for r in applied_rows}
    return apply_writes(topology, modes, [w for w in pending if w.change_id not in applied])


def stored_changes(
    centres: dict[str, CentreModes], switched: dict[str, bool], paused: Sequence[str]
) -> list[ModeChange]:
    """The changes that bring a topology's own modes to the stored ones.

    Diversions are ended first and set last, virtual CTAs deactivated before any is
    activated: each step then only adds what the final modes have, so a step is refused
    only when the stored modes themselves are invalid (a loop, a member pooled twice).
    """
    changes: list[ModeChange] = [SetDiversion(c, None) for c in centres]
    for centre_id, modes in centres.items():
        changes += [
            SetOutgoingMutualAid(centre_id, modes.outgoing_mutual_aid),
            SetIncomingMutualAid(centre_id, modes.incoming_mutual_aid),
            SetCrisisMessage(centre_id, modes.crisis_message),
        ]
    changes += [SetDiversion(c, m.diverted_to) for c, m in centres.items() if m.diverted_to]
    changes += [SetVctaActive(v, False) for v, active in switched.items() if not active]
    changes += [SetVctaActive(v, True) for v, active in switched.items() if active]
    changes += [SetPositionPaused(p, True) for p in paused]
    return changes


def _known(ids: Container[str], wanted: str, what: str) -> bool:
    if wanted in ids:
        return True
    log.warning(
        "stored mode ignored: the topology in use has no such id",
        extra={"what": what, "id": wanted},
    )
    return False
