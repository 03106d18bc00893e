"""Replays a reference trace against the emulator and compares what comes back.

The REST lines of the trace are sent again (ids substituted, same auth), the
scenario's SIP-side actions (a caller calling or hanging up, a position
registering, a websocket closed or reopened) run through the control API at the
same step, and the events received on the websockets are compared with the
trace's, in order:

* same event types in the same order, same keys, same values for everything but
  ids, timestamps and durations; ids are compared through a one-to-one map
  (a trace id always stands for the same emulator id), shaped alike
  (``<epoch>.<n>``, uuid, or the client's own);
* where Asterisk's own order varies between runs (``Dial`` vs
  ``ChannelStateChange``, endpoint/device-state events, the two
  ``ChannelConnectedLine`` of a bridge) consecutive events of those types less
  than 20 ms apart form a group compared as a multiset;
* ``ChannelVarset`` events are left out (not emulated);
* REST: same status, reason phrase, body, and ``Location``/``Allow``/
  ``WWW-Authenticate`` headers; endpoint lists are compared sorted.

Before sending a REST line the replay waits for the trace events that arrived
before that request was sent; before an action, for all events above it. At the
end a sentinel call proves that no extra event arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from ari_app.sim import Emulator
from tests.sim.lab import LAB_APP, LAB_PASSWORD, LAB_USER, basic_auth

UNORDERED_TYPES = {
    "Dial",
    "ChannelStateChange",
    "EndpointStateChange",
    "PeerStatusChange",
    "ContactStatusChange",
    "DeviceStateChanged",
    "ChannelConnectedLine",
}
GROUP_WINDOW_S = 0.020
# A channel's state before a ChannelStateChange to the key: a Dial next to that change may
# show either, depending on which Asterisk published first.
PREVIOUS_STATE = {"Ringing": "Down", "Up": "Ringing"}
# Asterisk computes device states on a task queue of their own: their events come in their
# own order but anywhere among the channel events around them (two runs of trace f
# differed by 75 ms). They are compared with each other, in order, apart from the rest.
DETACHED_TYPES = {"DeviceStateChanged"}
WAIT_S = 10.0
SENTINEL_KEY = "999000"  # a routing key no trace uses

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
UNIQUE_ID = re.compile(r"^\d+\.\d+$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
COUNTED_NAME = re.compile(r"^(?P<base>[^/]+/.+)-(?P<n>[0-9a-f]{8})(?P<half>;[12])?$")
ENTITY_ID = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

ID_KEYS = {"id"}
ID_LIST_KEYS = {"channels", "channel_ids", "bridge_ids"}
TIME_KEYS = {"timestamp", "creationtime", "startup_time", "last_reload_time"}
# Values that depend on the machine or on elapsed real time: only their type is compared.
# The version and build options of /asterisk/info are the emulated Asterisk's (master); a
# sound's formats are the sound packages installed on the machine; a module's use count
# depends on which other modules that build has.
VOLATILE_KEYS = {
    "duration",
    "kernel",
    "os",
    "machine",
    "user",
    "date",
    "options",
    "version",
    "formats",
    "use_count",
}
# A position's contact carries the port its phone registered from (chosen free in a lab).
CONTACT_URI = re.compile(r"^(?P<base>sip:[^@]+@[\d.]+):\d+$")
# The answer to a play request shows the playback queued, or already playing when Asterisk
# started it before answering: that differs from run to run (two plays of one recording).
PLAY_STATES = {"queued", "playing"}


class TraceMismatch(AssertionError):
    """The emulator answered differently from the real Asterisk of the trace."""


def _parse_ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class IdMap:
    """A one-to-one map from trace ids to emulator ids, with shape checks."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self._reverse: dict[str, str] = {}

    def bind(self, trace_id: str, emu_id: str, where: str) -> None:
        for shape in (UNIQUE_ID, UUID):
            if shape.match(trace_id) and not shape.match(emu_id):
                raise TraceMismatch(f"{where}: id {emu_id!r} is not shaped like {trace_id!r}")
        if not UNIQUE_ID.match(trace_id) and not UUID.match(trace_id) and trace_id != emu_id:
            raise TraceMismatch(f"{where}: expected id {trace_id!r}, got {emu_id!r}")
        known = self.forward.get(trace_id)
        if known is not None and known != emu_id:
            raise TraceMismatch(
                f"{where}: trace id {trace_id} stood for {known}, now {emu_id} appears"
            )
        owner = self._reverse.get(emu_id)
        if owner is not None and owner != trace_id:
            raise TraceMismatch(f"{where}: emulator id {emu_id} stands for {owner} and {trace_id}")
        self.forward[trace_id] = emu_id
        self._reverse[emu_id] = trace_id

    def substitute(self, value: str) -> str:
        if value in self.forward:
            return self.forward[value]
        scheme, sep, rest = value.partition(":")
        if sep and rest in self.forward:
            return f"{scheme}:{self.forward[rest]}"
        return value


