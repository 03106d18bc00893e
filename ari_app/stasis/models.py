"""Asterisk's REST resources as pydantic models.

Field names are exactly those of Asterisk's JSON (ARI 12, ``api-docs/*.json``);
a field is optional only where the Swagger or recorded traffic shows it can be
absent. Unknown fields are kept (``extra="allow"``) so a newer Asterisk adding
fields breaks nothing; models are immutable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class AriModel(BaseModel):
    """Base of every ARI model: unknown fields kept, instances immutable."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


def describe_validation_error(error: ValidationError) -> str:
    """The first problems of a validation error as ``field: reason`` pairs, on one line."""
    parts = []
    for problem in error.errors()[:3]:
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        parts.append(f"{where}: {problem['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class CallerID(AriModel):
    """A caller or connected-line identity."""

    name: str
    number: str


class DialplanCEP(AriModel):
    """Where a channel is in the dialplan (context, extension, priority) and what runs there."""

    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str


class Channel(AriModel):
    """A channel. ``state`` seen: ``Down``, ``Ring`` (inbound, unanswered),
    ``Ringing`` (outbound, alerting), ``Up``; Asterisk knows a few more."""

    id: str
    protocol_id: str
    name: str
    state: str
    caller: CallerID
    connected: CallerID
    accountcode: str
    dialplan: DialplanCEP
    creationtime: datetime
    language: str
    channelvars: dict[str, Any] | None = None
    caller_rdnis: str | None = None
    tenantid: str | None = None


class Dialed(AriModel):
    """A dialed channel (Asterisk defines no fields)."""


class Bridge(AriModel):
    """A bridge. Only ``bridge_type`` (``mixing``, ``holding``) is stable: ``technology``
    changes on its own (``simple_bridge``, ``native_rtp``, ``softmix`` while recording),
    and music-on-hold players and recorders are not listed in ``channels``."""

    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    creator: str
    name: str
    channels: list[str]
    creationtime: datetime
    video_mode: str | None = None
    video_source_id: str | None = None
    bridgevars: dict[str, Any] | None = None


class Playback(AriModel):
    """A media playback; ``state``: ``queued``, ``playing``, ``done``, ``failed``, ..."""

    id: str
    media_uri: str
    target_uri: str
    state: str
    next_media_uri: str | None = None
    language: str | None = None


class LiveRecording(AriModel):
    """A recording in progress (``target_uri`` like ``bridge:<id>``)."""

    name: str
    format: str
    target_uri: str
    state: str
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None


class StoredRecording(AriModel):
    """A finished recording on Asterisk's disk."""

    name: str
    format: str


class Endpoint(AriModel):
    """An endpoint such as ``PJSIP/sdis77-op1``; ``state`` is ``online`` or ``offline``."""

    technology: str
    resource: str
    channel_ids: list[str]
    state: str | None = None

    @property
    def ref(self) -> str:
        """``technology/resource``, as used to originate (``PJSIP/sdis77-op1``)."""
        return f"{self.technology}/{self.resource}"


class DeviceState(AriModel):
    """A device state (``NOT_INUSE``, ``INUSE``, ``RINGING``, ``UNAVAILABLE``, ...)."""

    name: str
    state: str


class Application(AriModel):
    """A Stasis application and what it is subscribed to."""

    name: str
    channel_ids: list[str]
    bridge_ids: list[str]
    endpoint_ids: list[str]
    device_names: list[str]
    events_allowed: list[dict[str, Any]]
    events_disallowed: list[dict[str, Any]]


class BuildInfo(AriModel):
    """How Asterisk was built."""

    os: str
    kernel: str
    options: str
    machine: str
    date: str
    user: str


class SystemInfo(AriModel):
    """Asterisk's version and entity id."""

    version: str
    entity_id: str


class SetId(AriModel):
    """User and group Asterisk runs as."""

    user: str
    group: str


class ConfigInfo(AriModel):
    """Asterisk's main configuration."""

    name: str
    default_language: str
    setid: SetId
    max_channels: int | None = None
    max_open_files: int | None = None
    max_load: float | None = None


class StatusInfo(AriModel):
    """When Asterisk started and last reloaded."""

    startup_time: datetime
    last_reload_time: datetime


class AsteriskInfo(AriModel):
    """``GET /asterisk/info``; each section may be left out (``only=``)."""

    build: BuildInfo | None = None
    system: SystemInfo | None = None
    config: ConfigInfo | None = None
    status: StatusInfo | None = None


class AsteriskPing(AriModel):
    """``GET /asterisk/ping``: ``{"ping": "pong", "timestamp", "asterisk_id"}``."""

    asterisk_id: str
    ping: str
    timestamp: str


class Variable(AriModel):
    """The value of a channel (or global) variable."""

    value: str


class TextMessage(AriModel):
    """A text message (SIP MESSAGE)."""

    from_: str = Field(alias="from")
    to: str
    body: str
    variables: dict[str, Any] | None = None


class ContactInfo(AriModel):
    """A SIP contact's status (``Reachable``, ``Unreachable``, ``NonQualified``, ``Removed``...)."""

    uri: str
    contact_status: str
    aor: str
    roundtrip_usec: str | None = None


class Peer(AriModel):
    """A SIP peer's status (``Reachable``, ``Unreachable``, ...)."""

    peer_status: str
    cause: str | None = None
    address: str | None = None
    port: str | None = None
    time: str | None = None


class AdditionalParam(AriModel):
    """A protocol parameter of a transfer destination."""

    parameter_name: str
    parameter_value: str


class RequiredDestination(AriModel):
    """Where a transfer was asked to go."""

    protocol_id: str | None = None
    destination: str | None = None
    additional_protocol_params: list[AdditionalParam] | None = None


class ReferTo(AriModel):
    """The target of a SIP REFER."""

    requested_destination: RequiredDestination
    destination_channel: Channel | None = None
    connected_channel: Channel | None = None
    bridge: Bridge | None = None


class ReferredBy(AriModel):
    """The origin of a SIP REFER."""

    source_channel: Channel
    connected_channel: Channel | None = None
    bridge: Bridge | None = None
