"""The emulator's /bridges resource."""

from __future__ import annotations

from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply
from ari_app.sim.model import Channel
from ari_app.sim.rest_base import ResourceBase


class BridgeResources(ResourceBase):
    """/bridges."""

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
