"""ARI websocket messages as pydantic models, keyed on their ``type``.

Every message type of ARI 12 (``api-docs/events.json``) has a model here with
Asterisk's field names; unknown fields are kept. ``parse_event`` turns one
websocket message into its model, an ``UnknownEvent`` (a type this module does
not know, raw JSON kept), or raises ``MalformedEvent`` (not JSON, no type, or a
known type with a broken shape), which the event stream logs and skips.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union, cast

from pydantic import Discriminator, PrivateAttr, TypeAdapter, ValidationError

from ari_app.stasis.models import (
    AriModel,
    Bridge,
    Channel,
    ContactInfo,
    DeviceState,
    Endpoint,
    LiveRecording,
    Peer,
    Playback,
    ReferredBy,
    ReferTo,
    TextMessage,
    describe_validation_error,
)


class Message(AriModel):
    """Any message of the websocket."""

    type: str
    asterisk_id: str | None = None
    # The hash of the message as received (0 when built otherwise): copies that Asterisk
    # sends once per matching subscription are byte-identical, so they share it.
    _digest: int = PrivateAttr(default=0)

    @property
    def digest(self) -> int:
        """A hash of the message as received, else of its content."""
        return self._digest or hash(self.model_dump_json())


class Event(Message):
    """An event of a Stasis application: ``application`` and ``timestamp`` always set."""

    application: str
    timestamp: datetime


class MissingParams(Message):
    """Asterisk's answer to a websocket opened without a required parameter."""

    type: Literal["MissingParams"] = "MissingParams"
    params: list[str]


# --- Channels ---------------------------------------------------------------------------


class StasisStart(Event):
    """A channel entered the application; ``args`` are those of ``Stasis(app, args...)``."""

    type: Literal["StasisStart"] = "StasisStart"
    args: list[str]
    channel: Channel
    replace_channel: Channel | None = None


class StasisEnd(Event):
    """A channel left the application (hung up, continued or moved).

    For inbound callers this is the last event: no ``ChannelDestroyed`` follows.
    """

    type: Literal["StasisEnd"] = "StasisEnd"
    channel: Channel


class ChannelCreated(Event):
    """A channel was created (delivered for subscribed endpoints)."""

    type: Literal["ChannelCreated"] = "ChannelCreated"
    channel: Channel


class ChannelDestroyed(Event):
    """A channel the application is subscribed to outside Stasis (one it originated) is gone.

    ``cause`` / ``cause_txt`` are the real reason (16 normal, 17 busy, 19 no answer);
    ``tech_cause`` is the SIP status when there is one.
    """

    type: Literal["ChannelDestroyed"] = "ChannelDestroyed"
    cause: int
    cause_txt: str
    channel: Channel
    tech_cause: int | None = None


class ChannelStateChange(Event):
    """A channel's ``state`` changed (``Ringing``, ``Up``...)."""

    type: Literal["ChannelStateChange"] = "ChannelStateChange"
    channel: Channel


class ChannelHangupRequest(Event):
    """Hangup requested. ``cause`` is absent for a remote BYE, 32 with ``soft`` for
    ``DELETE /channels``; use ``ChannelDestroyed.cause`` for the real reason."""

    type: Literal["ChannelHangupRequest"] = "ChannelHangupRequest"
    channel: Channel
    cause: int | None = None
    tech_cause: int | None = None
    soft: bool | None = None


class ChannelEnteredBridge(Event):
    """A channel entered a bridge."""

    type: Literal["ChannelEnteredBridge"] = "ChannelEnteredBridge"
    bridge: Bridge
    channel: Channel | None = None


class ChannelLeftBridge(Event):
    """A channel left a bridge."""

    type: Literal["ChannelLeftBridge"] = "ChannelLeftBridge"
    bridge: Bridge
    channel: Channel


class ChannelDtmfReceived(Event):
    """A DTMF digit was received on a channel."""

    type: Literal["ChannelDtmfReceived"] = "ChannelDtmfReceived"
    digit: str
    duration_ms: int
    channel: Channel


