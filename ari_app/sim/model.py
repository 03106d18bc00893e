"""What the emulated Asterisk holds: channels and bridges, with their JSON snapshots as in ARI."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ari_app.sim.timers import Timer
from ari_app.sim.wire import ari_timestamp

if TYPE_CHECKING:
    from ari_app.sim.endpoints import Endpoint
    from ari_app.sim.history import CallRecord
    from ari_app.sim.media import LiveRecording, Playback


@dataclass(frozen=True, slots=True)
class Party:
    """A caller id or connected line: display name and number."""

    name: str = ""
    number: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "number": self.number}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a channel is in the dialplan, with the application running there."""

    context: str
    exten: str
    priority: int
    app_name: str = ""
    app_data: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "exten": self.exten,
            "priority": self.priority,
            "app_name": self.app_name,
            "app_data": self.app_data,
        }


OUTGOING_LINE = ("AppDial2", "(Outgoing Line)")


class ChannelKind(enum.Enum):
    """Why a channel exists; decides which events Asterisk sends for it and at its end."""

    CALLER = "caller"  # inbound on the carrier trunk, or the ;2 half of a Local test caller
    ORIGINATED = "originated"  # POST /channels: dialled out, subscribed by the originating app
    CREATED = "created"  # POST /channels/create: in Stasis at once, dialled later
    LOCAL_PEER = "local-peer"  # the ;2 half of an originated Local channel running the dialplan
    DIALPLAN = "dialplan"  # anything else running the dialplan


@dataclass(eq=False, slots=True)
class Channel:
    """One live channel. ``gone`` turns true once it is destroyed; stale references check it."""

    id: str
    name: str
    tech: str
    resource: str
    kind: ChannelKind
    state: str
    protocol_id: str
    caller: Party
    connected: Party
    location: Location
    created_at: float
    home_app: str
    language: str = "en"
    endpoint: Endpoint | None = None
    stasis_app: str | None = None
    bridge: Bridge | None = None
    local_peer: Channel | None = None
    variables: dict[str, str] = field(default_factory=dict)
    timers: list[Timer] = field(default_factory=list)
    playbacks: deque[Playback] = field(default_factory=deque)
    recording: LiveRecording | None = None
    moh_class: str | None = None
    record: CallRecord | None = None
    dial: Any = None  # the dialling attempt while an outbound channel has not answered
    dialstring: str | None = None  # set by POST /channels/create, used by POST .../dial
    gone: bool = False
    hanging_up: bool = False
    creationtime: str = ""

    def __post_init__(self) -> None:
        if not self.creationtime:
            self.creationtime = ari_timestamp(self.created_at)

    @property
    def in_stasis(self) -> bool:
        return self.stasis_app is not None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": self.caller.to_json(),
            "connected": self.connected.to_json(),
            "accountcode": "",
            "dialplan": self.location.to_json(),
            "creationtime": self.creationtime,
            "language": self.language,
        }

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


class InternalRole(enum.Enum):
    """Unreal channels Asterisk puts in a bridge: hidden from REST, gone with the last channel."""

    MOH = "moh"
    ANNOUNCER = "announcer"
    RECORDER = "recorder"


@dataclass(eq=False, slots=True)
class Bridge:
    """A Stasis bridge; ``members`` are real channels, ``order`` every occupant in join order."""

    id: str
    name: str
    bridge_type: str
    created_at: float
    members: dict[str, Channel] = field(default_factory=dict)
    internal: dict[InternalRole, str] = field(default_factory=dict)
    order: dict[str, bool] = field(default_factory=dict)  # id -> is internal
    technology: str = ""
    moh_class: str | None = None
    playbacks: deque[Playback] = field(default_factory=deque)
    recording: LiveRecording | None = None
    variables: dict[str, str] = field(default_factory=dict)
    gone: bool = False
    creationtime: str = ""

    def __post_init__(self) -> None:
        if not self.creationtime:
            self.creationtime = ari_timestamp(self.created_at)
        if not self.technology:
            self.technology = self.resting_technology()

    def resting_technology(self) -> str:
        """The technology Asterisk's smart bridge settles on for the current occupants."""
        if self.bridge_type == "holding":
            return "holding_bridge"
        if self.internal:
            return "softmix"
        if len(self.members) == 2 and all(c.tech == "PJSIP" for c in self.members.values()):
            return "native_rtp"
        return "simple_bridge"

    def snapshot(self, *, with_internal: bool = False) -> dict[str, Any]:
        """REST shows only real channels; events also list the unreal MOH, announcer, recorder."""
        if with_internal:
            channels = list(self.order)
        else:
            channels = [cid for cid, internal in self.order.items() if not internal]
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": channels,
            "creationtime": self.creationtime,
            "video_mode": "talker",
        }
