"""Playbacks, music on hold and recordings, on channels and bridges.

Playbacks on one channel (or one bridge) play one after another. A ``sound:`` file
plays for its duration, a missing one fails at once (``PlaybackFinished`` state
``failed``), an unknown URI scheme starts and never finishes, and such a playback is
not listed under ``/playbacks`` (trace i). Bridge MOH, bridge playbacks and bridge
recordings push unreal channels into the bridge: each consumes two channel ids,
appears in the ``channels`` of bridge events but not in REST, turns a mixing bridge
to ``softmix``, and leaves when the last real channel does (traces e, g).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ari_app.sim.bus import Recipients
from ari_app.sim.errors import AriError
from ari_app.sim.model import Bridge, Channel, InternalRole
from ari_app.sim.sounds import SAY_UNIT_S, SoundLibrary
from ari_app.sim.timers import Timer

if TYPE_CHECKING:
    from ari_app.sim.pbx import Pbx

# File extensions Asterisk has formats for (ast_get_format_for_file_ext).
RECORDING_FORMATS = frozenset(
    {"wav", "wav16", "gsm", "ulaw", "alaw", "sln", "slin", "g722", "g729", "ogg"}
)
TERMINATE_ON = frozenset({"none", "any", "*", "#"})
IF_EXISTS = frozenset({"fail", "overwrite", "append"})

Owner = Channel | Bridge


def target_uri(owner: Owner) -> str:
    return f"channel:{owner.id}" if isinstance(owner, Channel) else f"bridge:{owner.id}"


@dataclass(eq=False)
class Playback:
    id: str
    media: list[str]
    language: str
    owner: Owner
    state: str = "queued"
    index: int = 0
    timer: Timer | None = None

    def snapshot(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "media_uri": self.media[self.index],
            "target_uri": target_uri(self.owner),
            "language": self.language,
            "state": self.state,
        }
        if self.index + 1 < len(self.media):
            body["next_media_uri"] = self.media[self.index + 1]
        return body


@dataclass(eq=False)
class LiveRecording:
    name: str
    format: str
    owner: Owner
    started_at: float
    if_exists: str
    terminate_on: str
    state: str = "queued"
    paused_since: float | None = None
    paused_s: float = 0.0
    duration_s: float | None = None
    timer: Timer | None = None

    def snapshot(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": target_uri(self.owner),
        }
        if self.duration_s is not None:
            # Whole seconds, as Asterisk reports; the epsilon absorbs clock arithmetic.
            body["duration"] = int(self.duration_s + 1e-6)
        return body


@dataclass(frozen=True)
class StoredRecording:
    name: str
    format: str
    duration_s: float = field(default=0.0, compare=False)

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format}


class Media:
    def __init__(self, pbx: Pbx, sounds: SoundLibrary) -> None:
        self._pbx = pbx
        self.sounds = sounds
        self.playbacks: dict[str, Playback] = {}
        self.live: dict[str, LiveRecording] = {}
        self.stored: dict[str, StoredRecording] = {}
        self.playbacks_queued = 0  # since the start, for benchmarks

    def _recipients(self, owner: Owner) -> Recipients:
        bus = self._pbx.bus
        if isinstance(owner, Channel):
            return bus.channel_recipients(owner)
        return bus.bridge_recipients(owner)

    # Playbacks ------------------------------------------------------------------------------

    def play(
        self, owner: Owner, media: list[str], language: str, playback_id: str | None
    ) -> dict[str, Any]:
        """Queue a playback; return its snapshot as the 201 response shows it (queued)."""
        if playback_id and playback_id in self.playbacks:
            raise AriError(500, "Failed to queue media for playback")
        if isinstance(owner, Bridge) and InternalRole.ANNOUNCER not in owner.internal:
            self._add_internal(owner, InternalRole.ANNOUNCER)
        playback = Playback(
            id=playback_id or self._pbx.ids.uuid(), media=media, language=language, owner=owner
        )
        queued = playback.snapshot()
        self.playbacks_queued += 1
        self.playbacks[playback.id] = playback
        owner.playbacks.append(playback)
        if len(owner.playbacks) == 1:
            self._start(playback)
        return queued

    def _length(self, uri: str) -> float | str:
        """Seconds the media plays, ``"failed"``, ``"forever"`` or ``"unsupported"``."""
        scheme, _, rest = uri.partition(":")
        if scheme == "sound":
            duration = self.sounds.duration(rest)
            return "failed" if duration is None else float(duration)
        if scheme == "recording":
            stored = self.stored.get(rest)
            return "failed" if stored is None else float(stored.duration_s)
        if scheme in ("digits", "number", "characters"):
            return SAY_UNIT_S * max(1, len(rest))
        if scheme == "tone":
            return "forever"
        return "unsupported"

    def _start(self, playback: Playback) -> None:
        playback.state = "playing"
        self._publish(playback, "PlaybackStarted")
        self._play_current(playback)

    def _play_current(self, playback: Playback) -> None:
        length = self._length(playback.media[playback.index])
        if length == "unsupported":
            # Asterisk forgets it at once: no PlaybackFinished, and GET /playbacks/{id} is 404.
            self._forget(playback)
        elif length == "failed":
            playback.state = "failed"
            self._publish(playback, "PlaybackFinished")
            self._forget(playback)
        elif isinstance(length, float):
            playback.timer = self._pbx.timers.after(
                length, lambda: self._media_done(playback), f"playback-{playback.id}"
            )

    def _media_done(self, playback: Playback) -> None:
        if playback.index + 1 < len(playback.media):
            playback.index += 1
            playback.state = "continuing"
            self._publish(playback, "PlaybackContinuing")
            playback.state = "playing"
            self._play_current(playback)
            return
        self._finish(playback)

    def _finish(self, playback: Playback) -> None:
        if playback.timer is not None:
            playback.timer.cancel()
        playback.state = "done"
        self._publish(playback, "PlaybackFinished")
        self._forget(playback)

    def _forget(self, playback: Playback) -> None:
        """Drop a playback that ended and start the next one queued on the same target."""
        self.playbacks.pop(playback.id, None)
        queue = playback.owner.playbacks
        was_current = bool(queue) and queue[0] is playback
        if playback in queue:
            queue.remove(playback)
        if was_current and queue and not playback.owner.gone:
            self._start(queue[0])

    def stop(self, playback: Playback) -> None:
        """``DELETE /playbacks/{id}``: the playing one finishes (done), a queued one vanishes."""
        queue = playback.owner.playbacks
        if queue and queue[0] is playback and playback.state != "queued":
            self._finish(playback)
        else:
            self.playbacks.pop(playback.id, None)
            if playback in queue:
                queue.remove(playback)

    def stop_all(self, owner: Owner) -> None:
        queue = owner.playbacks
        while queue:
            playback = queue.popleft()
            self.playbacks.pop(playback.id, None)
            if playback.state != "queued":
                if playback.timer is not None:
                    playback.timer.cancel()
                playback.state = "done"
                self._publish(playback, "PlaybackFinished")

    def stop_channel_playbacks(self, channel: Channel) -> None:
        self.stop_all(channel)

    def _publish(self, playback: Playback, event_type: str) -> None:
        bus = self._pbx.bus
        bus.publish(
            self._recipients(playback.owner),
            event_type,
            lambda: {"playback": playback.snapshot()},
        )

    # Channel and bridge life ----------------------------------------------------------------

    def channel_ending(self, channel: Channel) -> None:
        self.stop_all(channel)
        if channel.recording is not None:
            self._finish_recording(channel.recording, "done")

    def bridge_emptied(self, bridge: Bridge) -> None:
        """The last real channel left: the lonely unreal channels leave too."""
        if InternalRole.MOH in bridge.internal:
            self._remove_internal(bridge, InternalRole.MOH)
            bridge.moh_class = None
        if InternalRole.ANNOUNCER in bridge.internal:
            self.stop_all(bridge)
            self._remove_internal(bridge, InternalRole.ANNOUNCER)
        if bridge.recording is not None:
            self._finish_recording(bridge.recording, "done")

    def _add_internal(self, bridge: Bridge, role: InternalRole) -> None:
        ids = self._pbx.ids
        ids.unique_id()  # the ;1 half stays outside the bridge
        channel_id = ids.unique_id()
        bridge.internal[role] = channel_id
        bridge.order[channel_id] = True
        bridge.technology = bridge.resting_technology()

    def _remove_internal(self, bridge: Bridge, role: InternalRole) -> None:
        channel_id = bridge.internal.pop(role, None)
        if channel_id is not None:
            bridge.order.pop(channel_id, None)
            bridge.technology = bridge.resting_technology()

    # Music on hold --------------------------------------------------------------------------

    def start_bridge_moh(self, bridge: Bridge, moh_class: str | None) -> None:
        if InternalRole.MOH not in bridge.internal:
            self._add_internal(bridge, InternalRole.MOH)
        bridge.moh_class = moh_class or "default"

    def stop_bridge_moh(self, bridge: Bridge) -> None:
        if InternalRole.MOH not in bridge.internal:
            raise AriError(409, "Bridge isn't playing music")
        self._remove_internal(bridge, InternalRole.MOH)
        bridge.moh_class = None

    # Recordings -----------------------------------------------------------------------------

    def record(
        self,
        owner: Owner,
        *,
        name: str,
        fmt: str,
        max_duration_s: int,
        if_exists: str,
        terminate_on: str,
    ) -> dict[str, Any]:
        """Start recording ``owner``; return the LiveRecording as the 201 shows it (queued)."""
        if fmt not in RECORDING_FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        if terminate_on not in TERMINATE_ON:
            raise AriError(400, "terminateOn invalid")
        if if_exists not in IF_EXISTS:
            raise AriError(400, "ifExists invalid")
        if not name or name.startswith("/") or "../" in name:
            raise AriError(400, "Recording name invalid")
        exists_message = f"Recording '{name}' already exists and can not be overwritten"
        if name in self.live or (name in self.stored and if_exists == "fail"):
            raise AriError(409, exists_message)
        if isinstance(owner, Bridge):
            if owner.recording is not None:
                raise AriError(409, exists_message)
            self._add_internal(owner, InternalRole.RECORDER)
        elif owner.recording is not None:
            raise AriError(409, exists_message)
        recording = LiveRecording(
            name=name,
            format=fmt,
            owner=owner,
            started_at=self._pbx.now(),
            if_exists=if_exists,
            terminate_on=terminate_on,
        )
        queued = recording.snapshot()
        self.live[name] = recording
        owner.recording = recording
        recording.state = "recording"
        self._publish_recording(recording, "RecordingStarted")
        if max_duration_s > 0:
            recording.timer = self._pbx.timers.after(
                max_duration_s,
                lambda: self._finish_recording(recording, "done"),
                f"recording-{name}",
            )
        return queued

    def stop_recording(self, recording: LiveRecording) -> None:
        self._finish_recording(recording, "done")

    def cancel_recording(self, recording: LiveRecording) -> None:
        self._finish_recording(recording, "canceled")

    def pause_recording(self, recording: LiveRecording, paused: bool) -> None:
        if recording.state not in ("recording", "paused"):
            raise AriError(409, "Recording not in session")
        now = self._pbx.now()
        if paused and recording.paused_since is None:
            recording.paused_since = now
            recording.state = "paused"
        elif not paused and recording.paused_since is not None:
            recording.paused_s += now - recording.paused_since
            recording.paused_since = None
            recording.state = "recording"

    def dtmf_received(self, channel: Channel, digit: str) -> None:
        recording = channel.recording
        if recording is not None and recording.terminate_on in ("any", digit):
            self._finish_recording(recording, "done")

    def _finish_recording(self, recording: LiveRecording, state: str) -> None:
        if self.live.get(recording.name) is not recording:
            return
        now = self._pbx.now()
        if recording.timer is not None:
            recording.timer.cancel()
        if recording.paused_since is not None:
            recording.paused_s += now - recording.paused_since
            recording.paused_since = None
        del self.live[recording.name]
        owner = recording.owner
        owner.recording = None
        if isinstance(owner, Bridge):
            self._remove_internal(owner, InternalRole.RECORDER)
        recording.duration_s = max(0.0, now - recording.started_at - recording.paused_s)
        recording.state = state
        if state == "done":
            previous = self.stored.get(recording.name)
            total = recording.duration_s
            if previous is not None and recording.if_exists == "append":
                total += previous.duration_s
            self.stored[recording.name] = StoredRecording(recording.name, recording.format, total)
        self._publish_recording(recording, "RecordingFinished")

    def _publish_recording(self, recording: LiveRecording, event_type: str) -> None:
        self._pbx.bus.publish(
            self._recipients(recording.owner),
            event_type,
            lambda: {"recording": recording.snapshot()},
        )


def silent_wav(duration_s: float, rate: int = 8000) -> bytes:
    """A WAV file of silence (16-bit mono), what a stored recording's ``/file`` returns."""
    frames = int(max(0.0, duration_s) * rate)
    data = b"\x00\x00" * frames
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(data),
    )
    return header + data
