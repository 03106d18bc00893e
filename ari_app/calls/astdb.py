"""What the dialplan keeps in AstDB for the application, read back through ARI.

A hangup handler on every caller's channel (``vcta-hangup`` in asterisk/etc/extensions.conf)
writes, when the channel ends:

- ``vcta_ended/<call id>``: the end time, seconds since the epoch. When the end of a call
  was not seen (event stream down, application stopped), this is its real end time rather
  than the time we noticed;
- ``vcta_fallback/<call id>``: the whole call, when the application never saw it (Stasis
  failed because it was not running and the dialplan fallback rang positions directly), so
  that it is journaled too.

ARI may read AstDB (``DB()``, ``DB_KEYS()`` through ``GET /asterisk/variable``) but not
change it: Asterisk blocks writes and ``DB_DELETE`` from ARI as dangerous functions unless
``live_dangerously`` is set, which would also give ARI users ``SHELL()``. Entries read are
deleted by the dialplan instead: originating ``Local/<call id>@vcta-forget`` runs
``DB_DELETE`` on both.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind, JournalValue
from ari_app.stasis import AriClient
from ari_app.vcta import route_call

if TYPE_CHECKING:
    from ari_app.calls.service import CallService

log = logging.getLogger(__name__)

ENDED_FAMILY = "vcta_ended"
FALLBACK_FAMILY = "vcta_fallback"
FORGET_CONTEXT = "vcta-forget"
_FIELDS = 6  # arrived|ended|answered ms|answering channel|routing key|caller number


@dataclass(frozen=True, slots=True)
class FallbackCall:
    """A call the dialplan fallback handled alone, as its hangup handler wrote it."""

    call_id: str
    arrived_at: float
    ended_at: float
    talked_s: float | None  # None: nobody answered
    answered_by: str  # the answering channel (``PJSIP/sdis77-op2-0000000a``), or empty
    routing_key: str
    caller: str

    @property
    def answered_at(self) -> float | None:
        return None if self.talked_s is None else self.ended_at - self.talked_s

    @property
    def endpoint(self) -> str | None:
        """The answering position's endpoint (the channel name less its counter)."""
        return self.answered_by.rsplit("-", 1)[0] if self.answered_by else None

    @classmethod
    def parse(cls, call_id: str, value: str) -> FallbackCall | None:
        """The record of ``call_id``; None when it is not one (empty, damaged)."""
        fields = value.split("|", _FIELDS - 1)
        if len(fields) != _FIELDS:
            return None
        arrived, ended, talked_ms, answered_by, routing_key, caller = fields
        try:
            arrived_at, ended_at = float(arrived), float(ended)
            talked = float(talked_ms) / 1000 if talked_ms and answered_by else None
        except ValueError:
            return None
        if not (math.isfinite(arrived_at) and math.isfinite(ended_at)):
            return None
        return cls(call_id, arrived_at, ended_at, talked, answered_by, routing_key, caller)


class DialplanRecords:
    """Reads and forgets what the hangup handler wrote. Every method may raise ``AriError``."""

    def __init__(self, ari: AriClient) -> None:
        self.ari = ari

    async def ended_at(self, call_id: str) -> float | None:
        """When the caller's channel ended, if the dialplan wrote it down."""
        value = await self.ari.asterisk.get_variable(f"DB({ENDED_FAMILY}/{call_id})")
        try:
            ended = float(value)
        except ValueError:
            return None
        return ended if math.isfinite(ended) else None

    async def ended_calls(self) -> list[str]:
        """Calls whose end is written down (and not forgotten yet)."""
        return await self._keys(ENDED_FAMILY)

    async def fallback_calls(self) -> list[FallbackCall]:
        """Calls the fallback handled while no application ran, oldest first."""
        calls = []
        for call_id in await self._keys(FALLBACK_FAMILY):
            value = await self.ari.asterisk.get_variable(f"DB({FALLBACK_FAMILY}/{call_id})")
            call = FallbackCall.parse(call_id, value)
            if call is None:
                log.warning(
                    "unreadable fallback record", extra={"call_id": call_id, "value": value}
                )
                continue
            calls.append(call)
        return sorted(calls, key=lambda call: call.arrived_at)

    async def forget(self, call_id: str) -> None:
        """Delete both entries of ``call_id`` (through the dialplan: see the module)."""
        if not _is_key(call_id):
            return  # not an Asterisk unique id: the handler wrote nothing we can delete
        await self.ari.channels.originate(
            f"Local/{call_id}@{FORGET_CONTEXT}",
            context=FORGET_CONTEXT,
            extension="done",
            priority=1,
        )

    async def _keys(self, family: str) -> list[str]:
        value = await self.ari.asterisk.get_variable(f"DB_KEYS({family})")
        return [key for key in value.split(",") if _is_key(key)]