class ChannelDialplan(Event):
    """A channel's dialplan location changed."""

    type: Literal["ChannelDialplan"] = "ChannelDialplan"
    channel: Channel
    dialplan_app: str
    dialplan_app_data: str


class ChannelCallerId(Event):
    """A channel's caller id changed."""

    type: Literal["ChannelCallerId"] = "ChannelCallerId"
    caller_presentation: int
    caller_presentation_txt: str
    channel: Channel


class ChannelConnectedLine(Event):
    """A channel's connected line changed."""

    type: Literal["ChannelConnectedLine"] = "ChannelConnectedLine"
    channel: Channel


class ChannelVarset(Event):
    """A variable was set; ``channel`` is absent for global variables."""

    type: Literal["ChannelVarset"] = "ChannelVarset"
    variable: str
    value: str
    channel: Channel | None = None


class ChannelUserevent(Event):
    """A user event (``UserEvent()`` in the dialplan or ``POST /events/user``)."""

    type: Literal["ChannelUserevent"] = "ChannelUserevent"
    eventname: str
    userevent: dict[str, Any]
    channel: Channel | None = None
    bridge: Bridge | None = None
    endpoint: Endpoint | None = None


class ChannelHold(Event):
    """A channel put its peer on hold."""

    type: Literal["ChannelHold"] = "ChannelHold"
    channel: Channel
    musicclass: str | None = None


class ChannelUnhold(Event):
    """A channel took its peer off hold."""

    type: Literal["ChannelUnhold"] = "ChannelUnhold"
    channel: Channel


class ChannelToneDetected(Event):
    """A tone was detected on a channel."""

    type: Literal["ChannelToneDetected"] = "ChannelToneDetected"
    channel: Channel


class ChannelTalkingStarted(Event):
    """Talk detection: a channel started talking."""

    type: Literal["ChannelTalkingStarted"] = "ChannelTalkingStarted"
    channel: Channel


class ChannelTalkingFinished(Event):
    """Talk detection: a channel stopped talking after ``duration`` ms."""

    type: Literal["ChannelTalkingFinished"] = "ChannelTalkingFinished"
    channel: Channel
    duration: int


class ChannelTransfer(Event):
    """A SIP REFER was received on a channel."""

    type: Literal["ChannelTransfer"] = "ChannelTransfer"
    refer_to: ReferTo
    referred_by: ReferredBy
    state: str | None = None


class Dial(Event):
    """Dialing progress of an originated channel (``peer``). ``dialstatus`` is ``""``,
    ``RINGING``, ``ANSWER``, ``BUSY``...; there is no final status for a ring timeout."""

    type: Literal["Dial"] = "Dial"
    peer: Channel
    dialstatus: str
    caller: Channel | None = None
    forward: str | None = None
    forwarded: Channel | None = None
    dialstring: str | None = None


class CallBroadcast(Event):
    """A call is offered to several applications (``/events/claim``)."""

    type: Literal["CallBroadcast"] = "CallBroadcast"
    channel: Channel
    caller: str | None = None
    called: str | None = None


class CallClaimed(Event):
    """A broadcast call was claimed by ``winner_app``."""

    type: Literal["CallClaimed"] = "CallClaimed"
    channel: Channel
    winner_app: str


# --- Bridges ----------------------------------------------------------------------------


class BridgeCreated(Event):
    """A bridge was created."""

    type: Literal["BridgeCreated"] = "BridgeCreated"
    bridge: Bridge


class BridgeDestroyed(Event):
    """A bridge was destroyed; not guaranteed after ``removeChannel`` unless subscribed."""

    type: Literal["BridgeDestroyed"] = "BridgeDestroyed"
    bridge: Bridge


class BridgeMerged(Event):
    """``bridge_from`` was merged into ``bridge``."""

    type: Literal["BridgeMerged"] = "BridgeMerged"
    bridge: Bridge
    bridge_from: Bridge


class BridgeVideoSourceChanged(Event):
    """A bridge's video source changed."""

    type: Literal["BridgeVideoSourceChanged"] = "BridgeVideoSourceChanged"
    bridge: Bridge
    old_video_source_id: str | None = None