class Comparer:
    def __init__(self, ids: IdMap) -> None:
        self.ids = ids

    def compare(self, expected: Any, actual: Any, where: str) -> None:
        if isinstance(expected, dict):
            if not isinstance(actual, dict):
                raise TraceMismatch(f"{where}: expected an object, got {actual!r}")
            missing, extra = set(expected) - set(actual), set(actual) - set(expected)
            if missing or extra:
                raise TraceMismatch(
                    f"{where}: keys differ (missing {sorted(missing)}, unexpected {sorted(extra)})"
                )
            for key, value in expected.items():
                self.field(key, value, actual[key], f"{where}.{key}")
        elif isinstance(expected, list):
            if not isinstance(actual, list) or len(actual) != len(expected):
                raise TraceMismatch(f"{where}: expected {expected!r}, got {actual!r}")
            for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
                self.compare(e, a, f"{where}[{index}]")
        elif expected != actual or type(expected) is not type(actual):
            raise TraceMismatch(f"{where}: expected {expected!r}, got {actual!r}")

    def field(self, key: str, expected: Any, actual: Any, where: str) -> None:
        if key in ID_KEYS and isinstance(expected, str) and isinstance(actual, str):
            self.ids.bind(expected, actual, where)
        elif key in ID_LIST_KEYS and isinstance(expected, list):
            if not isinstance(actual, list) or len(actual) != len(expected):
                raise TraceMismatch(f"{where}: expected {len(expected)} ids, got {actual!r}")
            for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
                self.ids.bind(e, a, f"{where}[{index}]")
        elif key == "target_uri" and isinstance(expected, str) and isinstance(actual, str):
            scheme, _, target = expected.partition(":")
            got_scheme, _, got_target = actual.partition(":")
            if scheme != got_scheme:
                raise TraceMismatch(f"{where}: expected {expected!r}, got {actual!r}")
            self.ids.bind(target, got_target, where)
        elif key in TIME_KEYS:
            if not (isinstance(actual, str) and TIMESTAMP.match(actual)):
                raise TraceMismatch(f"{where}: {actual!r} is not an ARI timestamp")
        elif key in ("asterisk_id", "entity_id"):
            if not (isinstance(actual, str) and ENTITY_ID.match(actual)):
                raise TraceMismatch(f"{where}: {actual!r} is not an Asterisk entity id")
        elif key == "uri" and isinstance(expected, str) and CONTACT_URI.match(expected):
            self._contact_uri(expected, actual, where)
        elif key == "protocol_id":
            self._protocol_id(expected, actual, where)
        elif key == "name" and isinstance(expected, str) and COUNTED_NAME.match(expected):
            self._channel_name(expected, actual, where)
        elif key in VOLATILE_KEYS:
            if type(expected) is not type(actual):
                raise TraceMismatch(f"{where}: expected a {type(expected).__name__}: {actual!r}")
        else:
            self.compare(expected, actual, where)

    @staticmethod
    def _contact_uri(expected: str, actual: Any, where: str) -> None:
        want = CONTACT_URI.match(expected)
        got = CONTACT_URI.match(actual) if isinstance(actual, str) else None
        if want is None or got is None or want["base"] != got["base"]:
            raise TraceMismatch(f"{where}: expected a contact like {expected!r}, got {actual!r}")

    @staticmethod
    def _protocol_id(expected: Any, actual: Any, where: str) -> None:
        if not isinstance(actual, str) or bool(expected) != bool(actual):
            raise TraceMismatch(f"{where}: expected a value like {expected!r}, got {actual!r}")
        if UUID.match(expected) and not UUID.match(actual):
            raise TraceMismatch(f"{where}: expected a uuid, got {actual!r}")
        if "@" in expected and "@" not in actual:
            raise TraceMismatch(f"{where}: expected a SIP Call-ID, got {actual!r}")

    @staticmethod
    def _channel_name(expected: str, actual: Any, where: str) -> None:
        want = COUNTED_NAME.match(expected)
        got = COUNTED_NAME.match(actual) if isinstance(actual, str) else None
        if (
            want is None
            or got is None
            or (want["base"], want["half"])
            != (
                got["base"],
                got["half"],
            )
        ):
            raise TraceMismatch(f"{where}: expected a name like {expected!r}, got {actual!r}")


