"""The emulator as one object: an Asterisk speaking ARI over HTTP, plus the controls of its world.

Typical use::

    emu = Emulator(clock=ScaledClock(50), users={"ari-app": "secret"})
    base_url = await emu.start()            # "http://127.0.0.1:PORT/ari"
    emu.add_endpoint("sdis77-op1", script=Answer(after_s=2.0, talk_s=90.0))
    caller = await emu.place_call(routing_key="18", number="0612345678")
    ...
    await emu.stop()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aiohttp import web

from ari_app.clock import Clock, ScaledClock
from ari_app.jsonhttp import JsonErrorRunner
from ari_app.sim.ari_http import AriResources
from ari_app.sim.callers import Carrier
from ari_app.sim.control_http import ControlResources
from ari_app.sim.errors import EmulatorError
from ari_app.sim.history import CallRecord
from ari_app.sim.model import ChannelKind, Party
from ari_app.sim.pbx import Pbx
from ari_app.sim.scripts import Answer, PositionScript, describe_script
from ari_app.sim.sounds import SoundLibrary
from ari_app.sim.streams import EventStreams
from ari_app.sim.wire import parse_callerid

DEFAULT_USERS: Mapping[str, str] = MappingProxyType({"ari-app": "secret"})
DEFAULT_ASTERISK_ID = "02:fc:00:00:00:01"
SHUTDOWN_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CallerHandle:
    """A placed call: its channel id, and whether it reached the Stasis application."""

    channel_id: str
    entered_stasis: bool


class Emulator:
    """An emulated Asterisk (ARI under ``/ari``, controls under ``/sim``) and its callers."""

    def __init__(
        self,
        clock: Clock | None = None,
        users: Mapping[str, str] | None = None,
        *,
        app: str = "vcta",
        asterisk_id: str = DEFAULT_ASTERISK_ID,
        sounds: Mapping[str, float | None] | None = None,
        trunk: str = "carrier",
        system_name: str = "",
    ) -> None:
        self.users = dict(DEFAULT_USERS if users is None else users)
        for user, password in self.users.items():
            if not user or ":" in user or not password:
                raise EmulatorError(
                    f"ARI user {user!r}: names need no ':' and passwords must not be empty"
                )
        self.clock: Clock = clock or ScaledClock(1.0)
        self.app = app
        self.pbx = Pbx(
            self.clock,
            asterisk_id=asterisk_id,
            default_app=app,
            sounds=SoundLibrary(sounds),
            trunk=trunk,
            system_name=system_name,
        )
        self.carrier = Carrier(self.pbx)
        self.streams = EventStreams(self.pbx.apps, asterisk_id)
        self._ari = AriResources(self.pbx, self.streams, self.users)
        self._control = ControlResources(self, self.users)
        self._runner: web.AppRunner | None = None
        self.host: str | None = None
        self.port: int | None = None

    # Server ------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/ari{tail:.*}", self._ari.handle)
        app.router.add_route("*", "/sim{tail:.*}", self._control.handle)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0: any free port); return the ARI base URL."""
        if self._runner is not None:
            raise EmulatorError("the emulator is already started")
        runner = JsonErrorRunner(
            self.web_app(),
            lambda _status, message: {"message": message},  # Asterisk's error body
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise EmulatorError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        self._runner = runner
        address = runner.addresses[0]
        self.host, self.port = host, int(address[1])
        return self.base_url

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise EmulatorError("the emulator is not started")
        return f"http://{self.host}:{self.port}/ari"

    @property
    def control_url(self) -> str:
        return self.base_url.removesuffix("/ari") + "/sim"

    async def stop(self) -> None:
        """Close the websockets, stop every timer and the server; bounded in time."""
        await self.streams.drop()
        await self.pbx.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # Positions ----------------------------------------------------------------------------

    def add_endpoint(
        self,
        name: str,
        script: PositionScript | None = None,
        *,
        online: bool = True,
        callerid: str | None = None,
    ) -> None:
        """Declare a PJSIP position (registered when ``online``) with its script."""
        party = Party(*parse_callerid(callerid)) if callerid else None
        try:
            self.pbx.endpoints.add(name, script=script or Answer(), online=online, callerid=party)
        except ValueError as error:
            raise EmulatorError(str(error)) from None

    def _endpoint(self, name: str) -> Any:
        try:
            return self.pbx.endpoints.require(name)
        except KeyError as error:
            raise EmulatorError(error.args[0]) from None

    def set_online(self, name: str, online: bool) -> None:
        """Register or unregister a position: the events of trace f."""
        self.pbx.endpoints.set_online(self._endpoint(name), online)

    def set_script(self, name: str, script: PositionScript) -> None:
        self._endpoint(name).script = script

    def endpoints(self) -> list[dict[str, Any]]:
        return [
            {
                **e.snapshot(),
                "script": describe_script(e.script),
                "device_state": e.current_device_state(),
            }
            for e in self.pbx.endpoints.all()
        ]

    # Callers ------------------------------------------------------------------------------

    async def place_call(
        self,
        routing_key: str,
        number: str,
        app: str | None = None,
        patience_s: float | None = None,
        caller_name: str = "",
    ) -> CallerHandle:
        """A call from the carrier to ``Stasis(app, routing_key)``; the caller hangs up after
        ``patience_s`` unless it has talked to an operator by then."""
        try:
            channel = self.carrier.place_call(
                routing_key=routing_key,
                number=number,
                app=app or self.app,
                caller_name=caller_name,
                patience_s=patience_s,
            )
        except ValueError as error:
            raise EmulatorError(str(error)) from None
        record = channel.record
        return CallerHandle(channel.id, bool(record and record.entered_stasis))

    def _live_channel(self, channel_id: str) -> Any:
        channel = self.pbx.channels.get(channel_id)
        if channel is None:
            raise EmulatorError(f"no live channel {channel_id!r}")
        return channel

    async def hang_up_caller(self, channel_id: str) -> None:
        """The caller hangs up (BYE from the carrier)."""
        channel = self._live_channel(channel_id)
        if channel.kind is not ChannelKind.CALLER and channel.record is None:
            raise EmulatorError(f"channel {channel_id!r} is not a caller")
        self.carrier.hang_up(channel)

    async def hang_up_remote(self, channel_id: str) -> None:
        """The far end of any channel hangs up; a ringing position declines (603)."""
        self.pbx.remote_hangup(self._live_channel(channel_id))

    async def send_dtmf(
        self, channel_id: str, digits: str, *, duration_ms: int = 160, between_s: float = 0.52
    ) -> None:
        """The far end sends DTMF digits (``ChannelDtmfReceived`` each, ``between_s`` apart)."""
        channel = self._live_channel(channel_id)
        try:
            await self.carrier.send_dtmf(
                channel, digits, duration_ms=duration_ms, between_s=between_s
            )
        except ValueError as error:
            raise EmulatorError(str(error)) from None

    async def drop_event_streams(self, app: str | None = None) -> int:
        """Close the event websockets of ``app`` (or all) from the server side."""
        return await self.streams.drop(app)

    def slow_event_streams(self, app: str | None = None, pong_delay_s: float | None = None) -> int:
        """Make the event websockets of ``app`` (or all) answer pings ``pong_delay_s`` late
        (``math.inf``: never; ``None``: at once again) while events go on, as a saturated
        Asterisk does. Returns how many."""
        return self.streams.slow_down(app, pong_delay_s)

    def event_stream_pings(self, app: str | None = None) -> int:
        """Pings the open event websockets of ``app`` (or all) received so far."""
        return self.streams.pings(app)

    def freeze_event_streams(self, app: str | None = None) -> int:
        """Make the event websockets of ``app`` (or all) stop answering, TCP left open: a dead
        peer. Events meanwhile are lost; the client's next websocket works normally."""
        return self.streams.freeze(app)

    # Inspection -----------------------------------------------------------------------------

    def channels(self) -> list[dict[str, Any]]:
        return [c.snapshot() for c in self.pbx.channels.values()]

    def bridges(self) -> list[dict[str, Any]]:
        return [b.snapshot() for b in self.pbx.bridges.values()]

    def playbacks(self) -> list[dict[str, Any]]:
        return [p.snapshot() for p in self.pbx.media.playbacks.values()]

    def live_recordings(self) -> list[dict[str, Any]]:
        return [r.snapshot() for r in self.pbx.media.live.values()]

    def stored_recordings(self) -> list[dict[str, Any]]:
        return [r.snapshot() for r in self.pbx.media.stored.values()]

    def applications(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.pbx.apps.all()]

    def history(self) -> list[CallRecord]:
        """Ground truth of every caller so far (copies), oldest first."""
        return self.pbx.history.records()

    def call(self, channel_id: str) -> CallRecord | None:
        return self.pbx.history.get(channel_id)

    def stats(self) -> dict[str, Any]:
        return {
            "channels": len(self.pbx.channels),
            "bridges": len(self.pbx.bridges),
            "event_streams": len(self.streams),
            "events_sent": self.pbx.bus.sent,
            "playbacks_queued": self.pbx.media.playbacks_queued,
            **self.pbx.history.counts(),
        }
