"""What the dialplan keeps in AstDB for the application, read back through ARI.

A hangup handler on every caller's channel (``vcta-hangup`` in asterisk/etc/extensions.conf)
writes, when the channel ends:

- ``vcta_ended/<call id>/<end>``: the end time, seconds since the epoch. When the end of a
  call was not seen (event stream down, application stopped), this is its real end time
  rather than the time we noticed;
- ``vcta_fallback/<call id>/<arrived>|<end>|<answered ms>|<answering channel>|<routing key>|
  <caller>``: the whole call, when the application never saw it (Stasis failed because it was
  not running and the dialplan fallback rang positions directly), so that it is journaled too.

What Asterisk 22 lets ARI do with AstDB decided that shape: ``DB()`` is a dangerous function
to ARI, read and write (``live_dangerously`` would lift that, and give ARI users ``SHELL()``
too), ``DB_KEYS()`` is not; ``GET /asterisk/variable`` evaluates no function at all, a
channel's ``GET /channels/{id}/variable`` does. So the data is in the keys, listed through a
channel the application creates for that (never dialled), and entries read are deleted by the
dialplan: originating ``Local/forget@vcta-forget`` with ``VCTA_FORGET`` listing call ids runs
``DBdeltree`` on both entries of each. One originate per sweep and about 50 calls, not one per
call: the hangup handler writes an entry for every call, and a Local channel per call cost
Asterisk and us a request and two channels each.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from collections.abc import AsyncIterator, Container
from dataclasses import dataclass
from typing import Protocol

from ari_app.calls.ids import CallNames
from ari_app.calls.journal import CallOutcome, Journal, JournalEntry, JournalKind, JournalValue
from ari_app.stasis import AriClient, AriError, NotFound
from ari_app.vcta import PolicyState, Topology, route_call

log = logging.getLogger(__name__)

ENDED_FAMILY = "vcta_ended"
FALLBACK_FAMILY = "vcta_fallback"
FORGET_CONTEXT = "vcta-forget"
FORGET_VARIABLE = "VCTA_FORGET"
# Call ids per deletion, '&'-separated: well within what the dialplan's CUT() reads back.
FORGET_BATCH_CHARS = 1000
_FIELDS = 6  # arrived|ended|answered ms|answering channel|routing key|caller number


@dataclass(frozen=True, slots=True)
class FallbackCall:
    """A call the dialplan fallback handled alone, as its hangup handler wrote it."""

    call_id: str
    arrived_at: float
    ended_at: float
    talked_s: float | None  # None: nobody answered
    answered_by: str  # the answering channel less its technology (``sdis77-op2-0000000a``)
    routing_key: str
    caller: str

    @property
    def answered_at(self) -> float | None:
        return None if self.talked_s is None else self.ended_at - self.talked_s

    @property
    def endpoint(self) -> str | None:
        """The answering position's endpoint (the channel name less its counter)."""
        return f"PJSIP/{self.answered_by.rsplit('-', 1)[0]}" if self.answered_by else None

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

    def __init__(self, ari: AriClient, names: CallNames) -> None:
        self.ari = ari
        self.names = names
        self._readers = itertools.count(1)

    async def ended_times(self, call_ids: list[str]) -> dict[str, float]:
        """When the callers' channels ended, for those the dialplan wrote it down."""
        if not call_ids:
            return {}
        found: dict[str, float] = {}
        async with self._reader() as reader:
            for call_id in call_ids:
                for key in await self._keys(reader, f"{ENDED_FAMILY}/{call_id}"):
                    with contextlib.suppress(ValueError):
                        if math.isfinite(ended := float(key)):
                            found[call_id] = ended
        return found

    async def read(self) -> tuple[list[FallbackCall], list[str]]:
        """The calls the fallback handled while no application ran (oldest first), and the
        calls whose end is written down."""
        calls = []
        async with self._reader() as reader:
            ended = [k for k in await self._keys(reader, ENDED_FAMILY) if _is_key(k)]
            for call_id in await self._keys(reader, FALLBACK_FAMILY):
                if not _is_key(call_id):
                    continue
                for value in await self._keys(reader, f"{FALLBACK_FAMILY}/{call_id}"):
                    call = FallbackCall.parse(call_id, value)
                    if call is None:
                        log.warning(
                            "unreadable fallback record", extra={"call_id": call_id, "value": value}
                        )
                    else:
                        calls.append(call)
        return sorted(calls, key=lambda call: call.arrived_at), ended

    async def forget(self, call_ids: list[str]) -> int:
        """Delete both entries of each of ``call_ids`` (through the dialplan: see the
        module); the number of calls whose deletion could not be asked (next sweep)."""
        # Not an Asterisk unique id: the handler wrote nothing we can delete (and the list's
        # separator can never come from a call id).
        batches = _batches([call_id for call_id in call_ids if _is_key(call_id)])
        results = await asyncio.gather(
            *(self._forget(batch) for batch in batches), return_exceptions=True
        )
        return sum(
            len(batch)
            for batch, result in zip(batches, results, strict=True)
            if isinstance(result, BaseException)
        )

    async def _forget(self, call_ids: list[str]) -> None:
        await self.ari.channels.originate(
            f"Local/forget@{FORGET_CONTEXT}",
            context=FORGET_CONTEXT,
            extension="done",
            priority=1,
            variables={FORGET_VARIABLE: "&".join(call_ids)},
        )

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[str]:
        """A channel of ours, never dialled, whose variables evaluate ``DB_KEYS()``."""
        channel_id = self.names.astdb_reader(next(self._readers))
        await self.ari.channels.create(
            f"Local/reader@{FORGET_CONTEXT}", app=self.names.prefix, channel_id=channel_id
        )
        try:
            yield channel_id
        finally:
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(channel_id)

    async def _keys(self, reader: str, family: str) -> list[str]:
        try:
            value = await self.ari.channels.get_variable(reader, f"DB_KEYS({family})")
        except NotFound:
            return []  # nothing under it (an Asterisk without the family answers empty)
        return [key for key in value.split(",") if key]  # keys hold no comma (the handler)


