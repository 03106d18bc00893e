"""What the emulator's ARI resources share: the PBX they answer for, and the media
requests that channels and bridges take alike."""

from __future__ import annotations

from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply
from ari_app.sim.model import Bridge, Channel
from ari_app.sim.pbx import Pbx
from ari_app.sim.streams import EventStreams


class ResourceBase:
    """The state every resource's handlers read."""

    _pbx: Pbx
    _streams: EventStreams

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
