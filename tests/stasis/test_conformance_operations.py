"""Conformance, item 1: every REST operation of the client exists in Asterisk's Swagger
(api-docs/) with that HTTP method, path and parameter names.

Two checks, so that no method escapes: the operation table is compared with the
Swagger entry by entry, and every public method of the client is called against a
recording server, its actual request matched against the Swagger.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ari_app.stasis import AriClient, AriConfig, models
from ari_app.stasis.operations import OPERATIONS, Operation
from tests.stasis.conftest import RecordedRequest, StubAri
from tests.stasis.reference import (
    params,
    recording_of,
    recording_params,
    swagger_operation_for,
    swagger_operations,
    trace_lines,
    trace_names,
)


@pytest.mark.parametrize("operation", params(list(OPERATIONS), [op.name for op in OPERATIONS]))
@pytest.mark.parametrize("base", recording_params())
def test_operation_is_defined_by_asterisk_swagger(operation: Operation, base: Path) -> None:
    by_name = {(op.resource, op.nickname): op for op in swagger_operations(base)}
    swagger = by_name.get((operation.resource, operation.nickname))
    assert swagger is not None, f"api-docs/{operation.resource}.json has no {operation.nickname}"
    assert operation.method == swagger.method
    assert operation.path == swagger.path
    assert set(operation.path_params) == swagger.names("path")
    undefined = set(operation.query) - swagger.names("query")
    assert not undefined, f"{operation.name}: not query parameters in Asterisk: {undefined}"
    required = {
        name
        for name, param in swagger.params.items()
        if param["paramType"] == "query" and param.get("required")
    }
    assert required <= set(operation.query), f"{operation.name} cannot send {required}"
    if operation.body is not None:
        assert operation.body in swagger.names("body")


def test_operation_table_names_each_operation_once() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names))
    assert len(OPERATIONS) >= 40


# One call per public client method, with every optional argument given, so that every
# parameter the method can send is checked. A method missing here fails the test below.
Call = Callable[[AriClient], Awaitable[Any]]
SAMPLE_CALLS: dict[str, Call] = {
    "asterisk.info": lambda a: a.asterisk.info(only=["build", "system"]),
    "asterisk.ping": lambda a: a.asterisk.ping(),
    "asterisk.get_variable": lambda a: a.asterisk.get_variable("DB_KEYS(vcta_ended)"),
    "asterisk.set_variable": lambda a: a.asterisk.set_variable("VCTA_RECORD", "no"),
    "applications.list": lambda a: a.applications.list(),
    "applications.get": lambda a: a.applications.get("vcta-test"),
    "applications.subscribe": lambda a: a.applications.subscribe(
        "vcta-test", ["endpoint:PJSIP", "bridge:b1"]
    ),
    "applications.unsubscribe": lambda a: a.applications.unsubscribe("vcta-test", "bridge:b1"),
    "applications.filter_events": lambda a: a.applications.filter_events(
        "vcta-test", ["StasisStart", "StasisEnd"]
    ),
    "channels.list": lambda a: a.channels.list(),
    "channels.get": lambda a: a.channels.get("c1"),
    "channels.originate": lambda a: a.channels.originate(
        "PJSIP/sdis77-op1",
        app="vcta-test",
        app_args=["operator", "sdis77"],
        context="operators",
        extension="s",
        priority=1,
        caller_id='"Appel 18" <0612345678>',
        ring_timeout=30,
        channel_id="vcta-op-0001",
        other_channel_id="vcta-op-0001-peer",
        originator="c1",
        formats=["ulaw", "alaw"],
        variables={"CALLERID(name)": "Appel 18"},
    ),
    "channels.create": lambda a: a.channels.create(
        "PJSIP/sdis77-op1",
        app="vcta-test",
        app_args="operator",
        channel_id="vcta-op-0002",
        other_channel_id="vcta-op-0002-peer",
        originator="c1",
        formats="ulaw",
        variables={"X": "1"},
    ),
    "channels.answer": lambda a: a.channels.answer("c1"),
    "channels.ring": lambda a: a.channels.ring("c1"),
    "channels.ring_stop": lambda a: a.channels.ring_stop("c1"),
    "channels.hangup": lambda a: a.channels.hangup("c1", reason="normal", reason_code="16"),
    "channels.continue_in_dialplan": lambda a: a.channels.continue_in_dialplan(
        "c1", context="operators", extension="999", priority=1, label="start"
    ),
    "channels.play": lambda a: a.channels.play(
        "c1",
        ["sound:hello-world", "sound:beep"],
        lang="fr",
        offsetms=0,
        skipms=3000,
        playback_id="pb-1",
    ),
    "channels.start_moh": lambda a: a.channels.start_moh("c1", moh_class="default"),
    "channels.stop_moh": lambda a: a.channels.stop_moh("c1"),
    "channels.dial": lambda a: a.channels.dial("c1", caller="c0", ring_timeout=20),
    "channels.get_variable": lambda a: a.channels.get_variable("c1", "CALLERID(num)"),
    "channels.set_variable": lambda a: a.channels.set_variable("c1", "VCTA_CALL", "call-1"),
    "bridges.list": lambda a: a.bridges.list(),
    "bridges.create": lambda a: a.bridges.create(
        bridge_type="holding", bridge_id="attente-sdis77", name="attente-18"
    ),
    "bridges.get": lambda a: a.bridges.get("b1"),
    "bridges.destroy": lambda a: a.bridges.destroy("b1"),
    "bridges.add_channel": lambda a: a.bridges.add_channel(
        "b1",
        ["c1", "c2"],
        role="participant",
        absorb_dtmf=False,
        mute=False,
        inhibit_connected_line_updates=True,
    ),
    "bridges.remove_channel": lambda a: a.bridges.remove_channel("b1", "c1"),
    "bridges.start_moh": lambda a: a.bridges.start_moh("b1", moh_class="default"),
    "bridges.stop_moh": lambda a: a.bridges.stop_moh("b1"),
    "bridges.play": lambda a: a.bridges.play(
        "b1", "sound:hello-world", lang="fr", offsetms=0, skipms=3000, playback_id="pb-2"
    ),
    "bridges.record": lambda a: a.bridges.record(
        "b1",
        "vcta-bridge-1",
        "wav",
        max_duration_seconds=60,
        max_silence_seconds=10,
        if_exists="overwrite",
        beep=False,
        terminate_on="none",
    ),
    "endpoints.list": lambda a: a.endpoints.list(),
    "endpoints.list_by_tech": lambda a: a.endpoints.list_by_tech("PJSIP"),
    "endpoints.get": lambda a: a.endpoints.get("PJSIP", "sdis77-op1"),
    "recordings.list_stored": lambda a: a.recordings.list_stored(),
    "recordings.get_stored": lambda a: a.recordings.get_stored("vcta-bridge-1"),
    "recordings.delete_stored": lambda a: a.recordings.delete_stored("vcta-bridge-1"),
    "recordings.get_live": lambda a: a.recordings.get_live("vcta-bridge-1"),
    "recordings.stop_live": lambda a: a.recordings.stop_live("vcta-bridge-1"),
    "recordings.cancel_live": lambda a: a.recordings.cancel_live("vcta-bridge-1"),
    "playbacks.get": lambda a: a.playbacks.get("pb-1"),
    "playbacks.stop": lambda a: a.playbacks.stop("pb-1"),
}


# The Asterisk operation (api-docs resource and nickname) each client method stands for.
ASTERISK_OPERATION_OF: dict[str, str] = {
    "asterisk.info": "asterisk.getInfo",
    "asterisk.ping": "asterisk.ping",
    "asterisk.get_variable": "asterisk.getGlobalVar",
    "asterisk.set_variable": "asterisk.setGlobalVar",
    "applications.list": "applications.list",
    "applications.get": "applications.get",
    "applications.subscribe": "applications.subscribe",
    "applications.unsubscribe": "applications.unsubscribe",
    "applications.filter_events": "applications.filter",
    "channels.list": "channels.list",
    "channels.get": "channels.get",
    "channels.originate": "channels.originate",
    "channels.create": "channels.create",
    "channels.answer": "channels.answer",
    "channels.ring": "channels.ring",
    "channels.ring_stop": "channels.ringStop",
    "channels.hangup": "channels.hangup",
    "channels.continue_in_dialplan": "channels.continueInDialplan",
    "channels.play": "channels.play",
    "channels.start_moh": "channels.startMoh",
    "channels.stop_moh": "channels.stopMoh",
    "channels.dial": "channels.dial",
    "channels.get_variable": "channels.getChannelVar",
    "channels.set_variable": "channels.setChannelVar",
    "bridges.list": "bridges.list",
    "bridges.create": "bridges.create",
    "bridges.get": "bridges.get",
    "bridges.destroy": "bridges.destroy",
    "bridges.add_channel": "bridges.addChannel",
    "bridges.remove_channel": "bridges.removeChannel",
    "bridges.start_moh": "bridges.startMoh",
    "bridges.stop_moh": "bridges.stopMoh",
    "bridges.play": "bridges.play",
    "bridges.record": "bridges.record",
    "endpoints.list": "endpoints.list",
    "endpoints.list_by_tech": "endpoints.listByTech",
    "endpoints.get": "endpoints.get",
    "recordings.list_stored": "recordings.listStored",
    "recordings.get_stored": "recordings.getStored",
    "recordings.delete_stored": "recordings.deleteStored",
    "recordings.get_live": "recordings.getLive",
    "recordings.stop_live": "recordings.stop",
    "recordings.cancel_live": "recordings.cancel",
    "playbacks.get": "playbacks.get",
    "playbacks.stop": "playbacks.stop",
}


def public_client_methods() -> set[str]:
    """``group.method`` for every public coroutine method of the client's resource groups."""
    client = AriClient(AriConfig("http://127.0.0.1:1/ari", "u", "p"))  # no I/O until a call
    found = set()
    for group_name, group in vars(client).items():
        if group_name.startswith("_") or not hasattr(group, "_transport"):
            continue
        for name, _method in inspect.getmembers(type(group), inspect.iscoroutinefunction):
            if not name.startswith("_"):
                found.add(f"{group_name}.{name}")
    return found


