"""How many ARI requests may be in flight: an adaptive limit that backs off a saturated Asterisk.

Past its capacity Asterisk answers requests seconds late; a client that keeps every request
it has in flight (and retries those that time out on new connections) only deepens the
queue, until Asterisk refuses HTTP sessions. ``AdaptiveLimit`` is the rule, with time passed
in: additive increase while answers come quickly, none while they come slowly,
multiplicative decrease when none comes (a timeout, a refused or broken connection), at most
once per ``cooldown`` (one bad spell is one signal, not fifty). Slow answers alone do not
shrink it: on the bench they came from Asterisk's SIP load, not from our requests, and a
limit shrunk to a handful starved the calls (answers 1-2 s late, four at a time).
``RequestGate`` applies it to the requests of one client, first come first served, except
that requests releasing Asterisk's resources (hang up, destroy a bridge, hand a caller back
to the dialplan) go before those creating work: under pressure, ending calls and handing
them to the dialplan's fallback is what brings Asterisk back. A request that got no answer
keeps its slot a while longer, because Asterisk is likely still working on it and still
holds its HTTP session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("ari_app.stasis.rest")


class AdaptiveLimit:
    """The number of requests allowed in flight, between ``minimum`` (a quarter of
    ``maximum`` unless given) and ``maximum``.

    Starts open (``maximum``): a healthy Asterisk is never throttled. A request without
    answer (timeout, refused or broken connection) multiplies the limit by
    ``failure_ratio``; an answer within ``slow_after`` seconds adds ``1 / limit`` (about one
    more request per round of answers), a slower one adds nothing.
    """

    def __init__(
        self,
        maximum: int,
        *,
        minimum: int | None = None,
        slow_after: float = 1.0,
        failure_ratio: float = 0.5,
        cooldown: float = 1.0,
    ) -> None:
        if maximum < 1:
            raise ValueError("the ARI request limit needs at least one request")
        if not 0 < failure_ratio <= 1:
            raise ValueError("the ARI request limit's decrease ratio must be in (0, 1]")
        if slow_after <= 0 or cooldown < 0:
            raise ValueError("slow_after must be positive and cooldown not negative")
        self.maximum = maximum
        floor = max(4, maximum // 4) if minimum is None else minimum
        self.minimum = min(max(1, floor), maximum)
        self.slow_after = slow_after
        self.failure_ratio = failure_ratio
        self.cooldown = cooldown
        self._limit = float(maximum)
        self._decreased_at: float | None = None

    @property
    def allowed(self) -> int:
        """Requests that may be in flight now."""
        return max(self.minimum, int(self._limit))

    @property
    def backing_off(self) -> bool:
        return self.allowed < self.maximum

    def answered(self, latency: float, now: float) -> None:
        """A request was answered (any status) after ``latency`` seconds, at ``now``."""
        if latency <= self.slow_after:
            self._limit = min(float(self.maximum), self._limit + 1.0 / self._limit)

    def failed(self, now: float) -> None:
        """A request got no answer (timeout, connection refused or broken), at ``now``."""
        if self._decreased_at is not None and now - self._decreased_at < self.cooldown:
            return
        self._decreased_at = now
        self._limit = max(float(self.minimum), self._limit * self.failure_ratio)


class GateTimeout(Exception):
    """A request waited too long for its turn; it was not sent."""


class RequestGate:
    """Lets requests through while fewer than ``limit.allowed`` are in flight, in order."""

    def __init__(self, limit: AdaptiveLimit, *, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._in_flight = 0
        self._held = 0  # slots kept by requests that got no answer
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._urgent: deque[asyncio.Future[None]] = deque()  # releasing work: served first
        self._was_backing_off = False

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet, counting those given up but held."""
        return self._in_flight + self._held

    @property
    def waiting(self) -> int:
        return len(self._waiters) + len(self._urgent)

    async def acquire(self, within: float, *, urgent: bool = False) -> None:
        """Wait for a slot, at most ``within`` seconds (then ``GateTimeout``); an ``urgent``
        request (one that releases Asterisk's resources) overtakes the others."""
        queue = self._urgent if urgent else self._waiters
        if not queue and (urgent or not self._urgent) and self.in_flight < self.limit.allowed:
            self._in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            async with asyncio.timeout(within):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self._release_slot()  # woken at the moment it gave up: pass the slot on
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            if isinstance(error, TimeoutError):
                raise GateTimeout from None
            raise
        # Whoever woke this request counted its slot.

    def answered(self, latency: float) -> None:
        """The request holding a slot was answered after ``latency`` seconds."""
        self.limit.answered(latency, self._clock())
        self._release_slot()

    def failed(self, *, hold_s: float = 0.0) -> None:
        """The request holding a slot got no answer; keep its slot ``hold_s`` more seconds."""
        self.limit.failed(self._clock())
        if hold_s > 0:
            self._in_flight -= 1
            self._held += 1
            asyncio.get_running_loop().call_later(hold_s, self._release_held)
            self._report()
        else:
            self._release_slot()

    def cancelled(self) -> None:
        """The request holding a slot was abandoned by its caller, sent or not."""
        self._release_slot()

    def _release_held(self) -> None:
        self._held -= 1
        self._in_flight += 1
        self._release_slot()

    def _release_slot(self) -> None:
        self._in_flight -= 1
        while self.in_flight < self.limit.allowed and (self._urgent or self._waiters):
            waiter = (self._urgent or self._waiters).popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)
        self._report()

    def _report(self) -> None:
        backing_off = self.limit.backing_off
        if backing_off == self._was_backing_off:
            return
        self._was_backing_off = backing_off
        if backing_off:
            log.warning(
                "Asterisk leaves requests unanswered: fewer ARI requests at once until it recovers",
                extra={"allowed": self.limit.allowed, "waiting": self.waiting},
            )
        else:
            log.info(
                "Asterisk answers quickly again: ARI requests no longer held back",
                extra={"allowed": self.limit.allowed},
            )
