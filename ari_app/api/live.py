"""The dashboard's live feed: server-sent events carrying the board and what changed.

One ``LiveFeed`` per application reads the board every ``tick_s`` while at least one page
listens (so its cost does not grow with the number of pages), keeps the last board and a
version number, and wakes the streams when the board changed. Each stream sends the whole
board when it opens (``event: board``: the page resynchronises on every reconnection), then
at most one ``event: patch`` per ``min_interval_s`` (1 s) holding only the units, positions,
waiting lists and flows that differ from what that page was last sent. Nothing in the board
moves by the mere passing of time (ages are computed by the page), so a quiet centre costs
nothing. A comment line every ``keepalive_s`` lets both ends notice a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from ari_app.api.activity import Activity
from ari_app.api.board import clock_speed, read_board
from ari_app.api.ports import CallControl
from ari_app.clock import Clock

log = logging.getLogger(__name__)

Keyed = dict[str, Any]
SECTIONS_BY_ID = ("units", "positions")
KEPT_VERSIONS = 64  # a page further behind than this gets the whole board again


def keyed(board: dict[str, Any]) -> Keyed:
    """The board's JSON with units and positions by id and waiting calls by unit: the form
    patches are computed on."""
    waiting: dict[str, list[dict[str, Any]]] = {u["id"]: [] for u in board["units"]}
    for call in board["waiting"]:
        waiting.setdefault(call["unit"], []).append(call)
    return {
        "at": board["at"],
        "clock_speed": board["clock_speed"],
        "units": {u["id"]: u for u in board["units"]},
        "positions": {p["id"]: p for p in board["positions"]},
        "waiting": waiting,
        "flows": board["flows"],
    }


def patch(sent: Keyed, current: Keyed) -> dict[str, Any] | None:
    """What ``current`` changes compared with ``sent``; None when nothing but the time."""
    changes: dict[str, Any] = {}
    for section in (*SECTIONS_BY_ID, "waiting"):
        before, after = sent[section], current[section]
        changed = {key: value for key, value in after.items() if before.get(key) != value}
        if changed:
            changes[section] = list(changed.values()) if section in SECTIONS_BY_ID else changed
    if sent["flows"] != current["flows"]:
        changes["flows"] = current["flows"]
    if not changes:
        return None
    return {"at": current["at"], **changes}


def event(name: str, payload: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


class LiveFeed:
    """Reads the board for every listening page; see the module's docstring."""

    def __init__(
        self,
        calls: CallControl,
        activity: Activity,
        clock: Clock,
        *,
        tick_s: float = 0.25,
        min_interval_s: float = 1.0,
        keepalive_s: float = 15.0,
        idle_sample_s: float = 5.0,
    ) -> None:
        self._calls = calls
        self._activity = activity
        self._clock = clock
        self.tick_s = tick_s
        self.min_interval_s = min_interval_s
        self.keepalive_s = keepalive_s
        self.idle_sample_s = idle_sample_s
        self.version = 0
        self._board: Keyed | None = None
        self._changed = asyncio.Event()
        self._listeners = 0
        self._someone_listens = asyncio.Event()
        self._closing = asyncio.Event()
        self._read_at = 0.0
        self._board_event: bytes | None = None
        # Boards by version (the last few), and the patches from each to the current one.
        self._boards: dict[int, Keyed] = {}
        self._patch_events: dict[int, bytes | None] = {}
        self.sent_messages = 0  # counted for the benchmark and the tests
        self.sent_bytes = 0

    @property
    def listeners(self) -> int:
        return self._listeners

    def refresh(self) -> Keyed:
        """Read the board now; wake the streams when it changed. Returns it."""
        now = self._clock.now()
        board = read_board(self._calls, self._activity, now, clock_speed(self._clock))
        self._activity.sample({u.id: u.queue_length for u in board.units}, now)
        current = keyed(board.model_dump(mode="json"))
        changed = self._board is None or patch(self._board, current) is not None
        self._board = current  # always: its time is the latest even when nothing else moved
        self._read_at = asyncio.get_running_loop().time()
        self._board_event = None
        self._patch_events.clear()
        if changed:
            self.version += 1
            self._boards[self.version] = current
            for old in [v for v in self._boards if v < self.version - KEPT_VERSIONS]:
                del self._boards[old]
            wake, self._changed = self._changed, asyncio.Event()
            wake.set()
        return current

    def _fresh_board_event(self) -> bytes:
        """The whole board as an event, read again only when older than a tick: pages
        opening together (after a restart, all of them) share one read and one encoding."""
        if self._board is None or asyncio.get_running_loop().time() - self._read_at > self.tick_s:
            self.refresh()
        if self._board_event is None:
            assert self._board is not None
            self._board_event = event("board", _unkeyed(self._board))
        return self._board_event

    def _patch_event(self, sent_version: int) -> bytes | None:
        """What changed since version ``sent_version``, as an event; pages in step share it."""
        if sent_version not in self._patch_events:
            assert self._board is not None
            sent = self._boards.get(sent_version)
            changes = patch(sent, self._board) if sent is not None else None
            if sent is None:
                changes = _unkeyed(self._board)  # too far behind: the whole board again
            self._patch_events[sent_version] = (
                None if changes is None else event("board" if sent is None else "patch", changes)
            )
        return self._patch_events[sent_version]

    async def run(self) -> None:
        """Read the board while pages listen; sample queue lengths for the chart otherwise."""
        while not self._closing.is_set():
            try:
                if self._listeners:
                    self.refresh()
                    await asyncio.sleep(self.tick_s)
                else:
                    units = self._calls.snapshot()
                    self._activity.sample(
                        {u.unit_id: u.queue_length for u in units}, self._clock.now()
                    )
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.idle_sample_s):
                            await self._someone_listens.wait()
            except Exception:
                # The feed must outlive one bad read; the pages see it as a pause.
                log.exception("live board read failed")
                await asyncio.sleep(self.tick_s)

    def close(self) -> None:
        """End every stream (the application is stopping)."""
        self._closing.set()
        self._changed.set()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Serve one page's event stream until it goes away or the application stops."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # a reverse proxy must not hold events back
            }
        )
        await response.prepare(request)
        self._listeners += 1
        self._someone_listens.set()
        loop = asyncio.get_running_loop()
        try:
            await self._write(response, self._fresh_board_event())
            sent_version = self.version
            # The board on opening is a resynchronisation, not an update: the first change
            # after it goes out at once.
            last_sent = -self.min_interval_s
            while not self._closing.is_set():
                changed = self._changed
                if self.version == sent_version:
                    try:
                        async with asyncio.timeout(self.keepalive_s):
                            await changed.wait()
                    except TimeoutError:
                        await self._write(response, b": keep-alive\n\n")
                        continue
                if self._closing.is_set():
                    break
                # At most one message a second: later changes ride on the next one.
                wait = last_sent + self.min_interval_s - loop.time()
                if wait > 0:
                    closing = asyncio.ensure_future(self._closing.wait())
                    try:
                        await asyncio.wait({closing}, timeout=wait)
                    finally:
                        closing.cancel()
                    if self._closing.is_set():
                        break
                message = self._patch_event(sent_version)
                sent_version = self.version
                if message is not None:
                    await self._write(response, message)
                    last_sent = loop.time()
        except ConnectionResetError:
            pass  # the page went away: nothing to tell anyone
        finally:
            self._listeners -= 1
            if not self._listeners:
                self._someone_listens.clear()
        return response

    async def _write(self, response: web.StreamResponse, data: bytes) -> None:
        await response.write(data)
        self.sent_messages += 1
        self.sent_bytes += len(data)


def _unkeyed(board: Keyed) -> dict[str, Any]:
    """The keyed board back in the ``Board`` model's shape (what ``event: board`` carries)."""
    return {
        "at": board["at"],
        "clock_speed": board["clock_speed"],
        "units": list(board["units"].values()),
        "positions": list(board["positions"].values()),
        "waiting": [call for calls in board["waiting"].values() for call in calls],
        "flows": board["flows"],
    }
