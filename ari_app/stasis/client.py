"""The typed ARI REST client: one method per operation the application needs.

    async with AriClient(AriConfig("http://127.0.0.1:8088/ari", "ariuser", "secret")) as ari:
        channel = await ari.channels.originate(
            "PJSIP/sdis77-op1", app="vcta", app_args="operator", ring_timeout=20,
            channel_id="vcta-op-0001",
        )
        await ari.bridges.add_channel(bridge_id, channel.id)

Methods are grouped by resource as in Asterisk's API (``ari.channels``,
``ari.bridges``...). Parameters keep Asterisk's meaning with Python names; ids
of channels, bridges, playbacks and recordings are chosen by the caller.
Every method raises only ``AriError`` children (see ``errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from ari_app.stasis import operations as ops
from ari_app.stasis.config import AriConfig
from ari_app.stasis.models import (
    Application,
    AsteriskInfo,
    AsteriskPing,
    Bridge,
    Channel,
    Endpoint,
    LiveRecording,
    Playback,
    StoredRecording,
    Variable,
)
from ari_app.stasis.transport import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    RestTransport,
)

Names = str | Sequence[str]
"""One value, or several sent comma-separated (``media``, ``channel``, ``eventSource``...)."""


class _Resource:
    def __init__(self, transport: RestTransport) -> None:
        self._transport = transport


class AsteriskApi(_Resource):
    """``/asterisk``: information about Asterisk itself."""

    async def info(self, *, only: Names | None = None) -> AsteriskInfo:
        """Build, system, config and status information (``only`` selects sections)."""
        return await self._transport.fetch(ops.ASTERISK_INFO, AsteriskInfo, {"only": only})

    async def ping(self) -> AsteriskPing:
        """A cheap liveness check of Asterisk's REST interface."""
        return await self._transport.fetch(ops.ASTERISK_PING, AsteriskPing)

    async def get_variable(self, variable: str) -> str:
        """A global variable, or a function Asterisk lets ARI read (``DB(family/key)``,
        ``DB_KEYS(family)``); empty when unset."""
        found = await self._transport.fetch(ops.ASTERISK_GET_VAR, Variable, {"variable": variable})
        return found.value

    async def set_variable(self, variable: str, value: str) -> None:
        """Set a global variable (the dialplan reads it with ``${NAME}``)."""
        await self._transport.send(ops.ASTERISK_SET_VAR, {"variable": variable, "value": value})


class ApplicationsApi(_Resource):
    """``/applications``: Stasis applications and their subscriptions."""

    async def list(self) -> tuple[Application, ...]:
        """Every registered application (one exists while its websocket or resources do)."""
        return await self._transport.fetch_all(ops.APPLICATIONS_LIST, Application)

    async def get(self, application_name: str) -> Application:
        """One application with the channels, bridges, endpoints and devices it follows."""
        return await self._transport.fetch(
            ops.APPLICATIONS_GET, Application, {"applicationName": application_name}
        )

    async def subscribe(self, application_name: str, event_source: Names) -> Application:
        """Subscribe to ``channel:<id>``, ``bridge:<id>``, ``endpoint:<tech>[/<res>]`` or
        ``deviceState:<name>`` events. Endpoint subscriptions duplicate channel events."""
        return await self._transport.fetch(
            ops.APPLICATIONS_SUBSCRIBE,
            Application,
            {"applicationName": application_name, "eventSource": event_source},
        )

    async def filter_events(self, application_name: str, allowed: Names) -> Application:
        """Send the application only events of the types ``allowed`` (an empty list: all).
        Asterisk keeps the filter while the application exists."""
        types = [allowed] if isinstance(allowed, str) else list(allowed)
        return await self._transport.fetch(
            ops.APPLICATIONS_FILTER,
            Application,
            {"applicationName": application_name},
            body={"allowed": [{"type": kind} for kind in types], "disallowed": []},
        )

    async def unsubscribe(self, application_name: str, event_source: Names) -> Application:
        """Undo ``subscribe``."""
        return await self._transport.fetch(
            ops.APPLICATIONS_UNSUBSCRIBE,
            Application,
            {"applicationName": application_name, "eventSource": event_source},
        )


