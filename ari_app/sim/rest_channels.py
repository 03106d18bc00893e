"""The emulator's /channels resource: originate, hang up, answer, media, variables, dial."""

from __future__ import annotations

from ari_app.sim.dialing import DEFAULT_TIMEOUT_S, OriginateRequest, split_args
from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply
from ari_app.sim.rest_base import ResourceBase
from ari_app.sim.wire import HANGUP_REASONS, NORMAL_CLEARING


class ChannelResources(ResourceBase):
    """/channels."""

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

    def channel_play(self, call: Call) -> Reply:
        channel = self._pbx.control_usable(call.path["channelId"])
        return self._play(call, channel, channel.language)

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
