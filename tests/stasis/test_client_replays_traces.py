"""The client against the traces: for every REST request recorded from a real Asterisk,
the same call through the client sends the same method, path and query string, and
turns the recorded answer into the same result (a model, nothing, or the right error).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ari_app.stasis import (
    AllocationFailed,
    AriClient,
    AriHttpError,
    BadRequest,
    Conflict,
    NotFound,
    ServerError,
    Unauthorized,
    Unprocessable,
    models,
)
from ari_app.stasis.operations import OPERATIONS, Operation
from tests.stasis.conftest import StubAri
from tests.stasis.reference import (
    all_lines,
    params,
    recording_of,
    relative_path,
    swagger_operation_for,
)


class Inexpressible(Exception):
    """The recorded request cannot be made through the typed client (it breaks its types)."""


def _int(query: dict[str, str], key: str) -> int | None:
    return int(query[key]) if key in query else None


def _bool(query: dict[str, str], key: str) -> bool | None:
    return {"true": True, "false": False}[query[key]] if key in query else None


def _need(query: dict[str, str], key: str) -> str:
    if key not in query:
        raise Inexpressible(f"no {key}")
    return query[key]


Build = Callable[[AriClient, dict[str, str], dict[str, str]], Awaitable[Any]]

# How each operation met in the traces is called through the client, from the recorded
# path parameters (p) and query string (q).
CALLS: dict[str, Build] = {
    "asterisk.getInfo": lambda a, p, q: a.asterisk.info(only=q.get("only")),
    "asterisk.ping": lambda a, p, q: a.asterisk.ping(),
    "applications.list": lambda a, p, q: a.applications.list(),
    "applications.get": lambda a, p, q: a.applications.get(p["applicationName"]),
    "applications.subscribe": lambda a, p, q: a.applications.subscribe(
        p["applicationName"], q["eventSource"]
    ),
    "applications.unsubscribe": lambda a, p, q: a.applications.unsubscribe(
        p["applicationName"], q["eventSource"]
    ),
    "channels.list": lambda a, p, q: a.channels.list(),
    "channels.get": lambda a, p, q: a.channels.get(p["channelId"]),
    "channels.originate": lambda a, p, q: a.channels.originate(
        _need(q, "endpoint"),
        app=q.get("app"),
        app_args=q.get("appArgs"),
        context=q.get("context"),
        extension=q.get("extension"),
        priority=_int(q, "priority"),
        caller_id=q.get("callerId"),
        ring_timeout=_int(q, "timeout"),
        channel_id=q.get("channelId"),
        other_channel_id=q.get("otherChannelId"),
    ),
    "channels.create": lambda a, p, q: a.channels.create(
        q["endpoint"], app=q["app"], app_args=q.get("appArgs"), channel_id=q.get("channelId")
    ),
    "channels.hangup": lambda a, p, q: a.channels.hangup(p["channelId"], reason=q.get("reason")),
    "channels.answer": lambda a, p, q: a.channels.answer(p["channelId"]),
    "channels.continueInDialplan": lambda a, p, q: a.channels.continue_in_dialplan(
        p["channelId"],
        context=q.get("context"),
        extension=q.get("extension"),
        priority=_int(q, "priority"),
    ),
    "channels.play": lambda a, p, q: a.channels.play(
        p["channelId"], q["media"], lang=q.get("lang"), playback_id=q.get("playbackId")
    ),
    "channels.startMoh": lambda a, p, q: a.channels.start_moh(
        p["channelId"], moh_class=q.get("mohClass")
    ),
    "bridges.list": lambda a, p, q: a.bridges.list(),
    "bridges.create": lambda a, p, q: a.bridges.create(
        bridge_type=q.get("type"), bridge_id=q.get("bridgeId"), name=q.get("name")
    ),
    "bridges.get": lambda a, p, q: a.bridges.get(p["bridgeId"]),
    "bridges.destroy": lambda a, p, q: a.bridges.destroy(p["bridgeId"]),
    "bridges.addChannel": lambda a, p, q: a.bridges.add_channel(
        p["bridgeId"], q["channel"], role=q.get("role")
    ),
    "bridges.removeChannel": lambda a, p, q: a.bridges.remove_channel(p["bridgeId"], q["channel"]),
    "bridges.startMoh": lambda a, p, q: a.bridges.start_moh(
        p["bridgeId"], moh_class=q.get("mohClass")
    ),
    "bridges.stopMoh": lambda a, p, q: a.bridges.stop_moh(p["bridgeId"]),
    "bridges.record": lambda a, p, q: a.bridges.record(
        p["bridgeId"],
        q["name"],
        q["format"],
        max_duration_seconds=_int(q, "maxDurationSeconds"),
        if_exists=q.get("ifExists"),
        beep=_bool(q, "beep"),
        terminate_on=q.get("terminateOn"),
    ),
    "endpoints.list": lambda a, p, q: a.endpoints.list(),
    "endpoints.listByTech": lambda a, p, q: a.endpoints.list_by_tech(p["tech"]),
    "endpoints.get": lambda a, p, q: a.endpoints.get(p["tech"], p["resource"]),
    "recordings.listStored": lambda a, p, q: a.recordings.list_stored(),
    "recordings.getStored": lambda a, p, q: a.recordings.get_stored(p["recordingName"]),
    "recordings.deleteStored": lambda a, p, q: a.recordings.delete_stored(p["recordingName"]),
    "recordings.getLive": lambda a, p, q: a.recordings.get_live(p["recordingName"]),
    "recordings.stop": lambda a, p, q: a.recordings.stop_live(p["recordingName"]),
    "playbacks.get": lambda a, p, q: a.playbacks.get(p["playbackId"]),
    "playbacks.stop": lambda a, p, q: a.playbacks.stop(p["playbackId"]),
}

# Recorded requests outside what the application needs, so outside the client.
NOT_IN_CLIENT = {
    ("GET", "/asterisk/modules/{moduleName}"),
    ("GET", "/sounds/{soundId}"),
    ("GET", "/deviceStates"),
    ("POST", "/channels/{channelId}/dtmf"),
    ("PUT", "/channels"),  # the 405 probe: no such operation
    ("GET", "/no/such/resource"),  # the 404 probe: no such operation
}


def _inexpressible(line: dict[str, Any]) -> bool:
    """A recorded request the typed client refuses to express: originate without an
    endpoint."""
    return (line["method"], line["path"]) == ("POST", "/ari/channels") and (
        "endpoint" not in line["query"]
    )


EXPECTED_ERROR = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    500: ServerError,
}


def _operation_for(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    for op in sorted(OPERATIONS, key=lambda op: op.path.count("{")):
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(op.path))
        match = re.fullmatch(pattern, path)
        if op.method == method and match:
            return op, match.groupdict()
    return None


def _expected_result(response_class: str, body: Any) -> Any:
    """What the client should return for ``body``, built independently of the client."""
    if response_class == "void":
        return None
    if response_class == "Variable":
        return body["value"]
    if response_class.startswith("List["):
        model = getattr(models, response_class[len("List[") : -1])
        return tuple(model.model_validate(item) for item in body)
    return getattr(models, response_class).model_validate(body)


REST_LINES = all_lines("rest")


def _line_id(trace: str, line: dict[str, Any]) -> str:
    recording, _, file = trace.partition("/")
    return f"{recording}-{file[:1]}-{line['seq']}"


@pytest.mark.parametrize(
    "recorded",
    params(
        REST_LINES,
        [
            f"{trace.partition('/')[0]}-{trace.partition('/')[2][:1]}-{line['seq']}"
            for trace, line in REST_LINES
        ],
    ),
)
async def test_client_sends_the_recorded_request_and_reads_the_recorded_answer(
    recorded: tuple[str, dict[str, Any]], stub_ari: StubAri, ari: AriClient
) -> None:
    trace, line = recorded
    base = recording_of(trace)
    path = relative_path(line)
    found = _operation_for(line["method"], path)
    if found is None:
        swagger = swagger_operation_for(line["method"], path, base)
        template = swagger.path if swagger else path
        assert (line["method"], template) in NOT_IN_CLIENT, f"no client call for {template}"
        return
    operation, path_params = found
    stub_ari.answer(line["status"], line["response"], line.get("response_headers") or {})
    try:
        call = CALLS[operation.name](ari, path_params, line["query"])
    except Inexpressible:
        assert _inexpressible(line)
        return
    assert not _inexpressible(line)

    if line["status"] >= 400:
        with pytest.raises(AriHttpError) as raised:
            await call
        error = raised.value
        expected = EXPECTED_ERROR[line["status"]]
        assert isinstance(error, expected)
        body = line["response"]
        assert error.message == body.get("message", body.get("error"))
        assert isinstance(error, AllocationFailed) == ("error" in body)
        assert (error.status, error.method, error.path) == (line["status"], line["method"], path)
    else:
        result = await call
        swagger = swagger_operation_for(line["method"], path, base)
        assert swagger is not None
        assert result == _expected_result(swagger.response_class, line["response"])

    assert len(stub_ari.requests) == 1
    sent = stub_ari.requests[0]
    assert (sent.method, sent.path, sent.query) == (line["method"], path, line["query"])
    assert sent.body is None