class ChannelsApi(_Resource):
    """``/channels``: calls legs."""

    async def list(self) -> tuple[Channel, ...]:
        """Every channel Asterisk has, in Stasis or not."""
        return await self._transport.fetch_all(ops.CHANNELS_LIST, Channel)

    async def get(self, channel_id: str) -> Channel:
        """One channel; ``NotFound`` once it is gone."""
        return await self._transport.fetch(ops.CHANNELS_GET, Channel, {"channelId": channel_id})

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Names | None = None,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        caller_id: str | None = None,
        ring_timeout: int | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: Names | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Call ``endpoint`` (``PJSIP/sdis77-op1``) into ``app`` or a dialplan location.

        Returns at once with the channel in state ``Down``; the outcome comes as
        events (``StasisStart`` when answered, ``ChannelDestroyed`` with the cause
        otherwise). An offline or unknown endpoint raises ``AllocationFailed`` and
        produces no event. ``ring_timeout`` (seconds) is Asterisk's ``timeout``; ``variables``
        are set on the new channel.
        """
        return await self._transport.fetch(
            ops.CHANNELS_ORIGINATE,
            Channel,
            {
                "endpoint": endpoint,
                "app": app,
                "appArgs": app_args,
                "context": context,
                "extension": extension,
                "priority": priority,
                "callerId": caller_id,
                "timeout": ring_timeout,
                "channelId": channel_id,
                "otherChannelId": other_channel_id,
                "originator": originator,
                "formats": formats,
            },
            variables,
        )

    async def create(
        self,
        endpoint: str,
        *,
        app: str,
        app_args: Names | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: Names | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Create a channel without dialing it (``dial`` starts the call)."""
        return await self._transport.fetch(
            ops.CHANNELS_CREATE,
            Channel,
            {
                "endpoint": endpoint,
                "app": app,
                "appArgs": app_args,
                "channelId": channel_id,
                "otherChannelId": other_channel_id,
                "originator": originator,
                "formats": formats,
            },
            variables,
        )

    async def answer(self, channel_id: str) -> None:
        """Answer an inbound channel."""
        await self._transport.send(ops.CHANNELS_ANSWER, {"channelId": channel_id})

    async def ring(self, channel_id: str) -> None:
        """Send ringing indication to the channel."""
        await self._transport.send(ops.CHANNELS_RING, {"channelId": channel_id})

    async def ring_stop(self, channel_id: str) -> None:
        """Stop the ringing indication."""
        await self._transport.send(ops.CHANNELS_RING_STOP, {"channelId": channel_id})

    async def hangup(
        self, channel_id: str, *, reason: str | None = None, reason_code: str | None = None
    ) -> None:
        """Hang a channel up (``reason``: ``normal``, ``busy``, ``congestion``, ...)."""
        await self._transport.send(
            ops.CHANNELS_HANGUP,
            {"channelId": channel_id, "reason": reason, "reason_code": reason_code},
        )

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Send the channel back to the dialplan (it leaves the application)."""
        await self._transport.send(
            ops.CHANNELS_CONTINUE,
            {
                "channelId": channel_id,
                "context": context,
                "extension": extension,
                "priority": priority,
                "label": label,
            },
        )

    async def play(
        self,
        channel_id: str,
        media: Names,
        *,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        """Play ``media`` (``sound:hello-world``) to a channel; returns the queued playback.

        A missing file ends with ``PlaybackFinished`` state ``failed``; an unsupported
        scheme never finishes: wait for playbacks with a timeout.
        """
        return await self._transport.fetch(
            ops.CHANNELS_PLAY,
            Playback,
            {
                "channelId": channel_id,
                "media": media,
                "lang": lang,
                "offsetms": offsetms,
                "skipms": skipms,
                "playbackId": playback_id,
            },
        )

    async def start_moh(self, channel_id: str, *, moh_class: str | None = None) -> None:
        """Play music on hold to a channel (an unknown class is not an error)."""
        await self._transport.send(
            ops.CHANNELS_START_MOH, {"channelId": channel_id, "mohClass": moh_class}
        )

    async def stop_moh(self, channel_id: str) -> None:
        """Stop the channel's music on hold."""
        await self._transport.send(ops.CHANNELS_STOP_MOH, {"channelId": channel_id})

    async def dial(
        self, channel_id: str, *, caller: str | None = None, ring_timeout: int | None = None
    ) -> None:
        """Dial a channel made with ``create``; ``ring_timeout`` in seconds."""
        await self._transport.send(
            ops.CHANNELS_DIAL,
            {"channelId": channel_id, "caller": caller, "timeout": ring_timeout},
        )

    async def get_variable(self, channel_id: str, variable: str) -> str:
        """The value of a channel variable or function (``CALLERID(num)``)."""
        found = await self._transport.fetch(
            ops.CHANNELS_GET_VAR, Variable, {"channelId": channel_id, "variable": variable}
        )
        return found.value

    async def set_variable(self, channel_id: str, variable: str, value: str | None) -> None:
        """Set (``None``: unset) a channel variable."""
        await self._transport.send(
            ops.CHANNELS_SET_VAR,
            {"channelId": channel_id, "variable": variable, "value": value},
        )


