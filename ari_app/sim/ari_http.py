"""The ARI REST resources and the event websocket, answering as Asterisk does in the traces."""

from __future__ import annotations

import base64
import binascii
import platform
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import web

from ari_app.sim.dialing import DEFAULT_TIMEOUT_S, OriginateRequest, split_args
from ari_app.sim.endpoints import KNOWN_TECHS, PJSIP
from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply, Router, error_reply
from ari_app.sim.media import silent_wav
from ari_app.sim.model import Bridge, Channel
from ari_app.sim.pbx import Pbx
from ari_app.sim.streams import EventStreams
from ari_app.sim.wire import HANGUP_REASONS, NORMAL_CLEARING, ari_timestamp

EMULATED_VERSION = "GIT-master-f0c1c1a7b7"
DEVICE_STATES = frozenset(
    {
        "NOT_INUSE",
        "INUSE",
        "BUSY",
        "INVALID",
        "UNAVAILABLE",
        "RINGING",
        "RINGINUSE",
        "ONHOLD",
    }
)
PLAYBACK_OPERATIONS = frozenset({"restart", "pause", "unpause", "reverse", "forward"})
MODULES: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "res_ari.so": ("Asterisk RESTful Interface", 11),
        "res_stasis.so": ("Stasis application support", 14),
        "app_stasis.so": ("Stasis dialplan application", 0),
        "res_pjsip.so": ("Basic SIP resource", 48),
        "chan_pjsip.so": ("PJSIP Channel Driver", 0),
        "res_stasis_playback.so": ("Stasis application playback support", 2),
        "res_stasis_recording.so": ("Stasis application recording support", 2),
        "res_musiconhold.so": ("Music On Hold Resource", 2),
    }
)


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