class BridgeBlindTransfer(Event):
    """A blind transfer happened."""

    type: Literal["BridgeBlindTransfer"] = "BridgeBlindTransfer"
    channel: Channel
    exten: str
    context: str
    result: str
    is_external: bool
    replace_channel: Channel | None = None
    transferee: Channel | None = None
    bridge: Bridge | None = None


class BridgeAttendedTransfer(Event):
    """An attended transfer happened."""

    type: Literal["BridgeAttendedTransfer"] = "BridgeAttendedTransfer"
    transferer_first_leg: Channel
    transferer_second_leg: Channel
    result: str
    is_external: bool
    destination_type: str
    replace_channel: Channel | None = None
    transferee: Channel | None = None
    transfer_target: Channel | None = None
    transferer_first_leg_bridge: Bridge | None = None
    transferer_second_leg_bridge: Bridge | None = None
    destination_bridge: str | None = None
    destination_application: str | None = None
    destination_link_first_leg: Channel | None = None
    destination_link_second_leg: Channel | None = None
    destination_threeway_channel: Channel | None = None
    destination_threeway_bridge: Bridge | None = None


# --- Playbacks and recordings -----------------------------------------------------------


class PlaybackStarted(Event):
    """A playback started. An unsupported media scheme never sends ``PlaybackFinished``."""

    type: Literal["PlaybackStarted"] = "PlaybackStarted"
    playback: Playback


class PlaybackContinuing(Event):
    """A playlist moved to its next media."""

    type: Literal["PlaybackContinuing"] = "PlaybackContinuing"
    playback: Playback


class PlaybackFinished(Event):
    """A playback ended, ``state`` ``done`` or ``failed`` (missing file)."""

    type: Literal["PlaybackFinished"] = "PlaybackFinished"
    playback: Playback


class RecordingStarted(Event):
    """A recording started."""

    type: Literal["RecordingStarted"] = "RecordingStarted"
    recording: LiveRecording


class RecordingFinished(Event):
    """A recording ended and is now stored."""

    type: Literal["RecordingFinished"] = "RecordingFinished"
    recording: LiveRecording


class RecordingFailed(Event):
    """A recording failed (``recording.cause`` says why)."""

    type: Literal["RecordingFailed"] = "RecordingFailed"
    recording: LiveRecording


# --- Endpoints and devices --------------------------------------------------------------


class EndpointStateChange(Event):
    """An endpoint went ``online``/``offline`` or its ``channel_ids`` changed."""

    type: Literal["EndpointStateChange"] = "EndpointStateChange"
    endpoint: Endpoint


class PeerStatusChange(Event):
    """A SIP peer's status changed."""

    type: Literal["PeerStatusChange"] = "PeerStatusChange"
    endpoint: Endpoint
    peer: Peer


class ContactStatusChange(Event):
    """A SIP contact's status changed."""

    type: Literal["ContactStatusChange"] = "ContactStatusChange"
    endpoint: Endpoint
    contact_info: ContactInfo


class DeviceStateChanged(Event):
    """A subscribed device changed state."""

    type: Literal["DeviceStateChanged"] = "DeviceStateChanged"
    device_state: DeviceState


class TextMessageReceived(Event):
    """A text message arrived."""

    type: Literal["TextMessageReceived"] = "TextMessageReceived"
    message: TextMessage
    endpoint: Endpoint | None = None


# --- The application itself -------------------------------------------------------------


class ApplicationReplaced(Event):
    """Another client registered the same application name and took the stream over."""

    type: Literal["ApplicationReplaced"] = "ApplicationReplaced"


class ApplicationRegistered(Event):
    """The application was registered."""

    type: Literal["ApplicationRegistered"] = "ApplicationRegistered"


class ApplicationUnregistered(Event):
    """The application was unregistered."""

    type: Literal["ApplicationUnregistered"] = "ApplicationUnregistered"


class ApplicationMoveFailed(Event):
    """Moving a channel to another application failed."""

    type: Literal["ApplicationMoveFailed"] = "ApplicationMoveFailed"
    channel: Channel
    destination: str
    args: list[str]


