"""The ARI REST resources and the event websocket, answering as Asterisk does in the traces."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from aiohttp import web

from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply, Router, error_reply
from ari_app.sim.pbx import Pbx
from ari_app.sim.rest_bridges import BridgeResources
from ari_app.sim.rest_channels import ChannelResources
from ari_app.sim.rest_media import MediaResources
from ari_app.sim.rest_system import SystemResources
from ari_app.sim.streams import EventStreams


def authenticated_user(request: web.Request, users: Mapping[str, str]) -> str | None:
    """The ARI user of ``request`` (Basic auth or ``api_key=user:password``), or None."""
    credentials: str | None = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            credentials = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif "api_key" in request.query:
        credentials = request.query["api_key"]
    if credentials is None or ":" not in credentials:
        return None
    user, _, password = credentials.partition(":")
    return user if users.get(user) == password else None


def unauthorized() -> web.Response:
    reply = error_reply(AriError(401, "Authentication required"))
    reply.headers["WWW-Authenticate"] = 'Basic realm="Asterisk REST Interface"'
    return reply.to_response()


def not_emulated(call: Call) -> Reply:
    raise AriError(501, f"The emulator does not implement {call.method} {call.http.path}")


class AriResources(SystemResources, ChannelResources, BridgeResources, MediaResources):
    """Handlers of every ARI resource, over one :class:`Pbx`."""

    def __init__(self, pbx: Pbx, streams: EventStreams, users: Mapping[str, str]) -> None:
        self._pbx = pbx
        self._streams = streams
        self._users = users
        self.router = Router()
        self._register()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if authenticated_user(request, self._users) is None:
            return unauthorized()
        return await self.router.dispatch(request, "/ari")

    def _register(self) -> None:  # noqa: PLR0915 - one line per ARI route reads best as a table
        add = self.router.add
        # asterisk
        add("GET", "/asterisk/info", self.asterisk_info)
        add("GET", "/asterisk/ping", self.asterisk_ping)
        add("GET", "/asterisk/modules", self.modules)
        add("GET", "/asterisk/modules/{moduleName}", self.module)
        for method in ("POST", "DELETE", "PUT"):
            add(method, "/asterisk/modules/{moduleName}", not_emulated)
        add("GET", "/asterisk/logging", lambda call: Reply(200, []))
        add("POST", "/asterisk/logging/{logChannelName}", not_emulated)
        add("DELETE", "/asterisk/logging/{logChannelName}", not_emulated)
        add("PUT", "/asterisk/logging/{logChannelName}/rotate", not_emulated)
        add("GET", "/asterisk/variable", self.global_variable)
        add("POST", "/asterisk/variable", self.set_global_variable)
        for method in ("GET", "PUT", "DELETE"):
            add(method, "/asterisk/config/dynamic/{configClass}/{objectType}/{id}", not_emulated)
        # endpoints
        add("GET", "/endpoints", self.endpoints)
        add("PUT", "/endpoints/sendMessage", not_emulated)
        add("POST", "/endpoints/refer", not_emulated)
        add("GET", "/endpoints/{tech}", self.endpoints_by_tech)
        add("GET", "/endpoints/{tech}/{resource}", self.endpoint)
        add("PUT", "/endpoints/{tech}/{resource}/sendMessage", not_emulated)
        add("POST", "/endpoints/{tech}/{resource}/refer", not_emulated)
        # channels
        add("GET", "/channels", self.channels)
        add("POST", "/channels", self.originate)
        add("POST", "/channels/create", self.create_channel)
        add("POST", "/channels/externalMedia", not_emulated)
        add("GET", "/channels/{channelId}", self.channel)
        add("POST", "/channels/{channelId}", self.originate)
        add("DELETE", "/channels/{channelId}", self.hangup)
        add("POST", "/channels/{channelId}/continue", self.continue_in_dialplan)
        add("POST", "/channels/{channelId}/move", self.move)
        add("POST", "/channels/{channelId}/redirect", not_emulated)
        add("POST", "/channels/{channelId}/answer", self.answer)
        for name in ("ring", "hold", "silence"):
            add("POST", f"/channels/{{channelId}}/{name}", self.no_effect)
            add("DELETE", f"/channels/{{channelId}}/{name}", self.no_effect)
        add("POST", "/channels/{channelId}/progress", self.no_effect)
        add("POST", "/channels/{channelId}/mute", self.mute)
        add("DELETE", "/channels/{channelId}/mute", self.mute)
        add("POST", "/channels/{channelId}/dtmf", self.send_dtmf)
        add("POST", "/channels/{channelId}/moh", self.channel_moh)
        add("DELETE", "/channels/{channelId}/moh", self.channel_moh)
        add("POST", "/channels/{channelId}/play", self.channel_play)
        add("POST", "/channels/{channelId}/play/{playbackId}", self.channel_play)
        add("POST", "/channels/{channelId}/record", self.channel_record)
        add("GET", "/channels/{channelId}/variable", self.channel_variable)
        add("POST", "/channels/{channelId}/variable", self.set_channel_variable)
        add("GET", "/channels/{channelId}/variables", not_emulated)
        add("POST", "/channels/{channelId}/variables", not_emulated)
        add("POST", "/channels/{channelId}/snoop", not_emulated)
        add("POST", "/channels/{channelId}/snoop/{snoopId}", not_emulated)
        add("POST", "/channels/{channelId}/dial", self.dial)
        add("GET", "/channels/{channelId}/rtp_statistics", not_emulated)
        add("POST", "/channels/{channelId}/transfer_progress", not_emulated)
        # bridges
        add("GET", "/bridges", self.bridges)
        add("POST", "/bridges", self.create_bridge)
        add("GET", "/bridges/{bridgeId}", self.bridge)
        add("POST", "/bridges/{bridgeId}", self.create_bridge)
        add("DELETE", "/bridges/{bridgeId}", self.destroy_bridge)
        add("POST", "/bridges/{bridgeId}/addChannel", self.add_channel)
        add("POST", "/bridges/{bridgeId}/removeChannel", self.remove_channel)
        add("POST", "/bridges/{bridgeId}/videoSource/{channelId}", not_emulated)
        add("DELETE", "/bridges/{bridgeId}/videoSource", not_emulated)
        add("POST", "/bridges/{bridgeId}/moh", self.bridge_moh)
        add("DELETE", "/bridges/{bridgeId}/moh", self.bridge_moh)
        add("POST", "/bridges/{bridgeId}/play", self.bridge_play)
        add("POST", "/bridges/{bridgeId}/play/{playbackId}", self.bridge_play)
        add("POST", "/bridges/{bridgeId}/record", self.bridge_record)
        add("GET", "/bridges/{bridgeId}/variable", self.bridge_variable)
        add("POST", "/bridges/{bridgeId}/variable", self.set_bridge_variable)
        add("GET", "/bridges/{bridgeId}/variables", not_emulated)
        add("POST", "/bridges/{bridgeId}/variables", not_emulated)
        # recordings
        add("GET", "/recordings/stored", self.stored_recordings)
        add("GET", "/recordings/stored/{recordingName}", self.stored_recording)
        add("DELETE", "/recordings/stored/{recordingName}", self.delete_stored_recording)
        add("GET", "/recordings/stored/{recordingName}/file", self.stored_recording_file)
        add("POST", "/recordings/stored/{recordingName}/copy", self.copy_stored_recording)
        add("GET", "/recordings/live/{recordingName}", self.live_recording)
        add("DELETE", "/recordings/live/{recordingName}", self.cancel_recording)
        add("POST", "/recordings/live/{recordingName}/stop", self.stop_recording)
        add("POST", "/recordings/live/{recordingName}/pause", self.pause_recording)
        add("DELETE", "/recordings/live/{recordingName}/pause", self.pause_recording)
        add("POST", "/recordings/live/{recordingName}/mute", self.mute_recording)
        add("DELETE", "/recordings/live/{recordingName}/mute", self.mute_recording)
        # playbacks and sounds
        add("GET", "/playbacks/{playbackId}", self.playback)
        add("DELETE", "/playbacks/{playbackId}", self.stop_playback)
        add("POST", "/playbacks/{playbackId}/control", self.control_playback)
        add("GET", "/sounds", self.sounds)
        add("GET", "/sounds/{soundId}", self.sound)
        # applications
        add("GET", "/applications", self.applications)
        add("GET", "/applications/{applicationName}", self.application)
        add("POST", "/applications/{applicationName}/subscription", self.subscribe)
        add("DELETE", "/applications/{applicationName}/subscription", self.subscribe)
        add("PUT", "/applications/{applicationName}/eventFilter", self.event_filter)
        # device states, mailboxes, events
        add("GET", "/deviceStates", self.device_states)
        add("GET", "/deviceStates/{deviceName}", self.device_state)
        add("PUT", "/deviceStates/{deviceName}", self.set_device_state)
        add("DELETE", "/deviceStates/{deviceName}", self.delete_device_state)
        add("GET", "/mailboxes", lambda call: Reply(200, []))
        for method in ("GET", "PUT", "DELETE"):
            add(method, "/mailboxes/{mailboxName}", not_emulated)
        add("GET", "/events", self.events)
        add("POST", "/events/user/{eventName}", self.user_event)
        add("POST", "/events/claim", not_emulated)

    # asterisk -------------------------------------------------------------------------------