def group_events(events: Sequence[dict[str, Any]]) -> list[list[int]]:
    """Indices of ``events`` in comparison groups: runs of unordered types close in time."""
    groups: list[list[int]] = []
    for index, line in enumerate(events):
        if groups and line["type"] in UNORDERED_TYPES:
            previous = groups[-1]
            first = events[previous[0]]
            if first["type"] in UNORDERED_TYPES and (
                _parse_ts(line["ts"]) - _parse_ts(first["ts"]) <= GROUP_WINDOW_S
            ):
                previous.append(index)
                continue
        groups.append([index])
    return groups


def _channel_order(channel: dict[str, Any]) -> tuple[str, str]:
    match = COUNTED_NAME.match(str(channel.get("name", "")))
    return (match["base"], match["half"] or "") if match else (str(channel.get("name")), "")


def _sort_key(event: dict[str, Any]) -> str:
    """Orders a multiset group without looking at ids, times or a Dial's peer state."""
    if event.get("type") == "Dial":
        event = {**event, "peer": {k: v for k, v in event["peer"].items() if k != "state"}}

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if k not in ID_KEYS | ID_LIST_KEYS | TIME_KEYS | {"protocol_id", "creationtime"}
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, str):
            match = COUNTED_NAME.match(value)
            return f"{match['base']}{match['half'] or ''}" if match else value
        return value

    return json.dumps(strip(event), sort_keys=True)


Action = Callable[["Replay"], Awaitable[None]]


@dataclass(frozen=True)
class At:
    """Where an action happens in a trace, whichever recording: before the first line of
    each run of steps whose label starts with ``step`` (and, with ``event``, before the
    first event of that type in the run)."""

    step: str
    event: str | None = None


@dataclass(frozen=True)
class Scenario:
    letter: str
    actions: Mapping[At, Sequence[Action]] = field(default_factory=dict)
    speed: float = 10.0


