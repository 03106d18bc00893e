"""Everything an ``EventStream`` yields, kept in arrival order, with waits on what a test expects.

A background task consumes the stream the way the application's dispatcher does; tests
look at ``items`` and wait for an item with a deadline instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from ari_app.stasis import Channel, EventStream, Playback, StreamItem

WAIT_S = 5.0

T = TypeVar("T")


def _always(_item: object) -> bool:
    return True


def channel_id_of(item: object) -> str | None:
    """The id of the channel an event is about (``channel``, or ``peer`` for ``Dial``)."""
    for name in ("channel", "peer"):
        channel = getattr(item, name, None)
        if isinstance(channel, Channel):
            return channel.id
    return None


def about(channel_id: str) -> Callable[[object], bool]:
    """A ``where`` for ``wait_for``: the event is about channel ``channel_id``."""
    return lambda item: channel_id_of(item) == channel_id


def playback_id_of(item: object) -> str | None:
    playback = getattr(item, "playback", None)
    return playback.id if isinstance(playback, Playback) else None


def describe(item: object) -> str:
    """A short label for failure messages: the type and the channel or playback concerned."""
    label = getattr(item, "type", type(item).__name__)
    subject = channel_id_of(item) or playback_id_of(item)
    return f"{label}({subject})" if subject else str(label)


class EventRecorder:
    """Consumes ``stream`` in a background task; ``items`` grows in the order received."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.items: list[StreamItem] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.stream.start()
        self._task = asyncio.create_task(self._consume(), name="test-event-recorder")

    async def _consume(self) -> None:
        async for item in self.stream:
            async with self._changed:
                self.items.append(item)
                self._changed.notify_all()

    async def close(self) -> None:
        await self.stream.close()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 5.0)

    def mark(self) -> int:
        """The index the next item will have: pass it as ``after`` to look only at what follows."""
        return len(self.items)

    def position(self, item: object) -> int:
        """Where ``item`` (this very object) is in ``items``."""
        return next(i for i, seen in enumerate(self.items) if seen is item)

    def since(self, after: int) -> list[StreamItem]:
        return self.items[after:]

    def find(
        self, kind: type[T], where: Callable[[T], bool] = _always, *, after: int = 0
    ) -> list[T]:
        """Every item of ``kind`` matching ``where`` received from index ``after`` on."""
        return [item for item in self.items[after:] if isinstance(item, kind) and where(item)]

    async def wait_for(
        self,
        kind: type[T],
        where: Callable[[T], bool] = _always,
        *,
        after: int = 0,
        within: float = WAIT_S,
    ) -> T:
        """The first item of ``kind`` matching ``where`` from index ``after``; waits for it
        up to ``within`` seconds, then fails the test naming what came instead."""

        def first() -> T | None:
            found = self.find(kind, where, after=after)
            return found[0] if found else None

        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(lambda: first() is not None)
        except TimeoutError:
            last = ", ".join(
                describe(item) for item in self.items[max(after, len(self.items) - 12) :]
            )
            raise AssertionError(
                f"no {kind.__name__} as expected within {within:g} s; received since: [{last}]"
            ) from None
        result = first()
        assert result is not None
        return result

    def about_channel(self, channel_id: str, *, after: int = 0) -> list[StreamItem]:
        """The events about one channel, in order."""
        return [item for item in self.items[after:] if channel_id_of(item) == channel_id]

    def types_about_channel(self, channel_id: str, *, after: int = 0) -> list[str]:
        return [
            str(getattr(item, "type", "")) for item in self.about_channel(channel_id, after=after)
        ]
