"""The table of every REST operation the client uses.

Each client method goes through one ``Operation`` of this table: HTTP method,
path template relative to the ARI base URL, and the names of the parameters it
may send, exactly as Asterisk spells them. The conformance tests check every
entry against Asterisk's Swagger (``api-docs/<resource>.json``, by nickname),
and ``Operation.render`` refuses any parameter the entry does not declare, so a
method cannot send what the table (and so the Swagger) does not allow.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

HttpMethod = Literal["GET", "POST", "PUT", "DELETE"]


@dataclass(frozen=True)
class Operation:
    """One ARI operation: ``resource`` and ``nickname`` name it in the Swagger."""

    resource: str
    nickname: str
    method: HttpMethod
    path: str
    query: tuple[str, ...] = field(default=(), kw_only=True)
    body: str | None = field(default=None, kw_only=True)
    # True where Asterisk reads the JSON body itself as the parameter (eventFilter), rather
    # than the parameter under its name ({"variables": {...}} for originate).
    whole_body: bool = field(default=False, kw_only=True)

    @property
    def name(self) -> str:
        """``resource.nickname``, e.g. ``channels.originate``."""
        return f"{self.resource}.{self.nickname}"

    @property
    def path_params(self) -> tuple[str, ...]:
        """The ``{placeholders}`` of the path template, in order."""
        return tuple(
            field for _, field, _, _ in string.Formatter().parse(self.path) if field is not None
        )

    def render(self, params: Mapping[str, object]) -> tuple[str, dict[str, str]]:
        """The concrete path and query string of a call.

        ``params`` are keyed by Asterisk's parameter names; ``None`` values are left
        out. Path parameters are escaped; query values are encoded as Asterisk reads
        them (booleans ``true``/``false``, several values comma-separated).
        Raises ``ValueError`` for an undeclared parameter or a missing path parameter.
        """
        path_names = self.path_params
        unknown = set(params) - set(path_names) - set(self.query)
        if unknown:
            raise ValueError(
                f"{self.name} does not take the parameter(s) {', '.join(sorted(unknown))}"
            )
        values: dict[str, str] = {}
        for name in path_names:
            value = params.get(name)
            if value is None or value == "":
                raise ValueError(f"{self.name} needs a non-empty {name}")
            values[name] = quote(encode_value(value), safe="")
        query = {
            name: encode_value(params[name])
            for name in self.query
            if name in params and params[name] is not None
        }
        return self.path.format(**values), query


def encode_value(value: object) -> str:
    """A parameter value as Asterisk reads it in a URL."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Sequence):
        return ",".join(encode_value(item) for item in value)
    raise TypeError(f"cannot send a {type(value).__name__} as an ARI parameter: {value!r}")


# --- asterisk ---------------------------------------------------------------------------
ASTERISK_INFO = Operation("asterisk", "getInfo", "GET", "/asterisk/info", query=("only",))
ASTERISK_PING = Operation("asterisk", "ping", "GET", "/asterisk/ping")
ASTERISK_GET_VAR = Operation(
    "asterisk", "getGlobalVar", "GET", "/asterisk/variable", query=("variable",)
)
ASTERISK_SET_VAR = Operation(
    "asterisk", "setGlobalVar", "POST", "/asterisk/variable", query=("variable", "value")
)

# --- applications -----------------------------------------------------------------------
APPLICATIONS_LIST = Operation("applications", "list", "GET", "/applications")
APPLICATIONS_GET = Operation("applications", "get", "GET", "/applications/{applicationName}")
APPLICATIONS_SUBSCRIBE = Operation(
    "applications",
    "subscribe",
    "POST",
    "/applications/{applicationName}/subscription",
    query=("eventSource",),
)
APPLICATIONS_FILTER = Operation(
    "applications",
    "filter",
    "PUT",
    "/applications/{applicationName}/eventFilter",
    body="filter",
    whole_body=True,
)
APPLICATIONS_UNSUBSCRIBE = Operation(
    "applications",
    "unsubscribe",
    "DELETE",
    "/applications/{applicationName}/subscription",
    query=("eventSource",),
)