class Replay:
    def __init__(
        self,
        emu: Emulator,
        session: aiohttp.ClientSession,
        lines: list[dict[str, Any]],
        scenario: Scenario,
    ) -> None:
        self.emu = emu
        self.session = session
        self.scenario = scenario
        self.lines = [line for line in lines if line.get("type") != "ChannelVarset"]
        self.events = [
            line
            for line in self.lines
            if line["kind"] == "event" and line["type"] not in DETACHED_TYPES
        ]
        self.detached = [line for line in self.lines if line.get("type") in DETACHED_TYPES]
        self.received_detached: list[tuple[int, dict[str, Any]]] = []
        self.groups = group_events(self.events)
        self.ids = IdMap()
        self.comparer = Comparer(self.ids)
        self.received: list[tuple[int, dict[str, Any]]] = []
        # The carrier's calls placed by the scenario's actions, oldest first.
        self.callers: list[str] = []
        self._arrived = asyncio.Event()
        self._matched_groups = 0
        self._matched_events = 0
        self._connection = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    # Websocket --------------------------------------------------------------------------

    async def open_ws(self) -> None:
        self._connection += 1
        number = self._connection
        root = self.emu.base_url.replace("http://", "ws://")
        url = f"{root}/events?app={LAB_APP}&api_key={LAB_USER}:{LAB_PASSWORD}"
        ws = await self.session.ws_connect(url)
        self._ws = ws

        async def read() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    event = json.loads(message.data)
                    if event.get("type") in DETACHED_TYPES:
                        self.received_detached.append((number, event))
                    else:
                        self.received.append((number, event))
                    self._arrived.set()

        self._reader = asyncio.create_task(read())
        # Events flow once the server has bound the application to this connection.
        await self._until(lambda: _bound(self.emu), "the websocket to be registered")

    async def close_ws(self) -> None:
        ws, reader = self._ws, self._reader
        self._ws = self._reader = None
        if ws is not None:
            await ws.close()
        if reader is not None:
            await reader
        await self._until(lambda: not _bound(self.emu), "the websocket to close server side")

    async def _until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise TraceMismatch(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)  # sync-ok: polling interval of an awaited condition

    # Events ---------------------------------------------------------------------------

    async def _wait_received(self, count: int, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while len(self.received) < count:
            self._arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TraceMismatch(self._describe_missing(count, what))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def _describe_missing(self, count: int, what: str) -> str:
        expected = [self._brief(line["event"]) for line in self.events[len(self.received) : count]]
        return (
            f"trace {self.scenario.letter}: {what}: still waiting for {expected} "
            f"after {[self._brief(e) for _, e in self.received[-5:]]}"
        )

    @staticmethod
    def _brief(event: dict[str, Any]) -> str:
        detail = (event.get("channel") or event.get("peer") or {}).get("name", "")
        return f"{event['type']}({detail})" if detail else event["type"]

    async def match_events(self, ready: Callable[[int], bool], what: str) -> None:
        """Match, in order, the trace groups all of whose events satisfy ``ready(index)``."""
        while self._matched_groups < len(self.groups):
            group = self.groups[self._matched_groups]
            if not all(ready(i) for i in group):
                return
            end = self._matched_events + len(group)
            await self._wait_received(end, what)
            self._compare_group(group, self.received[self._matched_events : end])
            self._matched_groups += 1
            self._matched_events = end

    def _compare_group(self, group: list[int], got: list[tuple[int, dict[str, Any]]]) -> None:
        expected = [self.events[i] for i in group]
        # A Dial event's peer snapshot shows the state before or after the neighbouring
        # ChannelStateChange, whichever came first in that run.
        changed = {
            line["event"]["channel"]["state"]
            for line in expected
            if line["type"] == "ChannelStateChange"
        }
        states = changed | {PREVIOUS_STATE[state] for state in changed if state in PREVIOUS_STATE}
        if len(group) > 1:
            expected = sorted(expected, key=lambda line: _sort_key(line["event"]))
            got = sorted(got, key=lambda pair: _sort_key(pair[1]))
        for original, (connection, event) in zip(expected, got, strict=True):
            line = original
            if line["type"] == "Dial" and event.get("type") == "Dial" and len(group) > 1:
                state = event.get("peer", {}).get("state")
                if state in states | {line["event"]["peer"]["state"]}:
                    peer = {**line["event"]["peer"], "state": state}
                    line = {**line, "event": {**line["event"], "peer": peer}}
            where = f"trace {self.scenario.letter} seq {line['seq']} {line['type']}"
            if event["type"] != line["type"]:
                raise TraceMismatch(
                    f"{where}: got {self._brief(event)} instead "
                    f"(group {[self.events[i]['type'] for i in group]})"
                )
            if connection != line["ws_conn"]:
                raise TraceMismatch(
                    f"{where}: arrived on connection {connection}, not {line['ws_conn']}"
                )
            self.comparer.compare(line["event"], event, where)

    # REST -------------------------------------------------------------------------------

    def _auth(self, line: dict[str, Any]) -> dict[str, str]:
        user = line["auth_user"]
        if user is None:
            return {}
        if user == LAB_USER:
            # The trace does not record passwords; its 401 for ariuser was a wrong one.
            password = "wrong-password" if line["status"] == 401 else LAB_PASSWORD
            return basic_auth(user, password)
        return basic_auth(user, "whatever")

    async def rest(self, line: dict[str, Any]) -> None:
        where = f"trace {self.scenario.letter} seq {line['seq']} {line['method']} {line['path']}"
        path = "/".join(self.ids.substitute(s) for s in line["path"].split("/"))
        query = {k: self.ids.substitute(v) for k, v in (line["query"] or {}).items()}
        root = self.emu.base_url.removesuffix("/ari")
        async with self.session.request(
            line["method"], root + path, params=query, headers=self._auth(line)
        ) as response:
            text = await response.text()
            status, reason = response.status, response.reason
            content_type = response.content_type if text else None
            headers = dict(response.headers)
        if (status, reason) != (line["status"], line["reason"]):
            raise TraceMismatch(
                f"{where}: got {status} {reason} {text[:300]}, "
                f"expected {line['status']} {line['reason']} {line['response']}"
            )
        if content_type != line["content_type"]:
            raise TraceMismatch(f"{where}: content type {content_type}, not {line['content_type']}")
        body = json.loads(text) if text else None
        expected = line["response"]
        if line["path"] in ("/ari/endpoints", "/ari/endpoints/PJSIP") and isinstance(body, list):
            expected = sorted(expected, key=lambda e: e["resource"])
            body = sorted(body, key=lambda e: e["resource"])
        if line["path"] == "/ari/channels" and line["method"] == "GET" and isinstance(body, list):
            # Asterisk lists channels in hash order.
            expected = sorted(expected, key=_channel_order)
            body = sorted(body, key=_channel_order)
        if (
            line["method"] == "POST"
            and line["path"].endswith("/play")
            and isinstance(body, dict)
            and {body.get("state"), expected.get("state")} <= PLAY_STATES
        ):
            expected = {**expected, "state": body["state"]}
        self.comparer.compare(expected, body, f"{where} response")
        for name, value in (line.get("response_headers") or {}).items():
            got = headers.get(name)
            if name == "Location" and got is not None:
                want_base, _, want_id = value.rpartition("/")
                got_base, _, got_id = got.rpartition("/")
                if want_base != got_base:
                    raise TraceMismatch(f"{where}: Location {got!r}, expected like {value!r}")
                self.ids.bind(want_id, got_id, f"{where} Location")
            elif got != value:
                raise TraceMismatch(f"{where}: header {name} is {got!r}, expected {value!r}")

    # The whole trace --------------------------------------------------------------------

    async def run(self) -> None:
        await self.open_ws()
        position = {id(line): index for index, line in enumerate(self.events)}
        seen_events = 0
        armed = set(self.scenario.actions)
        for line in self.lines:
            for at, actions in self.scenario.actions.items():
                if not line["step"].startswith(at.step):
                    armed.add(at)
                    continue
                if at not in armed or (at.event is not None and line.get("type") != at.event):
                    continue
                armed.discard(at)
                for action in actions:
                    await self.match_events(_earlier(seen_events), f"before seq {line['seq']}")
                    await action(self)
            if line.get("type") in DETACHED_TYPES:
                continue
            if line["kind"] == "event":
                seen_events = position[id(line)] + 1
                continue
            await self.match_events(
                _earlier(seen_events, self.events, _parse_ts(line["request_ts"])),
                f"before seq {line['seq']}",
            )
            await self.rest(line)
        await self.match_events(lambda i: True, "at the end of the trace")
        await self._match_detached()
        await self._sentinel()

    async def _match_detached(self) -> None:
        """The detached events, in their own order, once all have arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while len(self.received_detached) < len(self.detached):
            if loop.time() > deadline:
                got = [self._brief(e) for _, e in self.received_detached]
                raise TraceMismatch(
                    f"trace {self.scenario.letter}: {len(self.detached)} device state events "
                    f"expected, got {got}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
        for line, (connection, event) in zip(self.detached, self.received_detached, strict=False):
            where = f"trace {self.scenario.letter} seq {line['seq']} {line['type']}"
            if connection != line["ws_conn"]:
                raise TraceMismatch(
                    f"{where}: arrived on connection {connection}, not {line['ws_conn']}"
                )
            self.comparer.compare(line["event"], event, where)

    async def _sentinel(self) -> None:
        """A last call proves no unexpected event arrived after the trace's last one."""
        count = len(self.received)
        if len(self.received_detached) > len(self.detached):
            extra = [self._brief(e) for _, e in self.received_detached[len(self.detached) :]]
            raise TraceMismatch(f"trace {self.scenario.letter}: unexpected events {extra}")
        if count != self._matched_events:
            extra = [self._brief(e) for _, e in self.received[self._matched_events :]]
            raise TraceMismatch(f"trace {self.scenario.letter}: unexpected events {extra}")
        handle = await self.emu.place_call(SENTINEL_KEY, "0600000000")
        await self._wait_received(count + 1, "the sentinel call")
        _, event = self.received[count]
        if event["type"] != "StasisStart" or event.get("args") != [SENTINEL_KEY]:
            raise TraceMismatch(
                f"trace {self.scenario.letter}: unexpected event {self._brief(event)} "
                "after the last one of the trace"
            )
        await self.emu.hang_up_caller(handle.channel_id)

    async def aclose(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader


def _earlier(
    count: int, events: Sequence[dict[str, Any]] = (), sent: float | None = None
) -> Callable[[int], bool]:
    """Trace events above the current line, and (for a request) arrived before it was sent."""

    def ready(index: int) -> bool:
        if index >= count:
            return False
        return sent is None or _parse_ts(events[index]["ts"]) < sent

    return ready


def _bound(emu: Emulator) -> bool:
    app = emu.pbx.apps.get(LAB_APP)
    return app is not None and app.sink is not None