class BridgesApi(_Resource):
    """``/bridges``: where channels meet, or wait."""

    async def list(self) -> tuple[Bridge, ...]:
        """Every bridge, including empty ones left behind (reap them after a reconnect)."""
        return await self._transport.fetch_all(ops.BRIDGES_LIST, Bridge)

    async def create(
        self,
        *,
        bridge_type: Names | None = None,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> Bridge:
        """Create a bridge: ``bridge_type`` ``mixing`` (talk) or ``holding`` (wait)."""
        return await self._transport.fetch(
            ops.BRIDGES_CREATE,
            Bridge,
            {"type": bridge_type, "bridgeId": bridge_id, "name": name},
        )

    async def get(self, bridge_id: str) -> Bridge:
        """One bridge; ``NotFound`` once destroyed."""
        return await self._transport.fetch(ops.BRIDGES_GET, Bridge, {"bridgeId": bridge_id})

    async def destroy(self, bridge_id: str) -> None:
        """Destroy a bridge; its channels stay in the application."""
        await self._transport.send(ops.BRIDGES_DESTROY, {"bridgeId": bridge_id})

    async def add_channel(
        self,
        bridge_id: str,
        channel: Names,
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        inhibit_connected_line_updates: bool | None = None,
    ) -> None:
        """Put channel(s) in the bridge; a channel in another bridge moves.

        A channel outside the application: ``Unprocessable`` (not in Stasis);
        an unknown channel: ``BadRequest``; an unknown bridge: ``NotFound``.
        """
        await self._transport.send(
            ops.BRIDGES_ADD_CHANNEL,
            {
                "bridgeId": bridge_id,
                "channel": channel,
                "role": role,
                "absorbDTMF": absorb_dtmf,
                "mute": mute,
                "inhibitConnectedLineUpdates": inhibit_connected_line_updates,
            },
        )

    async def remove_channel(self, bridge_id: str, channel: Names) -> None:
        """Take channel(s) out; ``Unprocessable`` if not in this bridge. Afterwards the
        bridge's ``BridgeDestroyed`` is not delivered unless subscribed explicitly."""
        await self._transport.send(
            ops.BRIDGES_REMOVE_CHANNEL, {"bridgeId": bridge_id, "channel": channel}
        )

    async def start_moh(self, bridge_id: str, *, moh_class: str | None = None) -> None:
        """Play music on hold to everyone in the bridge."""
        await self._transport.send(
            ops.BRIDGES_START_MOH, {"bridgeId": bridge_id, "mohClass": moh_class}
        )

    async def stop_moh(self, bridge_id: str) -> None:
        """Stop the bridge's music; ``Conflict`` when none is playing."""
        await self._transport.send(ops.BRIDGES_STOP_MOH, {"bridgeId": bridge_id})

    async def play(
        self,
        bridge_id: str,
        media: Names,
        *,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        """Play ``media`` to everyone in the bridge."""
        return await self._transport.fetch(
            ops.BRIDGES_PLAY,
            Playback,
            {
                "bridgeId": bridge_id,
                "media": media,
                "lang": lang,
                "offsetms": offsetms,
                "skipms": skipms,
                "playbackId": playback_id,
            },
        )

    async def record(
        self,
        bridge_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: str | None = None,
        beep: bool | None = None,
        terminate_on: str | None = None,
    ) -> LiveRecording:
        """Record the bridge's mix into stored recording ``name`` (``format`` ``wav``...).

        ``if_exists``: ``fail``, ``overwrite``, ``append``; ``terminate_on``: ``none``,
        ``any``, ``*``, ``#``.
        """
        return await self._transport.fetch(
            ops.BRIDGES_RECORD,
            LiveRecording,
            {
                "bridgeId": bridge_id,
                "name": name,
                "format": format,
                "maxDurationSeconds": max_duration_seconds,
                "maxSilenceSeconds": max_silence_seconds,
                "ifExists": if_exists,
                "beep": beep,
                "terminateOn": terminate_on,
            },
        )


class EndpointsApi(_Resource):
    """``/endpoints``: operator positions and trunks."""

    async def list(self) -> tuple[Endpoint, ...]:
        """Every endpoint with its state (``online``/``offline``) and channels."""
        return await self._transport.fetch_all(ops.ENDPOINTS_LIST, Endpoint)

    async def list_by_tech(self, tech: str) -> tuple[Endpoint, ...]:
        """Every endpoint of one technology (``PJSIP``)."""
        return await self._transport.fetch_all(ops.ENDPOINTS_LIST_BY_TECH, Endpoint, {"tech": tech})

    async def get(self, tech: str, resource: str) -> Endpoint:
        """One endpoint, ``PJSIP``/``sdis77-op1``."""
        return await self._transport.fetch(
            ops.ENDPOINTS_GET, Endpoint, {"tech": tech, "resource": resource}
        )


class RecordingsApi(_Resource):
    """``/recordings``: recordings in progress (live) and on disk (stored)."""

    async def list_stored(self) -> tuple[StoredRecording, ...]:
        """Every stored recording."""
        return await self._transport.fetch_all(ops.RECORDINGS_LIST_STORED, StoredRecording)

    async def get_stored(self, recording_name: str) -> StoredRecording:
        """One stored recording."""
        return await self._transport.fetch(
            ops.RECORDINGS_GET_STORED, StoredRecording, {"recordingName": recording_name}
        )

    async def delete_stored(self, recording_name: str) -> None:
        """Delete a stored recording."""
        await self._transport.send(ops.RECORDINGS_DELETE_STORED, {"recordingName": recording_name})

    async def get_live(self, recording_name: str) -> LiveRecording:
        """A recording in progress."""
        return await self._transport.fetch(
            ops.RECORDINGS_GET_LIVE, LiveRecording, {"recordingName": recording_name}
        )

    async def stop_live(self, recording_name: str) -> None:
        """Stop a recording and keep it (``RecordingFinished`` follows)."""
        await self._transport.send(ops.RECORDINGS_STOP_LIVE, {"recordingName": recording_name})

    async def cancel_live(self, recording_name: str) -> None:
        """Stop a recording and discard it."""
        await self._transport.send(ops.RECORDINGS_CANCEL_LIVE, {"recordingName": recording_name})


class PlaybacksApi(_Resource):
    """``/playbacks``: media being played."""

    async def get(self, playback_id: str) -> Playback:
        """One playback; ``NotFound`` once finished (or never really started)."""
        return await self._transport.fetch(ops.PLAYBACKS_GET, Playback, {"playbackId": playback_id})

    async def stop(self, playback_id: str) -> None:
        """Stop a playback."""
        await self._transport.send(ops.PLAYBACKS_STOP, {"playbackId": playback_id})


class AriClient:
    """Asterisk's REST interface: one pooled HTTP session, Basic auth, a timeout on
    every request. Use as an async context manager, or call ``close`` at shutdown."""

    def __init__(
        self,
        config: AriConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_connections: int = 32,
        permit: Callable[[], bool] | None = None,
    ) -> None:
        """``permit``, when given, is asked before every request: a request it refuses is
        not sent and raises ``NotPermitted`` (an instance that is not the active one)."""
        self.config = config
        self._transport = RestTransport(
            config,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_connections=max_connections,
            permit=permit,
        )
        self.asterisk = AsteriskApi(self._transport)
        self.applications = ApplicationsApi(self._transport)
        self.channels = ChannelsApi(self._transport)
        self.bridges = BridgesApi(self._transport)
        self.endpoints = EndpointsApi(self._transport)
        self.recordings = RecordingsApi(self._transport)
        self.playbacks = PlaybacksApi(self._transport)

    @property
    def requests(self) -> int:
        """REST requests sent so far."""
        return self._transport.requests

    @property
    def requests_in_flight(self) -> int:
        """Requests sent and not answered (those given up still count while Asterisk may
        be working on them)."""
        return self._transport.gate.in_flight

    @property
    def requests_waiting(self) -> int:
        """Requests held back, waiting for their turn."""
        return self._transport.gate.waiting

    @property
    def request_limit(self) -> int:
        """Requests allowed in flight now: ``max_connections`` unless Asterisk is slow."""
        return self._transport.gate.limit.allowed

    async def close(self) -> None:
        """Release the HTTP connections; further calls raise ``AriConnectionError``."""
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
