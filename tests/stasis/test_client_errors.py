"""How the REST client reports failures: Asterisk's error answers, bad credentials,
a server that never answers, a port that refuses, a broken answer. Only ``AriError``
children ever come out."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ari_app.stasis import (
    AllocationFailed,
    AriClient,
    AriConfig,
    AriConnectionError,
    AriError,
    AriHttpError,
    AriTimeout,
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotFound,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    Unprocessable,
)
from ari_app.stasis.errors import error_for_status
from tests.stasis.conftest import PASSWORD, USER, StubAri, free_port, silent_server
from tests.stasis.reference import params, trace_lines, trace_names

# The "i - errors" table of the reference README: what each answer must become.
EXPECTED_BY_ROW: dict[tuple[int, str], type[AriHttpError]] = {
    (404, "Channel not found"): NotFound,
    (404, "Bridge not found"): NotFound,
    (400, "Channel not found"): BadRequest,
    (500, "Unable to create bridge. Possible duplicate bridge id '(null)'"): ServerError,
    (400, "Invalid endpoint specified"): BadRequest,
    (500, "Allocation failed"): AllocationFailed,
    (400, "Endpoint must be specified"): BadRequest,
    (400, "Application or extension must be specified"): BadRequest,
    (404, "Endpoint not found"): NotFound,
    (404, "No Endpoints found - invalid tech NOTATECH"): NotFound,
    (404, "Recording not found"): NotFound,
    (404, "Sound not found"): NotFound,
    (404, "Application not found"): NotFound,
    (401, "Authentication required"): Unauthorized,
    (404, "Resource not found"): NotFound,
    (405, "Invalid method"): MethodNotAllowed,
    (409, "Channel not in Stasis application"): Conflict,
    (422, "Channel not in Stasis application"): Unprocessable,
    (404, "Playback not found"): NotFound,
    (400, "DTMF is required"): BadRequest,
    (422, "Channel not in this bridge"): Unprocessable,
}

ERROR_TRACES = [name for name in trace_names() if name.endswith("/i-errors.jsonl")]
ERROR_ROWS = [
    (name, line)
    for name in ERROR_TRACES
    for line in trace_lines(name)
    if line["kind"] == "rest" and line["status"] >= 400
]


@pytest.mark.parametrize(
    "row",
    params(
        [line for _, line in ERROR_ROWS],
        [f"{name.partition('/')[0]}-seq{row['seq']}-{row['status']}" for name, row in ERROR_ROWS],
    ),
)
async def test_each_recorded_error_answer_becomes_its_exception(
    row: dict[str, Any], stub_ari: StubAri, ari: AriClient
) -> None:
    body = row["response"]
    stub_ari.answer(row["status"], body, row.get("response_headers") or {})
    with pytest.raises(AriError) as raised:
        await ari.channels.answer("1795887770.20")
    message = body.get("message", body.get("error"))
    expected = EXPECTED_BY_ROW[(row["status"], message)]
    assert type(raised.value) is expected
    assert raised.value.message == message
    assert raised.value.status == row["status"]
    assert (raised.value.method, raised.value.path) == ("POST", "/channels/1795887770.20/answer")


@pytest.mark.parametrize("trace", params(ERROR_TRACES, ERROR_TRACES))
def test_every_row_of_the_error_table_was_met_in_the_trace(trace: str) -> None:
    met = {
        (row["status"], row["response"].get("message", row["response"].get("error")))
        for name, row in ERROR_ROWS
        if name == trace
    }
    assert met == set(EXPECTED_BY_ROW)


def test_allocation_failure_is_told_apart_from_other_server_errors() -> None:
    allocation = error_for_status(500, b'{"error": "Allocation failed"}')
    other = error_for_status(500, b'{"message": "Allocation failed"}')
    assert isinstance(allocation, AllocationFailed)
    assert type(other) is ServerError
    assert isinstance(error_for_status(503, b""), ServerError)


def test_error_without_json_body_keeps_the_text_or_the_reason() -> None:
    assert error_for_status(502, b"<html>Bad gateway</html>").message == "<html>Bad gateway</html>"
    assert error_for_status(418, b"", reason="I'm a teapot").message == "I'm a teapot"
    assert type(error_for_status(418, b"")) is AriHttpError


def test_not_in_stasis_is_recognised_whatever_the_status() -> None:
    body = b'{"message": "Channel not in Stasis application"}'
    assert error_for_status(409, body).not_in_stasis
    assert error_for_status(422, body).not_in_stasis
    assert not error_for_status(404, b'{"message": "Channel not found"}').not_in_stasis


def test_error_text_names_the_request_and_asterisks_message() -> None:
    error = error_for_status(
        404, b'{"message": "Channel not found"}', method="POST", path="/channels/x/answer"
    )
    assert str(error) == "POST /channels/x/answer: HTTP 404: Channel not found"


async def test_wrong_password_raises_unauthorized_with_asterisks_message(
    stub_ari: StubAri,
) -> None:
    assert stub_ari.config is not None
    config = AriConfig(stub_ari.config.url, USER, "wrong-password")
    async with AriClient(config) as client:
        with pytest.raises(Unauthorized) as raised:
            await client.asterisk.info()
    assert raised.value.message == "Authentication required"
    assert "wrong-password" not in str(raised.value)


async def test_right_credentials_are_sent_as_basic_auth(stub_ari: StubAri, ari: AriClient) -> None:
    await ari.channels.answer("c1")  # the stub answers 401 unless it gets ariuser:ari-secret
    assert stub_ari.requests[0].path == "/channels/c1/answer"
    assert PASSWORD not in repr(stub_ari.config)


async def test_server_that_accepts_but_never_answers_times_out() -> None:
    async with silent_server() as port:
        config = AriConfig(f"http://127.0.0.1:{port}/ari", USER, PASSWORD)
        async with AriClient(config, timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(AriTimeout) as raised:
                await client.channels.get("c1")
            assert time.monotonic() - started < 2.0
    assert isinstance(raised.value, AriConnectionError)
    assert raised.value.status is None
    assert (raised.value.method, raised.value.path) == ("GET", "/channels/c1")
    assert raised.value.__cause__ is None  # aiohttp's exception does not leak
    assert raised.value.__suppress_context__


async def test_request_that_asterisk_never_answers_times_out(stub_ari: StubAri) -> None:
    assert stub_ari.config is not None
    stub_ari.hold = asyncio.Event()  # the request is read, the answer never comes
    async with AriClient(stub_ari.config, timeout=0.3) as client:
        with pytest.raises(AriTimeout) as raised:
            await client.bridges.create(bridge_type="holding")
    assert len(stub_ari.requests) == 1
    assert "0.3 s" in raised.value.message


async def test_refused_connection_raises_connection_error_naming_the_address() -> None:
    port = free_port()
    async with AriClient(AriConfig(f"http://127.0.0.1:{port}/ari", USER, PASSWORD)) as client:
        with pytest.raises(AriConnectionError) as raised:
            await client.asterisk.ping()
    assert not isinstance(raised.value, AriTimeout)
    assert f"127.0.0.1:{port}" in raised.value.message


async def test_unknown_host_raises_connection_error() -> None:
    config = AriConfig("http://asterisk.invalid:8088/ari", USER, PASSWORD)
    async with AriClient(config, timeout=3.0) as client:
        with pytest.raises(AriConnectionError):
            await client.asterisk.ping()


async def test_success_answer_that_is_not_json_raises_unexpected_response(
    stub_ari: StubAri, ari: AriClient
) -> None:
    stub_ari.answer(200, b"<html>proxy error</html>")
    with pytest.raises(UnexpectedResponse) as raised:
        await ari.channels.get("c1")
    assert "not JSON" in raised.value.message
    assert raised.value.status == 200


async def test_success_answer_of_another_type_raises_unexpected_response(
    stub_ari: StubAri, ari: AriClient
) -> None:
    stub_ari.answer(200, "pong")
    with pytest.raises(UnexpectedResponse) as raised:
        await ari.channels.get("c1")
    assert "not a valid Channel" in raised.value.message


async def test_success_answer_of_the_wrong_shape_names_the_missing_field(
    stub_ari: StubAri, ari: AriClient
) -> None:
    stub_ari.answer(200, {"id": "b1", "technology": "simple_bridge"})
    with pytest.raises(UnexpectedResponse) as raised:
        await ari.bridges.get("b1")
    assert "bridge_type" in raised.value.message
    assert raised.value.path == "/bridges/b1"


async def test_list_answer_that_is_not_a_list_raises_unexpected_response(
    stub_ari: StubAri, ari: AriClient
) -> None:
    stub_ari.answer(200, {"message": "surprise"})
    with pytest.raises(UnexpectedResponse):
        await ari.channels.list()


async def test_closed_client_refuses_requests(stub_ari: StubAri) -> None:
    assert stub_ari.config is not None
    client = AriClient(stub_ari.config)
    await client.channels.answer("c1")
    await client.close()
    with pytest.raises(AriConnectionError, match="closed"):
        await client.channels.answer("c1")