def _batches(call_ids: list[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    size = FORGET_BATCH_CHARS
    for call_id in call_ids:
        if size + len(call_id) + 1 > FORGET_BATCH_CHARS:
            batches.append([])
            size = 0
        batches[-1].append(call_id)
        size += len(call_id) + 1
    return batches


def _is_key(call_id: str) -> bool:
    """Asterisk unique ids (``1733059200.42``): the only keys the hangup handler writes, and
    the only extensions ``vcta-forget`` accepts."""
    return bool(call_id) and call_id[0].isdigit() and all(c.isdigit() or c == "." for c in call_id)


class SweepHost(Protocol):
    """The call service, as the sweep sees it."""

    ari: AriClient
    names: CallNames
    journal: Journal

    @property
    def topology(self) -> Topology: ...

    @property
    def policy(self) -> PolicyState: ...

    @property
    def sessions(self) -> Container[str]:
        """The calls that have a session (by call id)."""
        ...


class DialplanSweep:
    """Journals the calls the fallback handled alone and forgets the entries nobody needs.

    Run after each resynchronisation (once its readers took the end times they need) and
    every ``dialplan_sweep_s`` while in step with Asterisk: a fallback call is journaled
    when the application first sees it ended, even when it ended after the restart."""

    def __init__(self, service: SweepHost) -> None:
        self.service = service
        self.records = DialplanRecords(service.ari, service.names)
        self._lock = asyncio.Lock()
        self._failing = False

    async def run(self) -> None:
        """One sweep; a failure is logged when it starts and when it ends, not at each pass
        (an Asterisk that cannot hold these records, such as the emulator, refuses every
        time, and the calls go on without them)."""
        if self._lock.locked():
            return  # one sweep at a time; the next pass does what this one would
        async with self._lock:
            try:
                await self._sweep()
            except AriError as error:
                if not self._failing:
                    log.warning(
                        "cannot read the dialplan's records in AstDB; fallback calls are "
                        "journaled once it works",
                        extra={"error": str(error)},
                    )
                self._failing = True
                return
            if self._failing:
                log.info("the dialplan's records in AstDB are read again")
            self._failing = False

    async def _sweep(self) -> None:
        service = self.service
        done: set[str] = set()
        fallback_calls, ended = await self.records.read()
        for call in fallback_calls:
            self._journal(call)
            done.add(call.call_id)
        for call_id in ended:
            # A session not yet told of its end still needs the time.
            if call_id not in service.sessions:
                done.add(call_id)
        failed = await self.records.forget(sorted(done))
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
