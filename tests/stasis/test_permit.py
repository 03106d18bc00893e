"""The client's gate for an instance that may not command Asterisk (a standby, or an active
instance whose lease is not valid): nothing is sent, the stream does not connect, and a
take-over of the application by another client is reported."""

from __future__ import annotations

import asyncio
import json

import pytest

from ari_app.stasis import AriClient, EventStream, NotPermitted, StreamConnected
from tests.stasis.conftest import APP, StubAri, StubEvents
from tests.stasis.test_event_stream import next_item, open_stream
from tests.waiting import wait_until


async def test_a_refused_request_is_not_sent_and_says_why(stub_ari: StubAri) -> None:
    assert stub_ari.config is not None
    allowed = False
    async with AriClient(stub_ari.config, timeout=2.0, permit=lambda: allowed) as ari:
        with pytest.raises(NotPermitted, match="DELETE /channels/c1 not sent"):
            await ari.channels.hangup("c1")
        assert stub_ari.requests == []
        allowed = True
        stub_ari.answer(204)
        await ari.channels.hangup("c1")
    assert [(r.method, r.path) for r in stub_ari.requests] == [("DELETE", "/channels/c1")]


async def test_the_stream_connects_only_once_permitted(stub_events: StubEvents) -> None:
    allowed = asyncio.Event()
    asked: list[bool] = []

    def permit() -> bool:
        asked.append(allowed.is_set())
        return asked[-1]

    stream: EventStream = open_stream(stub_events.config, permit=permit)
    async with stream:
        # Not permitted: the stream keeps asking and never opens a websocket.
        await wait_until(lambda: len(asked) >= 3, what="the stream asking again")
        assert stub_events.connections.empty()
        assert not stream.connected
        allowed.set()
        assert isinstance(await next_item(stream), StreamConnected)
        assert not stub_events.connections.empty()


async def test_a_take_over_by_another_client_is_reported(stub_events: StubEvents) -> None:
    replaced: list[str] = []
    async with open_stream(stub_events.config, on_replaced=lambda: replaced.append("x")) as stream:
        assert isinstance(await next_item(stream), StreamConnected)
        ws = await stub_events.next_connection()
        await ws.send_str(
            json.dumps(
                {
                    "type": "ApplicationReplaced",
                    "timestamp": "2026-11-28T17:41:11.334+0000",
                    "application": APP,
                }
            )
        )
        await next_item(stream)
    assert replaced == ["x"]
