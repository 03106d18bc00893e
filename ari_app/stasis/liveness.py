"""When an event websocket is alive, needs a ping, or is dead: a pure rule, time passed in.

Any frame Asterisk sends (an event, a pong, a close) proves the connection alive. A ping is
sent only after ``ping_after`` seconds of silence, and again every ``ping_after`` while the
silence lasts. The connection is dead once it has been silent ``silence_limit`` seconds and
its first unanswered ping has had ``pong_timeout`` seconds: a saturated Asterisk that is
slow to pong but keeps sending events is never declared dead, and a dead one is noticed
``silence_limit`` seconds after its last frame.

The second condition matters when our own event loop stalls: a connection can look silent
for seconds because nobody read it, and it must first be asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """What the watchdog does now."""

    ALIVE = "alive"  # nothing to do until the next check
    PING = "ping"  # send a ping now
    DEAD = "dead"  # give the connection up


@dataclass(frozen=True)
class Check:
    """A verdict and the time (same clock as ``now``) of the next check."""

    verdict: Verdict
    next_at: float


class Liveness:
    """The liveness rule of one connection.

    Call ``check(heard_at, now)`` with the time of the last frame received; it returns what
    to do now and when to look again. It remembers the pings it asked for.
    """

    def __init__(self, *, ping_after: float, pong_timeout: float, silence_limit: float) -> None:
        if min(ping_after, pong_timeout, silence_limit) <= 0:
            raise ValueError("liveness delays must be positive")
        self.ping_after = ping_after
        self.pong_timeout = pong_timeout
        self.silence_limit = silence_limit
        self._first_ping: float | None = None  # first ping of the current silence
        self._last_ping: float | None = None

    def check(self, heard_at: float, now: float) -> Check:
        if self._first_ping is not None and heard_at >= self._first_ping:
            self._first_ping = self._last_ping = None  # something came: the silence ended
        if self._first_ping is not None and now >= self._dead_at(heard_at):
            return Check(Verdict.DEAD, now)
        # The first ping after ping_after of silence, then one every ping_after.
        due = (heard_at if self._last_ping is None else self._last_ping) + self.ping_after
        if now >= due:
            if self._first_ping is None:
                self._first_ping = now
            self._last_ping = now
            return Check(Verdict.PING, self._next_at(heard_at, now))
        return Check(Verdict.ALIVE, self._next_at(heard_at, now))

    def _dead_at(self, heard_at: float) -> float:
        assert self._first_ping is not None
        return max(heard_at + self.silence_limit, self._first_ping + self.pong_timeout)

    def _next_at(self, heard_at: float, now: float) -> float:
        if self._last_ping is None:
            return max(now, heard_at + self.ping_after)
        return max(now, min(self._last_ping + self.ping_after, self._dead_at(heard_at)))
