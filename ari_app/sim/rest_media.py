"""The emulator's recordings, playbacks and sounds."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply
from ari_app.sim.media import silent_wav
from ari_app.sim.rest_base import ResourceBase

PLAYBACK_OPERATIONS = frozenset({"restart", "pause", "unpause", "reverse", "forward"})


class MediaResources(ResourceBase):
    """/recordings, /playbacks, /sounds."""

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