class RESTResponse(Event):
    """The answer to a REST request made over the websocket (not used by this client)."""

    type: Literal["RESTResponse"] = "RESTResponse"
    transaction_id: str
    request_id: str
    status_code: int
    reason_phrase: str
    uri: str
    content_type: str | None = None
    message_body: str | None = None


class UnknownEvent(AriModel):
    """A message whose ``type`` this client does not know; ``raw`` is its JSON, untouched."""

    type: str
    raw: dict[str, Any]

    @property
    def application(self) -> str | None:
        value = self.raw.get("application")
        return value if isinstance(value, str) else None

    @property
    def asterisk_id(self) -> str | None:
        value = self.raw.get("asterisk_id")
        return value if isinstance(value, str) else None


MESSAGE_MODELS: Mapping[str, type[Message]] = MappingProxyType(
    {
        model.model_fields["type"].default: model
        for model in (
            MissingParams,
            StasisStart,
            StasisEnd,
            ChannelCreated,
            ChannelDestroyed,
            ChannelStateChange,
            ChannelHangupRequest,
            ChannelEnteredBridge,
            ChannelLeftBridge,
            ChannelDtmfReceived,
            ChannelDialplan,
            ChannelCallerId,
            ChannelConnectedLine,
            ChannelVarset,
            ChannelUserevent,
            ChannelHold,
            ChannelUnhold,
            ChannelToneDetected,
            ChannelTalkingStarted,
            ChannelTalkingFinished,
            ChannelTransfer,
            Dial,
            CallBroadcast,
            CallClaimed,
            BridgeCreated,
            BridgeDestroyed,
            BridgeMerged,
            BridgeVideoSourceChanged,
            BridgeBlindTransfer,
            BridgeAttendedTransfer,
            PlaybackStarted,
            PlaybackContinuing,
            PlaybackFinished,
            RecordingStarted,
            RecordingFinished,
            RecordingFailed,
            EndpointStateChange,
            PeerStatusChange,
            ContactStatusChange,
            DeviceStateChanged,
            TextMessageReceived,
            ApplicationReplaced,
            ApplicationRegistered,
            ApplicationUnregistered,
            ApplicationMoveFailed,
            RESTResponse,
        )
    }
)
"""Every known message type, by its ``type``."""


# One pass in pydantic's core for the known types (JSON decoding, the choice of model by
# ``type`` and validation together); anything it refuses takes the slow path of
# ``parse_event``, which says precisely why or returns an ``UnknownEvent``.
_KNOWN_MESSAGE: TypeAdapter[Message] = TypeAdapter(
    cast(Any, Annotated[Union[tuple(MESSAGE_MODELS.values())], Discriminator("type")])  # noqa: UP007
)


class MalformedEvent(ValueError):
    """A websocket message that is not a usable ARI message; ``str()`` says why."""


def parse_event(message: str | bytes) -> Message | UnknownEvent:
    """The model of one websocket message.

    A known ``type`` gives its model, an unknown one an ``UnknownEvent`` keeping
    the raw JSON. Raises ``MalformedEvent`` when the message is not a JSON object
    with a string ``type``, or when a known type lacks a field or has a wrong one.
    """
    try:
        event = _KNOWN_MESSAGE.validate_json(message)
    except ValidationError:
        pass
    else:
        event._digest = hash(message)
        return event
    try:
        data = json.loads(message)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedEvent(f"message is not JSON ({error}): {_excerpt(message)}") from None
    if not isinstance(data, dict):
        raise MalformedEvent(f"message is not a JSON object: {_excerpt(message)}")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedEvent(f"message has no 'type': {_excerpt(message)}")
    model = MESSAGE_MODELS.get(kind)
    if model is None:
        return UnknownEvent(type=kind, raw=data)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise MalformedEvent(
            f"{kind} event does not match its model: {describe_validation_error(error)}"
        ) from None


def _excerpt(message: str | bytes, limit: int = 120) -> str:
    text = message.decode("utf-8", errors="replace") if isinstance(message, bytes) else message
    return repr(text if len(text) <= limit else text[:limit] + "...")