class AriResources:
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

    def asterisk_info(self, call: Call) -> Reply:
        pbx = self._pbx
        started = ari_timestamp(pbx.started_at)
        info: dict[str, Any] = {
            "build": {
                "os": platform.system(),
                "kernel": platform.release(),
                "machine": platform.machine(),
                "options": "OPTIONAL_API",
                "date": started[:10],
                "user": "ari-app-emulator",
            },
            "system": {"version": EMULATED_VERSION, "entity_id": pbx.bus.asterisk_id},
            "config": {
                "name": "",
                "default_language": "en",
                "setid": {"user": "", "group": ""},
            },
            "status": {"startup_time": started, "last_reload_time": started},
        }
        only = call.listing("only")
        if only:
            info = {k: v for k, v in info.items() if k in only}
        return Reply(200, info)

    def asterisk_ping(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "ping": "pong",
                "timestamp": ari_timestamp(self._pbx.now()),
                "asterisk_id": self._pbx.bus.asterisk_id,
            },
        )

    @staticmethod
    def _module(name: str) -> dict[str, Any]:
        description, use_count = MODULES[name]
        return {
            "name": name,
            "description": description,
            "use_count": use_count,
            "status": "Running",
            "support_level": "core",
        }

    def modules(self, call: Call) -> Reply:
        return Reply(200, [self._module(name) for name in MODULES])

    def module(self, call: Call) -> Reply:
        name = call.path["moduleName"]
        if name not in MODULES:
            raise AriError(404, "Module could not be found in running modules")
        return Reply(200, self._module(name))

    def global_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        return Reply(200, {"value": self._pbx.global_variables.get(name, "")})

    def set_global_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        self._pbx.global_variables[name] = call.text("value") or ""
        return Reply(204)

    # endpoints ------------------------------------------------------------------------------

    def endpoints(self, call: Call) -> Reply:
        return Reply(200, [e.snapshot() for e in self._pbx.endpoints.all()])

    def endpoints_by_tech(self, call: Call) -> Reply:
        tech = call.path["tech"]
        known = KNOWN_TECHS.get(tech.lower())
        if known is None:
            raise AriError(404, f"No Endpoints found - invalid tech {tech}")
        endpoints = self._pbx.endpoints.all() if known == PJSIP else []
        return Reply(200, [e.snapshot() for e in endpoints])

    def endpoint(self, call: Call) -> Reply:
        tech, resource = call.path["tech"], call.path["resource"]
        endpoint = self._pbx.endpoints.get(resource)
        if KNOWN_TECHS.get(tech.lower()) != PJSIP or endpoint is None:
            raise AriError(404, "Endpoint not found")
        return Reply(200, endpoint.snapshot())

    # channels -------------------------------------------------------------------------------

    def channels(self, call: Call) -> Reply:
        return Reply(200, [c.snapshot() for c in self._pbx.channels.values()])

    def channel(self, call: Call) -> Reply:
        return Reply(200, self._pbx.channel(call.path["channelId"]).snapshot())

    @staticmethod
    def _variables(call: Call) -> dict[str, str]:
        variables = call.body.get("variables") if isinstance(call.body, dict) else None
        if variables is None:
            return {}
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise AriError(400, "Only string values in the 'variables' object allowed")
        return {str(k): v for k, v in variables.items()}

    def _originate_request(self, call: Call) -> OriginateRequest:
        return OriginateRequest(
            endpoint=call.text("endpoint"),
            app=call.text("app"),
            app_args=call.text("appArgs"),
            extension=call.text("extension"),
            context=call.text("context"),
            priority=call.optional_integer("priority"),
            label=call.text("label"),
            caller_id=call.text("callerId"),
            timeout=call.integer("timeout", DEFAULT_TIMEOUT_S),
            channel_id=call.path.get("channelId") or call.text("channelId"),
            other_channel_id=call.text("otherChannelId"),
            originator=call.text("originator"),
            formats=call.text("formats"),
            variables=self._variables(call),
        )

    def originate(self, call: Call) -> Reply:
        return Reply(200, self._pbx.dialer.originate(self._originate_request(call)))

    def create_channel(self, call: Call) -> Reply:
        return Reply(200, self._pbx.dialer.create(self._originate_request(call)))

    def hangup(self, call: Call) -> Reply:
        channel = self._pbx.channel(call.path["channelId"])
        reason_code, reason = call.text("reason_code"), call.text("reason")
        cause = NORMAL_CLEARING
        if reason_code:
            cause = call.integer("reason_code", NORMAL_CLEARING)
        elif reason:
            if reason not in HANGUP_REASONS:
                raise AriError(400, "Invalid reason for hangup provided", reason="Invalid Reason")
            cause = HANGUP_REASONS[reason]
        # The request event carries Asterisk's explicit-soft-hangup flag, not the cause.
        self._pbx.hangup(
            channel, cause=cause, request={"cause": 32, "soft": True}, ended_by="application"
        )
        return Reply(204)

    def continue_in_dialplan(self, call: Call) -> Reply:
        channel = self._pbx.control_usable(call.path["channelId"])
        context, extension = call.text("context"), call.text("extension")
        location = channel.location
        if not context:
            context, exten = location.context, extension or location.exten
        else:
            exten = extension or "s"
        label, priority = call.text("label"), call.integer("priority", 0)
        if label:
            if not label.isdigit():
                raise AriError(404, "Requested label can not be found")
            target = int(label)
            if target == 0:
                raise AriError(400, "Requested priority is illegal")
        elif priority:
            target = priority
        elif not call.text("context") and not extension:
            target = location.priority + 1
        else:
            target = 1
        self._pbx.continue_in_dialplan(channel, context, exten, target)
        return Reply(204)

    def move(self, call: Call) -> Reply:
        channel = self._pbx.control(call.path["channelId"])
        app = call.required("app")
        self._pbx.move(channel, app, split_args(call.text("appArgs")))
        return Reply(204)

    def answer(self, call: Call) -> Reply:
        self._pbx.answer(self._pbx.control_usable(call.path["channelId"]))
        return Reply(204)

    def no_effect(self, call: Call) -> Reply:
        """Ring, hold, silence, progress: accepted, nothing an application can observe."""
        self._pbx.control_usable(call.path["channelId"])
        return Reply(204)

    def mute(self, call: Call) -> Reply:
        self._pbx.control_usable(call.path["channelId"])
        if call.text("direction") not in (None, "in", "out", "both"):
            raise AriError(400, "Invalid direction specified")
        return Reply(204)

    def send_dtmf(self, call: Call) -> Reply:
        self._pbx.control_usable(call.path["channelId"])
        if not call.text("dtmf"):
            raise AriError(400, "DTMF is required")
        return Reply(204)

    def channel_moh(self, call: Call) -> Reply:
        channel = self._pbx.control_usable(call.path["channelId"])
        channel.moh_class = (call.text("mohClass") or "default") if call.method == "POST" else None
        return Reply(204)

    def _play(self, call: Call, owner: Channel | Bridge, language: str) -> Reply:
        media = call.listing("media")
        if not media:
            raise AriError(400, "Missing parameter media")
        if call.integer("skipms", 3000) < 0:
            raise AriError(400, "skipms cannot be negative")
        if call.integer("offsetms", 0) < 0:
            raise AriError(400, "offsetms cannot be negative")
        playback_id = call.path.get("playbackId") or call.text("playbackId")
        snapshot = self._pbx.media.play(owner, media, call.text("lang") or language, playback_id)
        return Reply(201, snapshot, headers={"Location": f"/ari/playbacks/{snapshot['id']}"})

    def channel_play(self, call: Call) -> Reply:
        channel = self._pbx.control_usable(call.path["channelId"])
        return self._play(call, channel, channel.language)

    def _record(self, call: Call, owner: Channel | Bridge) -> Reply:
        snapshot = self._pbx.media.record(
            owner,
            name=call.text("name") or "",
            fmt=call.text("format") or "",
            max_duration_s=call.integer("maxDurationSeconds", 0),
            if_exists=call.text("ifExists") or "fail",
            terminate_on=call.text("terminateOn") or "none",
        )
        location = f"/ari/recordings/live/{snapshot['name']}"
        return Reply(201, snapshot, headers={"Location": location})

    def channel_record(self, call: Call) -> Reply:
        if call.integer("maxDurationSeconds", 0) < 0:
            raise AriError(400, "max_duration_seconds cannot be negative")
        if call.integer("maxSilenceSeconds", 0) < 0:
            raise AriError(400, "max_silence_seconds cannot be negative")
        return self._record(call, self._pbx.control(call.path["channelId"]))

    def channel_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        channel = self._pbx.channels.get(call.path["channelId"])
        if channel is None:
            raise AriError(404, "Provided channel was not found", reason="Channel Not Found")
        value = channel.variables.get(name, self._pbx.global_variables.get(name))
        if value is None:
            raise AriError(404, "Provided variable was not found", reason="Variable Not Found")
        return Reply(200, {"value": value})

    def set_channel_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        channel = self._pbx.control(call.path["channelId"])
        channel.variables[name] = call.text("value") or ""
        return Reply(204)

    def dial(self, call: Call) -> Reply:
        channel = self._pbx.control(call.path["channelId"])
        self._pbx.dialer.dial(channel, call.text("caller"), call.integer("timeout", 0))
        return Reply(204)

    # bridges --------------------------------------------------------------------------------

    def bridges(self, call: Call) -> Reply:
        return Reply(200, [b.snapshot() for b in self._pbx.bridges.values()])

    def create_bridge(self, call: Call) -> Reply:
        bridge = self._pbx.create_bridge(
            call.text("type"),
            call.text("name") or "",
            call.path.get("bridgeId") or call.text("bridgeId"),
        )
        return Reply(200, bridge.snapshot())

    def bridge(self, call: Call) -> Reply:
        bridge = self._pbx.bridges.get(call.path["bridgeId"])
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return Reply(200, bridge.snapshot())

    def destroy_bridge(self, call: Call) -> Reply:
        self._pbx.destroy_bridge(self._pbx.bridge(call.path["bridgeId"]))
        return Reply(204)

    def _bridge_controls(self, call: Call) -> list[Channel]:
        """The channels named by ``channel``: 400 if one is unknown, 422 if not in Stasis."""
        ids = call.listing("channel")
        if not ids:
            raise AriError(400, "Missing parameter channel")
        channels = []
        for channel_id in ids:
            channel = self._pbx.channels.get(channel_id)
            if channel is None:
                raise AriError(400, "Channel not found")
            if not channel.in_stasis:
                raise AriError(422, "Channel not in Stasis application")
            channels.append(channel)
        return channels

    def add_channel(self, call: Call) -> Reply:
        bridge = self._pbx.bridge(call.path["bridgeId"])
        channels = self._bridge_controls(call)
        for name in ("absorbDTMF", "mute", "inhibitConnectedLineUpdates"):
            call.boolean(name, False)
        for channel in channels:
            self._pbx.add_to_bridge(bridge, channel)
        return Reply(204)

    def remove_channel(self, call: Call) -> Reply:
        bridge = self._pbx.bridge(call.path["bridgeId"])
        channels = self._bridge_controls(call)
        if any(channel.bridge is not bridge for channel in channels):
            raise AriError(422, "Channel not in this bridge")
        for channel in channels:
            self._pbx.leave_bridge(channel, unsubscribe=True)
        return Reply(204)

    def bridge_moh(self, call: Call) -> Reply:
        bridge = self._pbx.bridge(call.path["bridgeId"])
        if call.method == "POST":
            self._pbx.media.start_bridge_moh(bridge, call.text("mohClass"))
        else:
            self._pbx.media.stop_bridge_moh(bridge)
        return Reply(204)

    def bridge_play(self, call: Call) -> Reply:
        return self._play(call, self._pbx.bridge(call.path["bridgeId"]), "en")

    def bridge_record(self, call: Call) -> Reply:
        return self._record(call, self._pbx.bridge(call.path["bridgeId"]))

    def bridge_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        bridge = self._pbx.bridge(call.path["bridgeId"])
        if name not in bridge.variables:
            raise AriError(404, "Provided variable was not found", reason="Variable Not Found")
        return Reply(200, {"value": bridge.variables[name]})

    def set_bridge_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        self._pbx.bridge(call.path["bridgeId"]).variables[name] = call.text("value") or ""
        return Reply(204)

    # recordings -----------------------------------------------------------------------------

    def stored_recordings(self, call: Call) -> Reply:
        return Reply(200, [r.snapshot() for r in self._pbx.media.stored.values()])

    def _stored(self, call: Call) -> str:
        name = call.path["recordingName"]
        if name not in self._pbx.media.stored:
            raise AriError(404, "Recording not found")
        return name

    def stored_recording(self, call: Call) -> Reply:
        return Reply(200, self._pbx.media.stored[self._stored(call)].snapshot())

    def delete_stored_recording(self, call: Call) -> Reply:
        del self._pbx.media.stored[self._stored(call)]
        return Reply(204)

    def stored_recording_file(self, call: Call) -> web.Response:
        recording = self._pbx.media.stored[self._stored(call)]
        return web.Response(
            body=silent_wav(recording.duration_s),
            content_type="audio/wav" if recording.format.startswith("wav") else "audio/basic",
        )

    def copy_stored_recording(self, call: Call) -> Reply:
        source = self._pbx.media.stored[self._stored(call)]
        destination = call.required("destinationRecordingName")
        if destination in self._pbx.media.stored:
            raise AriError(409, "A recording with the same name already exists on the system")
        copy = type(source)(destination, source.format, source.duration_s)
        self._pbx.media.stored[destination] = copy
        return Reply(200, copy.snapshot())

    def _live(self, call: Call) -> Any:
        recording = self._pbx.media.live.get(call.path["recordingName"])
        if recording is None:
            raise AriError(404, "Recording not found")
        return recording

    def live_recording(self, call: Call) -> Reply:
        return Reply(200, self._live(call).snapshot())

    def stop_recording(self, call: Call) -> Reply:
        self._pbx.media.stop_recording(self._live(call))
        return Reply(204)

    def cancel_recording(self, call: Call) -> Reply:
        self._pbx.media.cancel_recording(self._live(call))
        return Reply(204)

    def pause_recording(self, call: Call) -> Reply:
        self._pbx.media.pause_recording(self._live(call), paused=call.method == "POST")
        return Reply(204)

    def mute_recording(self, call: Call) -> Reply:
        recording = self._live(call)
        if recording.state not in ("recording", "paused"):
            raise AriError(409, "Recording not in session")
        return Reply(204)

    # playbacks and sounds --------------------------------------------------------------------

    def _playback(self, call: Call) -> Any:
        playback = self._pbx.media.playbacks.get(call.path["playbackId"])
        if playback is None:
            raise AriError(404, "Playback not found")
        return playback

    def playback(self, call: Call) -> Reply:
        return Reply(200, self._playback(call).snapshot())

    def stop_playback(self, call: Call) -> Reply:
        self._pbx.media.stop(self._playback(call))
        return Reply(204)

    def control_playback(self, call: Call) -> Reply:
        self._playback(call)
        if call.text("operation") not in PLAYBACK_OPERATIONS:
            raise AriError(400, "Invalid operation parameter")
        return Reply(204)

    @staticmethod
    def _sound(name: str) -> dict[str, Any]:
        return {"id": name, "formats": [{"language": "en", "format": "slin"}]}

    def sounds(self, call: Call) -> Reply:
        lang = call.text("lang")
        if lang not in (None, "en"):
            return Reply(200, [])
        return Reply(200, [self._sound(name) for name in self._pbx.media.sounds.names()])

    def sound(self, call: Call) -> Reply:
        name = call.path["soundId"]
        if self._pbx.media.sounds.duration(name) is None:
            raise AriError(404, "Sound not found")
        return Reply(200, self._sound(name))

    # applications ---------------------------------------------------------------------------

    def applications(self, call: Call) -> Reply:
        return Reply(200, [app.to_json() for app in self._pbx.apps.all()])

    def _application(self, call: Call) -> Any:
        app = self._pbx.apps.get(call.path["applicationName"])
        if app is None:
            raise AriError(404, "Application not found")
        return app

    def application(self, call: Call) -> Reply:
        return Reply(200, self._application(call).to_json())

    def subscribe(self, call: Call) -> Reply:
        """``eventSource`` is ``channel:``, ``bridge:``, ``endpoint:`` or ``deviceState:``."""
        pbx = self._pbx
        app = self._application(call)
        sources = call.listing("eventSource")
        if not sources:
            raise AriError(400, "Missing parameter eventSource")
        subscribing = call.method == "POST"
        actions: list[tuple[Callable[[str, str], object], str]] = []
        do: Callable[[str, str], object]
        undo: Callable[[str, str], object]
        for source in sources:
            scheme, _, target = source.partition(":")
            if scheme == "channel":
                exists, counts = target in pbx.channels, app.channels
                do, undo = pbx.apps.subscribe_channel, pbx.apps.unsubscribe_channel
            elif scheme == "bridge":
                exists, counts = target in pbx.bridges, app.bridges
                do, undo = pbx.apps.subscribe_bridge, pbx.apps.unsubscribe_bridge
            elif scheme == "endpoint":
                target, exists = self._endpoint_key(target)
                counts = app.endpoints
                do, undo = pbx.apps.subscribe_endpoint, pbx.apps.unsubscribe_endpoint
            elif scheme == "deviceState":
                exists, counts = bool(target), app.devices
                do, undo = pbx.apps.subscribe_device, pbx.apps.unsubscribe_device
            else:
                raise AriError(400, "Invalid event source URI scheme")
            if not exists:
                raise AriError(422, "Event source does not exist")
            if not subscribing and target not in counts:
                raise AriError(409, "Application not subscribed to event source")
            actions.append((do if subscribing else undo, target))
        for action, target in actions:
            action(app.name, target)
        current = pbx.apps.get(app.name)
        return Reply(200, (current or app).to_json())

    def _endpoint_key(self, target: str) -> tuple[str, bool]:
        tech_given, _, resource = target.partition("/")
        tech = KNOWN_TECHS.get(tech_given.lower())
        if tech is None:
            return target, False
        if not resource:
            return tech, True
        exists = tech == PJSIP and self._pbx.endpoints.get(resource) is not None
        return f"{tech}/{resource}", exists

    def event_filter(self, call: Call) -> Reply:
        app = self._application(call)
        body = call.body if isinstance(call.body, dict) else {}
        allowed, disallowed = body.get("allowed", []), body.get("disallowed", [])
        for rules in (allowed, disallowed):
            if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
                raise AriError(400, "Invalid event filter: 'allowed' and 'disallowed' are lists")
        app.allowed, app.disallowed = list(allowed), list(disallowed)
        return Reply(200, app.to_json())

    # device states, events ------------------------------------------------------------------

    def device_states(self, call: Call) -> Reply:
        devices = self._pbx.custom_devices
        return Reply(200, [{"name": n, "state": s} for n, s in devices.items()])

    def device_state(self, call: Call) -> Reply:
        name = call.path["deviceName"]
        if name in self._pbx.custom_devices:
            state = self._pbx.custom_devices[name]
        elif name.startswith(f"{PJSIP}/"):
            endpoint = self._pbx.endpoints.get(name.partition("/")[2])
            state = endpoint.current_device_state() if endpoint else "INVALID"
        else:
            state = "UNKNOWN"
        return Reply(200, {"name": name, "state": state})

    def set_device_state(self, call: Call) -> Reply:
        name = call.path["deviceName"]
        if not name.startswith("Stasis:"):
            raise AriError(409, "Uncontrolled device specified")
        state = call.required("deviceState")
        if state not in DEVICE_STATES:
            raise AriError(400, f"Invalid device state {state!r}")
        self._pbx.custom_devices[name] = state
        bus = self._pbx.bus
        bus.publish(
            bus.device_recipients(name),
            "DeviceStateChanged",
            {"device_state": {"name": name, "state": state}},
        )
        return Reply(204)

    def delete_device_state(self, call: Call) -> Reply:
        name = call.path["deviceName"]
        if not name.startswith("Stasis:"):
            raise AriError(409, "Uncontrolled device specified")
        if self._pbx.custom_devices.pop(name, None) is None:
            raise AriError(404, "Device name is missing")
        return Reply(204)

    async def events(self, call: Call) -> web.StreamResponse:
        apps = call.listing("app")
        if not apps:
            raise AriError(400, "Missing parameter app")
        ws_ready = web.WebSocketResponse().can_prepare(call.http)
        if not ws_ready.ok:
            raise AriError(400, "The events resource expects a websocket upgrade")
        return await self._streams.serve(call.http, apps, self._pbx.now())

    def user_event(self, call: Call) -> Reply:
        app_name = call.required("application")
        if self._pbx.apps.get(app_name) is None:
            raise AriError(404, "Application not found")
        body = call.body if isinstance(call.body, dict) else {}
        variables = body.get("variables", {})
        bus = self._pbx.bus
        bus.publish(
            bus.app_recipients(app_name),
            "ChannelUserevent",
            {"eventname": call.path["eventName"], "userevent": variables},
        )
        return Reply(204)
