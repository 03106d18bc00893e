"""What the duty officers' API serves while this instance is not the one commanding Asterisk
(a standby: docs/failover.md), and the switch to the live call handling once it is.

A standby keeps the topology and the modes in force as PostgreSQL has them (read again every
``REFRESH_S``), so its reads show the centres and their modes; it knows no calls and makes
no change: changes are refused by the API with the name of the active instance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ari_app.api.ports import CallControl
from ari_app.calls.service import ServiceStats
from ari_app.clock import Clock
from ari_app.store.errors import StoreError
from ari_app.vcta import (
    ModeChange,
    ModeChangeResult,
    Modes,
    PickDecision,
    PolicyState,
    Topology,
    UnitSnapshot,
    change_modes,
    snapshot,
)

log = logging.getLogger(__name__)

REFRESH_S = 5.0  # how stale a standby's view of the modes may be

NOT_ACTIVE = "this instance is not the active one: it makes no change"


class StandbyCalls:
    """``CallControl`` of a standby: the topology and modes, no calls, never ready."""

    def __init__(self, topology: Topology, modes: Modes, clock: Clock) -> None:
        self._clock = clock
        self._topology = topology
        self._policy = PolicyState(topology, modes)
        self.stats = ServiceStats()
        self.ari_requests = 0

    @property
    def ready(self) -> bool:
        return False

    @property
    def topology(self) -> Topology:
        return self._topology

    @property
    def policy(self) -> PolicyState:
        return self._policy

    def refresh(self, topology: Topology, modes: Modes) -> None:
        """Show ``topology`` under ``modes`` from now on (as PostgreSQL has them)."""
        if topology is self._topology and modes == self._policy.modes:
            return
        self._topology = topology
        self._policy = PolicyState(topology, modes)

    def snapshot(self) -> tuple[UnitSnapshot, ...]:
        return snapshot(self._topology, self._policy, self._clock.now())

    def change_modes(self, change: ModeChange, *, actor: str, reason: str) -> ModeChangeResult:
        # The policy's refusal of a wrong change is still worth saying; an acceptable one is
        # not applied here (the API answers 503 naming the active instance first).
        result = change_modes(self._topology, self._policy.modes, change)
        if not result.accepted:
            return result
        return ModeChangeResult(False, False, self._policy.modes, NOT_ACTIVE)

    def pick(self, position_id: str, call_id: str) -> PickDecision:
        return PickDecision(False, NOT_ACTIVE)

    def node_states(self) -> dict[str, str]:
        return {}  # a standby connects to no node


class CallsInForce:
    """The ``CallControl`` the API is built on: the standby's until ``activate``, then the
    live call handling's; ready only while ``healthy()`` (every supervised service alive)."""

    def __init__(
        self, standby: StandbyCalls, *, healthy: Callable[[], bool] = lambda: True
    ) -> None:
        self.standby = standby
        self._healthy = healthy
        self._current: CallControl = standby

    def activate(self, live: CallControl) -> None:
        self._current = live

    @property
    def active(self) -> bool:
        return self._current is not self.standby

    @property
    def ready(self) -> bool:
        return self._healthy() and self._current.ready

    @property
    def topology(self) -> Topology:
        return self._current.topology

    @property
    def policy(self) -> PolicyState:
        return self._current.policy

    @property
    def stats(self) -> ServiceStats:
        return self._current.stats

    @property
    def ari_requests(self) -> int:
        return self._current.ari_requests

    def snapshot(self) -> tuple[UnitSnapshot, ...]:
        return self._current.snapshot()

    def change_modes(self, change: ModeChange, *, actor: str, reason: str) -> ModeChangeResult:
        return self._current.change_modes(change, actor=actor, reason=reason)

    def pick(self, position_id: str, call_id: str) -> PickDecision:
        return self._current.pick(position_id, call_id)

    def node_states(self) -> dict[str, str]:
        return self._current.node_states()


async def keep_standby_fresh(
    calls: CallsInForce,
    read: Callable[[], Awaitable[tuple[Topology, Modes]]],
    *,
    every_s: float = REFRESH_S,
) -> None:
    """Read the topology and modes into the standby's view until the instance is active."""
    while not calls.active:
        await asyncio.sleep(every_s)
        try:
            topology, modes = await read()
        except StoreError as error:
            log.debug("standby: topology and modes not read again: %s", error)
            continue
        calls.standby.refresh(topology, modes)
