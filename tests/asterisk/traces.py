"""Recording ARI traces from a real Asterisk, in the format of tests/ari-reference/traces.

A ``TraceRecorder`` is the client of one scenario: it sends REST requests and holds the
event websocket, and writes one line per response and per event, in the order they
arrived (format: tests/ari-reference/README.md). The scenarios a to n are the reference
ones, with the same steps, requests and step labels, played against the lab
configuration (tests/asterisk/lab) with the bed's sipp peers as carrier and positions.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests import waiting
from tests.asterisk.bed import (
    LAB_APP,
    LAB_PASSWORD,
    LAB_USER,
    AsteriskNode,
    SipPeers,
    SippProcess,
)

WAIT_S = 15.0
HEADERS_KEPT = ("WWW-Authenticate", "Allow", "Location")
OPERATOR_CALLER_ID = '"Appel 18" <0612345678>'
HOLD_FOREVER_S = 600.0


class RecordingFailed(AssertionError):
    """Asterisk did not do what the scenario waits for."""


def _now() -> datetime:
    return datetime.now(UTC)


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class TraceRecorder:
    """One scenario's client: REST requests and event websockets, each line recorded."""

    def __init__(self, node: AsteriskNode, session: aiohttp.ClientSession) -> None:
        self.node = node
        self.session = session
        self.lines: list[dict[str, Any]] = []
        self.step = ""
        self._started = time.monotonic()
        self._arrived = asyncio.Event()
        self._connections = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    def _line(self, kind: str, **fields: Any) -> dict[str, Any]:
        line = {
            "seq": len(self.lines) + 1,
            "kind": kind,
            "ts": _now().isoformat(),
            "t": round(time.monotonic() - self._started, 6),
            "step": self.step,
            **fields,
        }
        self.lines.append(line)
        self._arrived.set()
        return line

    # -- websocket ----------------------------------------------------------------------

    async def open_ws(self) -> None:
        self._connections += 1
        number = self._connections
        url = (
            f"ws://127.0.0.1:{self.node.http_port}/ari/events"
            f"?app={LAB_APP}&api_key={LAB_USER}:{LAB_PASSWORD}"
        )
        ws = await self.session.ws_connect(url)
        self._ws = ws

        async def read() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    event = json.loads(message.data)
                    self._line("event", ws_conn=number, type=event["type"], event=event)

        self._reader = asyncio.create_task(read(), name=f"trace-ws-{number}")

    async def close_ws(self) -> None:
        ws, reader = self._ws, self._reader
        self._ws = self._reader = None
        if ws is not None:
            await ws.close()
        if reader is not None:
            await reader

    # -- REST -----------------------------------------------------------------------------

    async def rest(
        self,
        method: str,
        path: str,
        *,
        user: str | None = LAB_USER,
        password: str = LAB_PASSWORD,
        **query: str,
    ) -> Any:
        """Send one request (parameters in the query string, as in the reference), record
        its answer, return the parsed body."""
        headers = _basic(user, password) if user is not None else {}
        sent = _now()
        began = time.monotonic()
        async with self.session.request(
            method, f"{self.node.ari_url}{path}", params=query, headers=headers
        ) as answer:
            text = await answer.text()
            elapsed = (time.monotonic() - began) * 1000
            body = json.loads(text) if text else None
            kept = {name: answer.headers[name] for name in HEADERS_KEPT if name in answer.headers}
            fields: dict[str, Any] = {
                "method": method,
                "path": f"/ari{path}",
                "query": dict(query),
                "body": None,
                "auth_user": user,
                "status": answer.status,
                "reason": answer.reason,
                "content_type": answer.content_type if text else None,
                "response": body,
            }
            if kept:
                fields["response_headers"] = kept
            fields["request_ts"] = sent.isoformat()
            fields["elapsed_ms"] = round(elapsed, 3)
            self._line("rest", **fields)
        return body

    async def peek(self, path: str) -> Any:
        """A read the trace does not record: polling Asterisk for a state it sends no event
        about (a dialplan channel answering, a channel gone)."""
        async with self.session.get(
            f"{self.node.ari_url}{path}", headers=_basic(LAB_USER, LAB_PASSWORD)
        ) as answer:
            return await answer.json() if answer.status == 200 else None

    # -- waiting --------------------------------------------------------------------------

    def mark(self) -> int:
        return len(self.lines)

    async def event(
        self,
        event_type: str,
        where: Callable[[dict[str, Any]], bool] = lambda event: True,
        *,
        after: int = 0,
        count: int = 1,
        within: float = WAIT_S,
    ) -> dict[str, Any]:
        """The ``count``-th event of ``event_type`` matching ``where`` recorded from line
        ``after`` on, awaited."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            found: list[dict[str, Any]] = [
                line["event"]
                for line in self.lines[after:]
                if line["kind"] == "event" and line["type"] == event_type and where(line["event"])
            ]
            if len(found) >= count:
                return found[count - 1]
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [line.get("type") or line["path"] for line in self.lines[after:]][-10:]
                raise RecordingFailed(
                    f"step {self.step!r}: no {event_type} (#{count}) within {within:g} s; "
                    f"recorded since: {seen}"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                continue

    async def until(self, probe: Callable[[], Awaitable[bool]], what: str) -> None:
        try:
            await waiting.wait_until(probe, within=WAIT_S, what=what, interval=0.05)
        except AssertionError:
            raise RecordingFailed(f"step {self.step!r}: timed out waiting for {what}") from None

    async def observe(self, seconds: float) -> None:
        """Let time pass with the websocket open: part of the scenario (talk time, a
        recording's length) or a window in which late events would show up."""
        await asyncio.sleep(seconds)  # sync-ok: the scenario's own duration

    async def aclose(self) -> None:
        await self.close_ws()


def _of(channel_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: (event.get("channel") or event.get("peer") or {}).get("id") == channel_id


def _caller(event: dict[str, Any]) -> bool:
    return str(event["channel"]["name"]).startswith("PJSIP/carrier-")


@dataclass
class Lab:
    """The Asterisk with the lab configuration, and its SIP peers."""

    node: AsteriskNode
    peers: SipPeers
    calls: list[SippProcess] = field(default_factory=list)

    async def start_positions(self) -> None:
        """The positions as in the reference: sdis77-op1 answers after 1 s, sdis77-op2 is
        busy, sdis83-op1 never answers, sdis83-op2 is not registered."""
        await self.peers.position("sdis77-op1", "answer", ring_ms=1000)
        await self.peers.position("sdis77-op2", "busy")
        await self.peers.position("sdis83-op1", "noanswer")
        await self.peers.position("sdis83-op2", "unregistered")

    async def call(self, *, hold_s: float = HOLD_FOREVER_S, dtmf: bool = False) -> SippProcess:
        sipp = await self.peers.call("18", dialled="18", hold_s=hold_s, dtmf=dtmf)
        self.calls.append(sipp)
        return sipp


Scenario = Callable[[TraceRecorder, Lab], Awaitable[None]]


# -- building blocks shared by scenarios ---------------------------------------------------


async def _carrier_calls(
    r: TraceRecorder, lab: Lab, how: str, *, hold_s: float = HOLD_FOREVER_S, dtmf: bool = False
) -> str:
    r.step = f"carrier calls 18 (sipp UAC carrier-call.xml, {how})"
    mark = r.mark()
    await lab.call(hold_s=hold_s, dtmf=dtmf)
    started = await r.event("StasisStart", _caller, after=mark)
    return str(started["channel"]["id"])


async def _answer(r: TraceRecorder, channel: str, step: str = "answer caller") -> None:
    r.step = step
    mark = r.mark()
    await r.rest("POST", f"/channels/{channel}/answer")
    await r.event("ChannelStateChange", _of(channel), after=mark)


async def _bridge_with(r: TraceRecorder, channel: str, name: str, kind: str = "mixing") -> str:
    bridge = await r.rest("POST", "/bridges", type=kind, name=name)
    mark = r.mark()
    await r.rest("POST", f"/bridges/{bridge['id']}/addChannel", channel=channel)
    await r.event("ChannelEnteredBridge", _of(channel), after=mark)
    return str(bridge["id"])


async def _originate(r: TraceRecorder, endpoint: str, **extra: str) -> Any:
    return await r.rest(
        "POST",
        "/channels",
        endpoint=endpoint,
        app=LAB_APP,
        appArgs="operator",
        callerId=OPERATOR_CALLER_ID,
        **{"timeout": "30", **extra},
    )


async def _operator_answers(r: TraceRecorder, endpoint: str, **extra: str) -> str:
    mark = r.mark()
    channel = await _originate(r, endpoint, **extra)
    await r.event("StasisStart", _of(channel["id"]), after=mark)
    return str(channel["id"])


async def _add(r: TraceRecorder, bridge: str, channel: str) -> None:
    mark = r.mark()
    await r.rest("POST", f"/bridges/{bridge}/addChannel", channel=channel)
    await r.event("ChannelEnteredBridge", _of(channel), after=mark)


async def _hang_up(r: TraceRecorder, channel: str, *, destroyed: bool) -> None:
    mark = r.mark()
    await r.rest("DELETE", f"/channels/{channel}")
    await r.event("ChannelDestroyed" if destroyed else "StasisEnd", _of(channel), after=mark)
    await r.observe(0.5)


async def _destroy_bridge(r: TraceRecorder, bridge: str, *, event: bool = True) -> None:
    mark = r.mark()
    await r.rest("DELETE", f"/bridges/{bridge}")
    if event:
        await r.event("BridgeDestroyed", lambda e: e["bridge"]["id"] == bridge, after=mark)
    await r.observe(0.5)


async def _hang_up_caller_and_bridge(r: TraceRecorder, caller: str, bridge: str) -> None:
    r.step = "app hangs up the caller and destroys the bridge"
    await _hang_up(r, caller, destroyed=False)
    await _destroy_bridge(r, bridge)


async def _caller_in_mixing_bridge(
    r: TraceRecorder, lab: Lab, name: str = "cta-test"
) -> tuple[str, str]:
    caller = await _carrier_calls(r, lab, "waits for BYE")
    await _answer(r, caller)
    r.step = "create mixing bridge, add caller"
    bridge = await _bridge_with(r, caller, name)
    return caller, bridge


async def _operator_fails(r: TraceRecorder, endpoint: str, ring_s: str) -> None:
    r.step = f"originate {endpoint} (timeout={ring_s})"
    mark = r.mark()
    channel = await _originate(r, endpoint, timeout=ring_s)
    await r.event("ChannelDestroyed", _of(channel["id"]), after=mark, within=float(ring_s) + 10)
    await r.observe(1.0)
    await r.rest("GET", f"/channels/{channel['id']}")


# -- the scenarios ------------------------------------------------------------------------


async def happy_path(r: TraceRecorder, lab: Lab, *, record: bool = False) -> None:
    caller = await _carrier_calls(r, lab, "waits for BYE")
    await _answer(r, caller)
    r.step = "play sound:hello-world to caller"
    mark = r.mark()
    await r.rest("POST", f"/channels/{caller}/play", media="sound:hello-world", lang="en")
    await r.event("PlaybackFinished", after=mark)
    r.step = "create mixing bridge"
    bridge = (await r.rest("POST", "/bridges", type="mixing", name="cta-sdis77"))["id"]
    r.step = "add caller to bridge"
    await _add(r, bridge, caller)
    r.step = "originate operator PJSIP/sdis77-op1"
    operator = await _operator_answers(r, "PJSIP/sdis77-op1")
    r.step = "add operator to bridge"
    await _add(r, bridge, operator)
    name = ""
    if record:
        r.step = "record the bridge"
        name = f"vcta-bridge-{int(time.time())}"
        mark = r.mark()
        await r.rest(
            "POST",
            f"/bridges/{bridge}/record",
            name=name,
            format="wav",
            ifExists="overwrite",
            maxDurationSeconds="60",
            beep="false",
            terminateOn="none",
        )
        await r.event("RecordingStarted", after=mark)
        await r.rest("GET", f"/recordings/live/{name}")
    r.step = "caller and operator talk"
    await r.rest("GET", f"/bridges/{bridge}")
    await r.rest("GET", f"/channels/{caller}")
    await r.rest("GET", f"/channels/{operator}")
    await r.observe(3.0)
    if record:
        r.step = "stop the recording"
        mark = r.mark()
        await r.rest("POST", f"/recordings/live/{name}/stop")
        await r.event("RecordingFinished", after=mark)
    r.step = "app hangs up the caller"
    await _hang_up(r, caller, destroyed=False)
    r.step = "app hangs up the operator"
    await _hang_up(r, operator, destroyed=True)
    r.step = "app destroys the bridge"
    await _destroy_bridge(r, bridge)
    if record:
        r.step = "stored recordings"
        await r.rest("GET", "/recordings/stored")
        await r.rest("GET", f"/recordings/stored/{name}")
        r.step = "delete stored recording"
        await r.rest("DELETE", f"/recordings/stored/{name}")
        await r.rest("GET", f"/recordings/stored/{name}")


async def a_happy_path(r: TraceRecorder, lab: Lab) -> None:
    await happy_path(r, lab)


async def b_operator_busy(r: TraceRecorder, lab: Lab) -> None:
    caller, bridge = await _caller_in_mixing_bridge(r, lab)
    await _operator_fails(r, "PJSIP/sdis77-op2", "30")
    await _hang_up_caller_and_bridge(r, caller, bridge)


async def c_operator_not_registered(r: TraceRecorder, lab: Lab) -> None:
    r.step = "endpoint state of the unregistered position"
    await r.rest("GET", "/endpoints/PJSIP/sdis83-op2")
    caller, bridge = await _caller_in_mixing_bridge(r, lab)
    r.step = "originate PJSIP/sdis83-op2 (timeout=30)"
    await _originate(r, "PJSIP/sdis83-op2")
    await r.observe(1.0)
    r.step = "same failure with POST /channels/create then /dial"
    await r.rest(
        "POST", "/channels/create", endpoint="PJSIP/sdis83-op2", app=LAB_APP, appArgs="operator"
    )
    await r.observe(1.0)
    r.step = "originate to an endpoint name that does not exist at all"
    await _originate(r, "PJSIP/sdis99-op9")
    await r.observe(1.0)
    await _hang_up_caller_and_bridge(r, caller, bridge)


async def d_operator_no_answer(r: TraceRecorder, lab: Lab) -> None:
    caller, bridge = await _caller_in_mixing_bridge(r, lab)
    await _operator_fails(r, "PJSIP/sdis83-op1", "5")
    await _hang_up_caller_and_bridge(r, caller, bridge)


async def e_caller_abandons(r: TraceRecorder, lab: Lab) -> None:
    caller = await _carrier_calls(r, lab, "hangs up 3 s after answer", hold_s=3.0)
    await _answer(r, caller)
    r.step = "holding bridge with music on hold"
    bridge = (await r.rest("POST", "/bridges", type="holding", name="attente-18"))["id"]
    mark = r.mark()
    await r.rest("POST", f"/bridges/{bridge}/addChannel", channel=caller, role="participant")
    await r.event("ChannelEnteredBridge", _of(caller), after=mark)
    await r.rest("POST", f"/bridges/{bridge}/moh", mohClass="default")
    await r.rest("GET", f"/bridges/{bridge}")
    r.step = "caller abandons (sipp sends BYE 3 s after answer)"
    await r.event("StasisEnd", _of(caller), after=mark)
    await r.observe(1.0)
    r.step = "bridge after the caller left"
    await r.rest("GET", f"/bridges/{bridge}")
    await r.rest("GET", f"/channels/{caller}")
    r.step = "app stops MOH and destroys the holding bridge"
    await r.rest("DELETE", f"/bridges/{bridge}/moh")
    await _destroy_bridge(r, bridge)


async def f_endpoint_device_states(r: TraceRecorder, lab: Lab) -> None:
    def online(state: str) -> Callable[[dict[str, Any]], bool]:
        return lambda e: (
            e["endpoint"]["resource"] == "sdis77-op1" and e["endpoint"]["state"] == state
        )

    r.step = "endpoint list and details"
    await r.rest("GET", "/endpoints")
    await r.rest("GET", "/endpoints/PJSIP")
    await r.rest("GET", "/endpoints/PJSIP/sdis77-op1")
    await r.rest("GET", "/endpoints/PJSIP/sdis83-op2")
    r.step = "subscribe app to endpoint:PJSIP and deviceState:PJSIP/sdis77-op1"
    subscription = f"/applications/{LAB_APP}/subscription"
    await r.rest("POST", subscription, eventSource="endpoint:PJSIP")
    await r.rest("POST", subscription, eventSource="deviceState:PJSIP/sdis77-op1")
    await r.rest("GET", f"/applications/{LAB_APP}")
    await r.rest("GET", "/deviceStates")
    r.step = "sdis77-op1 unregisters (REGISTER Expires: 0)"
    mark = r.mark()
    await lab.peers.unregister("sdis77-op1")
    await r.event("EndpointStateChange", online("offline"), after=mark)
    await r.event("DeviceStateChanged", after=mark)
    await r.observe(1.0)
    await r.rest("GET", "/endpoints/PJSIP/sdis77-op1")
    r.step = "originate to the now unregistered sdis77-op1"
    await _originate(r, "PJSIP/sdis77-op1")
    await r.observe(1.0)
    r.step = "sdis77-op1 registers again"
    mark = r.mark()
    await lab.peers.position("sdis77-op1", "answer", ring_ms=1000)
    await r.event("EndpointStateChange", online("online"), after=mark)
    await r.event("DeviceStateChanged", after=mark)
    await r.observe(1.0)
    await r.rest("GET", "/endpoints/PJSIP/sdis77-op1")
    r.step = "short call to sdis77-op1 (device state INUSE/NOT_INUSE, endpoint channel_ids)"
    operator = await _operator_answers(r, "PJSIP/sdis77-op1")
    await r.observe(0.5)
    await r.rest("GET", "/endpoints/PJSIP/sdis77-op1")
    await r.rest("GET", "/deviceStates")
    mark = r.mark()
    await r.rest("DELETE", f"/channels/{operator}")
    await r.event("ChannelDestroyed", _of(operator), after=mark)
    await r.event(
        "DeviceStateChanged", lambda e: e["device_state"]["state"] == "NOT_INUSE", after=mark
    )
    await r.observe(1.0)
    r.step = "unsubscribe"
    await r.rest("DELETE", subscription, eventSource="endpoint:PJSIP")
    await r.rest("DELETE", subscription, eventSource="deviceState:PJSIP/sdis77-op1")
    await r.rest("GET", f"/applications/{LAB_APP}")


async def g_bridge_recording(r: TraceRecorder, lab: Lab) -> None:
    await happy_path(r, lab, record=True)


async def h_websocket_drop(r: TraceRecorder, lab: Lab) -> None:
    caller = await _carrier_calls(r, lab, "waits for BYE")
    await _answer(r, caller, "answer caller, holding bridge with MOH")
    bridge = await _bridge_with(r, caller, "attente-18", "holding")
    await r.rest("POST", f"/bridges/{bridge}/moh", mohClass="default")
    await r.observe(1.0)
    await r.rest("GET", f"/applications/{LAB_APP}")
    r.step = "while disconnected (REST still works)"
    await r.close_ws()
    await r.rest("GET", "/applications")
    await r.rest("GET", "/channels")
    await r.rest("GET", "/bridges")
    await r.rest("GET", f"/channels/{caller}")
    await r.observe(3.0)
    r.step = "websocket reconnected with the same app name"
    await r.open_ws()
    await r.observe(1.0)
    await r.rest("GET", "/applications")
    await r.rest("GET", "/channels")
    await r.rest("GET", "/bridges")
    r.step = "after reconnect: the channel is still controllable"
    await r.rest("DELETE", f"/bridges/{bridge}/moh")
    mark = r.mark()
    await r.rest("POST", f"/channels/{caller}/play", media="sound:beep")
    await r.event("PlaybackFinished", after=mark)
    await _hang_up_caller_and_bridge(r, caller, bridge)

    # Part 2: the caller hangs up while the websocket is closed.
    caller = await _carrier_calls(r, lab, "hangs up 3 s after answer", hold_s=3.0)
    call = lab.calls[-1]
    await _answer(r, caller, "part 2: answer caller, holding bridge")
    bridge = await _bridge_with(r, caller, "attente-18", "holding")
    r.step = "part 2: websocket closed; caller hangs up while it is down"
    await r.close_ws()
    await call.wait(WAIT_S)

    async def caller_gone() -> bool:
        return await r.peek(f"/channels/{caller}") is None

    # sipp is done once its BYE is answered; Asterisk destroys the channel just after.
    await r.until(caller_gone, "the caller's channel to be destroyed")
    await r.rest("GET", "/applications")
    await r.rest("GET", "/channels")
    await r.rest("GET", "/bridges")
    r.step = "part 2: websocket reconnected"
    await r.open_ws()
    await r.observe(1.0)
    await r.rest("GET", "/applications")
    await r.rest("GET", "/channels")
    await r.rest("GET", "/bridges")
    r.step = "part 2: app destroys the orphaned bridge"
    await _destroy_bridge(r, bridge)
    await r.rest("GET", f"/applications/{LAB_APP}")

    # Part 3: nothing left in Stasis when the websocket closes.
    r.step = "part 3: websocket closed with nothing in Stasis"
    await r.close_ws()
    await r.rest("GET", "/applications")
    await r.rest("GET", f"/applications/{LAB_APP}")
    r.step = "part 3: a call to 18 arrives while no websocket is connected"
    call = await lab.call()
    # Stasis() fails, the dialplan hangs up: sipp sees the call refused and stops.
    await call.wait(WAIT_S)
    await r.rest("GET", "/channels")
    r.step = "part 3: websocket reconnected"
    await r.open_ws()
    await r.observe(1.0)
    await r.rest("GET", "/applications")


async def i_errors(r: TraceRecorder, lab: Lab) -> None:
    r.step = "GET unknown channel"
    await r.rest("GET", "/channels/does-not-exist")
    r.step = "answer unknown channel"
    await r.rest("POST", "/channels/does-not-exist/answer")
    r.step = "hang up unknown channel"
    await r.rest("DELETE", "/channels/does-not-exist")
    r.step = "addChannel on unknown bridge"
    await r.rest("POST", "/bridges/xyz/addChannel", channel="does-not-exist")
    r.step = "addChannel of unknown channel to an existing bridge"
    test_bridge = (await r.rest("POST", "/bridges", type="mixing", name="err-test"))["id"]
    await r.rest("POST", f"/bridges/{test_bridge}/addChannel", channel="does-not-exist")
    r.step = "bridge with an invalid type"
    await r.rest("POST", "/bridges", type="not-a-type")
    r.step = "destroy unknown bridge"
    await r.rest("DELETE", "/bridges/xyz")
    r.step = "originate: bad endpoint strings"
    for endpoint in ("no-slash-endpoint", "NOTATECH/foo", "PJSIP/"):
        await _originate(r, endpoint)
    r.step = "originate: missing endpoint / missing app and extension"
    await r.rest("POST", "/channels", app=LAB_APP)
    await r.rest("POST", "/channels", endpoint="PJSIP/sdis77-op1")
    r.step = "unknown endpoint / recording / sound"
    await r.rest("GET", "/endpoints/PJSIP/nobody")
    await r.rest("GET", "/endpoints/NOTATECH")
    await r.rest("GET", "/recordings/stored/nothing-here")
    await r.rest("GET", "/sounds/no-such-sound")
    await r.rest("GET", "/applications/no-such-app")
    r.step = "wrong credentials / no credentials"
    await r.rest("GET", "/asterisk/info", password="wrong-password")
    await r.rest("GET", "/asterisk/info", user=None)
    await r.rest("GET", "/channels", user="nobody", password="whatever")
    r.step = "unknown resource path"
    await r.rest("GET", "/no/such/resource")
    await r.rest("PUT", "/channels")

    r.step = "channel that is not in Stasis: dialplan Local channel"
    local = await r.rest(
        "POST",
        "/channels",
        endpoint="Local/wait@test-callers",
        context="test-callers",
        extension="wait",
        priority="1",
        timeout="10",
    )

    async def both_halves_waiting() -> bool:
        channels = await r.peek("/channels") or []
        return len([c for c in channels if c["dialplan"]["app_name"] == "Wait"]) == 2

    await r.until(both_halves_waiting, "both halves of the Local channel to answer and wait")
    channels = await r.rest("GET", "/channels")
    first = str(local["id"])
    second = next(str(c["id"]) for c in channels if c["id"] != first)
    for half in (first, second):
        await r.rest("POST", f"/channels/{half}/continue")
        await r.rest("POST", f"/channels/{half}/answer")
        await r.rest("POST", f"/channels/{half}/play", media="sound:beep")
        await r.rest("POST", f"/bridges/{test_bridge}/addChannel", channel=half)
    await r.observe(1.0)
    r.step = "hang up the dialplan channels, destroy the test bridge"
    await r.rest("DELETE", f"/channels/{first}")
    await r.rest("DELETE", f"/channels/{second}")
    await r.rest("DELETE", f"/bridges/{test_bridge}")

    async def gone() -> bool:
        return not await r.peek("/channels")

    await r.until(gone, "the Local channels to be gone")
    await r.observe(0.5)
    r.step = "operations on a channel that just hung up"
    await r.rest("POST", f"/channels/{first}/answer")

    caller = await _carrier_calls(r, lab, "waits for BYE")
    r.step = (
        "Stasis channel errors: unsupported media scheme (201, PlaybackStarted, never finishes)"
    )
    mark = r.mark()
    playback = await r.rest("POST", f"/channels/{caller}/play", media="nosuchscheme:foo")
    await r.event("PlaybackStarted", after=mark)
    await r.observe(1.0)
    await r.rest("GET", f"/playbacks/{playback['id']}")
    await r.rest("DELETE", f"/playbacks/{playback['id']}")
    await r.observe(0.5)
    r.step = "Stasis channel errors: missing sound file, empty DTMF, unknown MOH class"
    await _answer(r, caller, r.step)
    mark = r.mark()
    await r.rest("POST", f"/channels/{caller}/play", media="sound:no-such-sound-file")
    await r.event("PlaybackFinished", after=mark)
    await r.observe(1.0)
    await r.rest("POST", f"/channels/{caller}/dtmf", dtmf="")
    await r.rest("POST", f"/channels/{caller}/moh", mohClass="no-such-class")
    await r.observe(1.0)
    r.step = "bridge: add the same channel twice, remove a channel that is not in it"
    first_bridge = (await r.rest("POST", "/bridges", type="mixing"))["id"]
    await _add(r, first_bridge, caller)
    mark = r.mark()
    await r.rest("POST", f"/bridges/{first_bridge}/addChannel", channel=caller)
    await r.event("ChannelEnteredBridge", _of(caller), after=mark)
    second_bridge = (await r.rest("POST", "/bridges", type="mixing"))["id"]
    await r.rest("POST", f"/bridges/{second_bridge}/removeChannel", channel=caller)
    await _add(r, second_bridge, caller)
    await r.observe(1.0)
    r.step = "continue a Stasis channel to dialplan (leaves Stasis, runs Hangup)"
    mark = r.mark()
    await r.rest(
        "POST", f"/channels/{caller}/continue", context="operators", extension="999", priority="1"
    )
    await r.event("StasisEnd", _of(caller), after=mark)
    await r.observe(1.0)
    await r.rest("DELETE", f"/bridges/{first_bridge}")
    await _destroy_bridge(r, second_bridge)


async def j_dtmf(r: TraceRecorder, lab: Lab) -> None:
    caller = await _carrier_calls(r, lab, "RFC 4733 DTMF once answered", hold_s=2.0, dtmf=True)
    r.step = "answer caller; sipp sends RFC 4733 DTMF 1, 8, #"
    mark = r.mark()
    await r.rest("POST", f"/channels/{caller}/answer")
    await r.event("ChannelDtmfReceived", _of(caller), after=mark, count=3)
    await r.event("StasisEnd", _of(caller), after=mark)
    await r.observe(0.5)


async def k_local_channel_caller(r: TraceRecorder, lab: Lab) -> None:
    r.step = "caller without SIP: originate Local/18@test-callers into the dialplan"
    mark = r.mark()
    await r.rest(
        "POST",
        "/channels",
        endpoint="Local/18@test-callers",
        context="test-callers",
        extension="wait",
        priority="1",
        callerId='"Local test" <0600000018>',
    )
    caller = str((await r.event("StasisStart", after=mark))["channel"]["id"])
    await _answer(r, caller, "answer the Local caller, bridge it with operator sdis77-op1")
    bridge = (await r.rest("POST", "/bridges", type="mixing", name="cta-sdis77"))["id"]
    await _add(r, bridge, caller)
    operator = await _operator_answers(r, "PJSIP/sdis77-op1")
    await _add(r, bridge, operator)
    await r.observe(2.0)
    r.step = "operator hangs up first (app hangs up operator leg), then caller"
    await _hang_up(r, operator, destroyed=True)
    await _hang_up(r, caller, destroyed=False)
    await _destroy_bridge(r, bridge)


async def l_bridge_subscription(r: TraceRecorder, lab: Lab) -> None:
    caller = await _carrier_calls(r, lab, "waits for BYE")
    await _answer(r, caller)
    r.step = "bridge 1: add then removeChannel; app is no longer subscribed to the bridge"
    first = await _bridge_with(r, caller, "cta-sdis77")
    await r.rest("GET", f"/applications/{LAB_APP}")
    mark = r.mark()
    await r.rest("POST", f"/bridges/{first}/removeChannel", channel=caller)
    await r.event("ChannelLeftBridge", _of(caller), after=mark)
    await r.observe(1.0)
    await r.rest("GET", f"/applications/{LAB_APP}")
    r.step = "bridge 1: DELETE -> 204 but no BridgeDestroyed event"
    await _destroy_bridge(r, first, event=False)
    await r.observe(1.0)
    r.step = "bridge 2: explicit subscription bridge:{id} keeps bridge events"
    second = (await r.rest("POST", "/bridges", type="mixing", name="cta-sdis83"))["id"]
    await r.rest("POST", f"/applications/{LAB_APP}/subscription", eventSource=f"bridge:{second}")
    await _add(r, second, caller)
    mark = r.mark()
    await r.rest("POST", f"/bridges/{second}/removeChannel", channel=caller)
    await r.event("ChannelLeftBridge", _of(caller), after=mark)
    await r.observe(1.0)
    await r.rest("GET", f"/applications/{LAB_APP}")
    await _destroy_bridge(r, second)
    await r.observe(0.5)
    await r.rest("GET", f"/applications/{LAB_APP}")
    r.step = "moving a channel: addChannel to bridge 4 (mixing) while it is in bridge 3 (holding)"
    holding = (await r.rest("POST", "/bridges", type="holding", name="attente-18"))["id"]
    mixing = (await r.rest("POST", "/bridges", type="mixing", name="cta-voisin"))["id"]
    await _add(r, holding, caller)
    mark = r.mark()
    await r.rest("POST", f"/bridges/{mixing}/addChannel", channel=caller)
    await r.event("ChannelEnteredBridge", lambda e: e["bridge"]["id"] == mixing, after=mark)
    await r.observe(1.0)
    await r.rest("GET", f"/bridges/{holding}")
    await r.rest("GET", f"/bridges/{mixing}")
    r.step = "app hangs up the caller and destroys bridges 3 and 4"
    await _hang_up(r, caller, destroyed=False)
    await r.rest("DELETE", f"/bridges/{holding}")
    await _destroy_bridge(r, mixing)


async def m_system_info_and_ids(r: TraceRecorder, lab: Lab) -> None:
    r.step = "system information"
    for path in (
        "/asterisk/ping",
        "/asterisk/info",
        "/applications",
        f"/applications/{LAB_APP}",
        "/channels",
        "/bridges",
        "/sounds/hello-world",
        "/asterisk/modules/res_ari.so",
    ):
        await r.rest("GET", path)
    r.step = "originate with client-chosen ids (channelId / otherChannelId)"
    operator = await _operator_answers(
        r, "PJSIP/sdis77-op1", channelId="vcta-op-0001", otherChannelId="vcta-op-0001-peer"
    )
    await r.rest("GET", f"/channels/{operator}")
    r.step = "originate again with the same channelId while it is alive"
    await _originate(r, "PJSIP/sdis77-op2", channelId=operator)
    r.step = "hang up"
    await _hang_up(r, operator, destroyed=True)


async def n_operator_hangs_up(r: TraceRecorder, lab: Lab) -> None:
    r.step = "position sdis83-op2 comes online (answers, then hangs up after 4 s)"
    await lab.peers.position("sdis83-op2", "hangup", ring_ms=1000, talk_ms=4000)
    await r.rest("GET", "/endpoints/PJSIP/sdis83-op2")
    caller = await _carrier_calls(r, lab, "waits for BYE")
    await _answer(r, caller, "answer caller, mixing bridge")
    bridge = await _bridge_with(r, caller, "cta-sdis83")
    r.step = "originate PJSIP/sdis83-op2 (mutual-aid position) and bridge it"
    operator = await _operator_answers(r, "PJSIP/sdis83-op2")
    mark = r.mark()
    await _add(r, bridge, operator)
    r.step = "operator hangs up (BYE from the position)"
    await r.event("ChannelDestroyed", _of(operator), after=mark)
    await r.observe(1.0)
    await _hang_up_caller_and_bridge(r, caller, bridge)
    r.step = "position sdis83-op2 unregisters again"
    await lab.peers.unregister("sdis83-op2")

    async def offline() -> bool:
        endpoint = await r.peek("/endpoints/PJSIP/sdis83-op2")
        return endpoint is not None and endpoint["state"] == "offline"

    # The REGISTER is answered before Asterisk removes the contact.
    await r.until(offline, "sdis83-op2 to be offline")
    await r.rest("GET", "/endpoints/PJSIP/sdis83-op2")


SCENARIOS: Mapping[str, tuple[str, Scenario]] = {
    "a": ("a-happy-path", a_happy_path),
    "b": ("b-operator-busy", b_operator_busy),
    "c": ("c-operator-not-registered", c_operator_not_registered),
    "d": ("d-operator-no-answer", d_operator_no_answer),
    "e": ("e-caller-abandons", e_caller_abandons),
    "f": ("f-endpoint-device-states", f_endpoint_device_states),
    "g": ("g-bridge-recording", g_bridge_recording),
    "h": ("h-websocket-drop", h_websocket_drop),
    "i": ("i-errors", i_errors),
    "j": ("j-dtmf", j_dtmf),
    "k": ("k-local-channel-caller", k_local_channel_caller),
    "l": ("l-bridge-subscription", l_bridge_subscription),
    "m": ("m-system-info-and-ids", m_system_info_and_ids),
    "n": ("n-operator-hangs-up", n_operator_hangs_up),
}


async def record(letter: str, lab: Lab) -> list[dict[str, Any]]:
    """Play scenario ``letter`` against the lab's Asterisk; the trace's lines."""
    _, scenario = SCENARIOS[letter]
    async with aiohttp.ClientSession() as session:
        recorder = TraceRecorder(lab.node, session)
        await recorder.open_ws()
        try:
            await scenario(recorder, lab)
        finally:
            await recorder.aclose()
    return recorder.lines


async def lab_ready(node: AsteriskNode, within: float = 60.0) -> None:
    """Asterisk answers ARI with the lab's user and has its PJSIP endpoints."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    url = f"{node.ari_url}/endpoints/PJSIP"
    async with aiohttp.ClientSession(headers=_basic(LAB_USER, LAB_PASSWORD)) as session:
        while True:
            try:
                async with session.get(url) as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise RecordingFailed(f"the lab's Asterisk did not start:\n{node.logs()[-4000:]}")
            await asyncio.sleep(0.2)  # sync-ok: polling a server that is starting


def write_trace(lines: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def letters(selection: str) -> Iterator[str]:
    for letter in selection:
        if letter not in SCENARIOS:
            raise ValueError(f"no scenario {letter!r}: the scenarios are {''.join(SCENARIOS)}")
        yield letter