def test_every_client_method_has_a_sample_call() -> None:
    methods = public_client_methods()
    assert methods == set(SAMPLE_CALLS), (
        f"add a sample call for {sorted(methods - set(SAMPLE_CALLS))}; "
        f"remove {sorted(set(SAMPLE_CALLS) - methods)}"
    )
    assert methods == set(ASTERISK_OPERATION_OF)


def _sample_bodies() -> dict[str, Any]:
    """A real answer of Asterisk for each Swagger response class, taken from the traces."""
    bodies: dict[str, Any] = {"Variable": {"value": "0612345678"}}
    for name in trace_names():
        for line in trace_lines(name):
            if line["kind"] != "rest" or not 200 <= line["status"] < 300:
                continue
            if line["response"] is None:
                continue
            op = swagger_operation_for(
                line["method"], line["path"][len("/ari") :], recording_of(name)
            )
            if op is not None:
                bodies.setdefault(op.response_class, line["response"])
    return bodies


@pytest.mark.parametrize("method", sorted(SAMPLE_CALLS))
async def test_client_method_sends_a_request_asterisk_defines(
    method: str, stub_ari: StubAri, ari: AriClient
) -> None:
    bodies = _sample_bodies()

    def answer(request: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        op = swagger_operation_for(request.method, request.path)
        if op is None or op.response_class == "void":
            return 204, None, {}
        return 200, bodies[op.response_class], {}

    stub_ari.responder = answer
    result = await SAMPLE_CALLS[method](ari)

    assert len(stub_ari.requests) == 1
    request = stub_ari.requests[0]
    swagger = swagger_operation_for(request.method, request.path)
    assert swagger is not None, f"{request.method} {request.path} is not an ARI operation"
    assert f"{swagger.resource}.{swagger.nickname}" == ASTERISK_OPERATION_OF[method]
    unknown = set(request.query) - swagger.names("query")
    assert not unknown, f"{method} sent {unknown}, unknown to {swagger.resource}.{swagger.nickname}"
    operation = next(
        op
        for op in OPERATIONS
        if (op.resource, op.nickname) == (swagger.resource, swagger.nickname)
    )
    if request.body is not None and operation.whole_body:
        # The body is the parameter itself (Asterisk reads eventFilter's object as is).
        assert operation.body in swagger.names("body")
        assert isinstance(request.body, dict)
    elif request.body is not None:
        assert set(request.body) <= swagger.names("body")
    declared = [op for op in OPERATIONS if op.resource == swagger.resource]
    assert any(op.nickname == swagger.nickname for op in declared)
    expected = swagger.response_class
    if expected == "void":
        assert result is None
    elif expected == "Variable":
        assert isinstance(result, str)
    elif expected.startswith("List["):
        model = getattr(models, expected[len("List[") : -1])
        assert isinstance(result, tuple)
        assert all(isinstance(item, model) for item in result)
    else:
        assert isinstance(result, getattr(models, expected))