def _is_key(call_id: str) -> bool:
    """Asterisk unique ids (``1733059200.42``): the only keys the hangup handler writes, and
    the only extensions ``vcta-forget`` accepts."""
    return bool(call_id) and call_id[0].isdigit() and all(c.isdigit() or c == "." for c in call_id)


class DialplanSweep:
    """Journals the calls the fallback handled alone and forgets the entries nobody needs.

    Run after each resynchronisation (once its readers took the end times they need) and
    every ``dialplan_sweep_s`` while in step with Asterisk: a fallback call is journaled
    when the application first sees it ended, even when it ended after the restart."""

    def __init__(self, service: CallService) -> None:
        self.service = service
        self.records = DialplanRecords(service.ari)
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        if self._lock.locked():
            return  # one sweep at a time; the next pass does what this one would
        async with self._lock:
            await self._sweep()

    async def _sweep(self) -> None:
        service = self.service
        done: set[str] = set()
        for call in await self.records.fallback_calls():
            self._journal(call)
            done.add(call.call_id)
        for call_id in await self.records.ended_calls():
            # A session not yet told of its end still needs the time.
            if call_id not in service.sessions:
                done.add(call_id)
        results = await asyncio.gather(
            *(self.records.forget(call_id) for call_id in sorted(done)), return_exceptions=True
        )
        failed = sum(1 for result in results if isinstance(result, BaseException))
        if failed:
            log.warning("could not forget dialplan records; next pass", extra={"failed": failed})

    def _journal(self, call: FallbackCall) -> None:
        """The call's record, from arrival to end. Entry ids are the call's own: journaling
        it again (its deletion failed) writes nothing twice."""
        service = self.service
        decision = route_call(service.topology, service.policy, call.routing_key, call.arrived_at)
        position = (
            service.topology.position_by_endpoint.get(call.endpoint) if call.endpoint else None
        )
        position_id = position.id if position is not None else None
        answered_at = call.answered_at

        def entry(
            kind: JournalKind,
            at: float,
            *,
            reason: str,
            outcome: CallOutcome | None = None,
            details: dict[str, JournalValue] | None = None,
        ) -> JournalEntry:
            return JournalEntry(
                call_id=call.call_id,
                at=at,
                kind=kind,
                unit=decision.unit,
                home_centre=decision.home_centre,
                position=position_id if kind is not JournalKind.ARRIVED else None,
                caller=call.caller,
                reason=reason,
                outcome=outcome,
                details={"fallback": True, **(details or {})},
                entry_id=f"fallback:{call.call_id}:{kind}",
            )

        journal = service.journal
        journal.record(
            entry(
                JournalKind.ARRIVED,
                call.arrived_at,
                reason="no application running: the dialplan fallback rang positions directly",
                details={"routing_key": call.routing_key, "channel_id": call.call_id},
            )
        )
        if answered_at is not None:
            journal.record(
                entry(
                    JournalKind.CONNECTED,
                    answered_at,
                    reason=f"{position_id or call.answered_by} answered the fallback",
                    details={"answered_by": call.answered_by},
                )
            )
        journal.record(
            entry(
                JournalKind.ENDED,
                call.ended_at,
                reason="ended on the dialplan fallback",
                outcome=CallOutcome.FALLBACK if answered_at is not None else CallOutcome.ABANDONED,
                details={"ended_by": "unknown"},
            )
        )
        log.info(
            "fallback call journaled", extra={"call_id": call.call_id, "position": position_id}
        )