# --- channels ---------------------------------------------------------------------------
CHANNELS_LIST = Operation("channels", "list", "GET", "/channels")
CHANNELS_GET = Operation("channels", "get", "GET", "/channels/{channelId}")
CHANNELS_ORIGINATE = Operation(
    "channels",
    "originate",
    "POST",
    "/channels",
    query=(
        "endpoint",
        "app",
        "appArgs",
        "extension",
        "context",
        "priority",
        "callerId",
        "timeout",
        "channelId",
        "otherChannelId",
        "originator",
        "formats",
    ),
    body="variables",
)
CHANNELS_CREATE = Operation(
    "channels",
    "create",
    "POST",
    "/channels/create",
    query=("endpoint", "app", "appArgs", "channelId", "otherChannelId", "originator", "formats"),
    body="variables",
)
CHANNELS_HANGUP = Operation(
    "channels", "hangup", "DELETE", "/channels/{channelId}", query=("reason", "reason_code")
)
CHANNELS_CONTINUE = Operation(
    "channels",
    "continueInDialplan",
    "POST",
    "/channels/{channelId}/continue",
    query=("context", "extension", "priority", "label"),
)
CHANNELS_ANSWER = Operation("channels", "answer", "POST", "/channels/{channelId}/answer")
CHANNELS_RING = Operation("channels", "ring", "POST", "/channels/{channelId}/ring")
CHANNELS_RING_STOP = Operation("channels", "ringStop", "DELETE", "/channels/{channelId}/ring")
CHANNELS_START_MOH = Operation(
    "channels", "startMoh", "POST", "/channels/{channelId}/moh", query=("mohClass",)
)
CHANNELS_STOP_MOH = Operation("channels", "stopMoh", "DELETE", "/channels/{channelId}/moh")
CHANNELS_PLAY = Operation(
    "channels",
    "play",
    "POST",
    "/channels/{channelId}/play",
    query=("media", "lang", "offsetms", "skipms", "playbackId"),
)
CHANNELS_DIAL = Operation(
    "channels", "dial", "POST", "/channels/{channelId}/dial", query=("caller", "timeout")
)
CHANNELS_GET_VAR = Operation(
    "channels", "getChannelVar", "GET", "/channels/{channelId}/variable", query=("variable",)
)
CHANNELS_SET_VAR = Operation(
    "channels",
    "setChannelVar",
    "POST",
    "/channels/{channelId}/variable",
    query=("variable", "value"),
)

# --- bridges ----------------------------------------------------------------------------
BRIDGES_LIST = Operation("bridges", "list", "GET", "/bridges")
BRIDGES_CREATE = Operation(
    "bridges", "create", "POST", "/bridges", query=("type", "bridgeId", "name")
)
BRIDGES_GET = Operation("bridges", "get", "GET", "/bridges/{bridgeId}")
BRIDGES_DESTROY = Operation("bridges", "destroy", "DELETE", "/bridges/{bridgeId}")
BRIDGES_ADD_CHANNEL = Operation(
    "bridges",
    "addChannel",
    "POST",
    "/bridges/{bridgeId}/addChannel",
    query=("channel", "role", "absorbDTMF", "mute", "inhibitConnectedLineUpdates"),
)
BRIDGES_REMOVE_CHANNEL = Operation(
    "bridges", "removeChannel", "POST", "/bridges/{bridgeId}/removeChannel", query=("channel",)
)
BRIDGES_START_MOH = Operation(
    "bridges", "startMoh", "POST", "/bridges/{bridgeId}/moh", query=("mohClass",)
)
BRIDGES_STOP_MOH = Operation("bridges", "stopMoh", "DELETE", "/bridges/{bridgeId}/moh")
BRIDGES_PLAY = Operation(
    "bridges",
    "play",
    "POST",
    "/bridges/{bridgeId}/play",
    query=("media", "lang", "offsetms", "skipms", "playbackId"),
)
BRIDGES_RECORD = Operation(
    "bridges",
    "record",
    "POST",
    "/bridges/{bridgeId}/record",
    query=(
        "name",
        "format",
        "maxDurationSeconds",
        "maxSilenceSeconds",
        "ifExists",
        "beep",
        "terminateOn",
    ),
)

# --- endpoints --------------------------------------------------------------------------
ENDPOINTS_LIST = Operation("endpoints", "list", "GET", "/endpoints")
ENDPOINTS_LIST_BY_TECH = Operation("endpoints", "listByTech", "GET", "/endpoints/{tech}")
ENDPOINTS_GET = Operation("endpoints", "get", "GET", "/endpoints/{tech}/{resource}")

# --- recordings -------------------------------------------------------------------------
RECORDINGS_LIST_STORED = Operation("recordings", "listStored", "GET", "/recordings/stored")
RECORDINGS_GET_STORED = Operation(
    "recordings", "getStored", "GET", "/recordings/stored/{recordingName}"
)
RECORDINGS_DELETE_STORED = Operation(
    "recordings", "deleteStored", "DELETE", "/recordings/stored/{recordingName}"
)
RECORDINGS_GET_LIVE = Operation("recordings", "getLive", "GET", "/recordings/live/{recordingName}")
RECORDINGS_STOP_LIVE = Operation(
    "recordings", "stop", "POST", "/recordings/live/{recordingName}/stop"
)
RECORDINGS_CANCEL_LIVE = Operation(
    "recordings", "cancel", "DELETE", "/recordings/live/{recordingName}"
)

# --- playbacks --------------------------------------------------------------------------
PLAYBACKS_GET = Operation("playbacks", "get", "GET", "/playbacks/{playbackId}")
PLAYBACKS_STOP = Operation("playbacks", "stop", "DELETE", "/playbacks/{playbackId}")


OPERATIONS: tuple[Operation, ...] = tuple(
    value for value in tuple(globals().values()) if isinstance(value, Operation)
)
"""Every operation above; the conformance tests walk this."""
