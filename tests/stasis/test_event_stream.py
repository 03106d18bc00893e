"""The event stream against a stub Asterisk websocket: events in order behind a
connection marker, bad messages skipped, reconnection after a close or a dead peer,
failed attempts logged and retried, bounded shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest

from ari_app.stasis import (
    ApplicationReplaced,
    AriConfig,
    Backoff,
    EventStream,
    StasisStart,
    StreamConnected,
    StreamDisconnected,
    StreamItem,
    StreamTimings,
    UnknownEvent,
    parse_event,
)
from tests.stasis.conftest import (
    APP,
    PASSWORD,
    USER,
    FreezableProxy,
    StubEvents,
    free_port,
    running_stub_events,
    silent_server,
)
from tests.stasis.reference import params, trace_lines, trace_names
from tests.stasis.test_events import STASIS_START
from tests.waiting import wait_until


def quick_backoff() -> Backoff:
    return Backoff(lambda: 1.0, initial=0.02, maximum=0.1)


def open_stream(config: AriConfig | None, **options: object) -> EventStream:
    assert config is not None
    options.setdefault("backoff", quick_backoff())
    return EventStream(config, APP, **options)  # type: ignore[arg-type]


async def next_item(stream: EventStream, within: float = 5.0) -> StreamItem:
    """The stream's next item; fail the test if none comes ``within`` seconds."""
    async with asyncio.timeout(within):
        return await anext(stream)


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``within`` seconds."""
    await wait_until(condition, within=within, what="the stream's counters")


@pytest.fixture
async def stream(stub_events: StubEvents) -> AsyncIterator[EventStream]:
    async with open_stream(stub_events.config) as opened:
        yield opened


def event_text(**changes: object) -> str:
    return json.dumps(dict(STASIS_START, **changes))


TRACES_WITH_EVENTS = [
    name for name in trace_names() if any(line["kind"] == "event" for line in trace_lines(name))
]


@pytest.mark.parametrize("trace", params(TRACES_WITH_EVENTS, TRACES_WITH_EVENTS))
async def test_recorded_events_arrive_parsed_and_in_order_after_the_marker(
    trace: str, stub_events: StubEvents, stream: EventStream
) -> None:
    recorded = [line["event"] for line in trace_lines(trace) if line["kind"] == "event"]
    assert await next_item(stream) == StreamConnected(connection=1, reconnect=False)
    ws = await stub_events.next_connection()
    for event in recorded:
        await ws.send_str(json.dumps(event))
    received = [await next_item(stream) for _ in recorded]
    assert received == [parse_event(json.dumps(event)) for event in recorded]
    assert stream.stats.events == len(recorded)
    assert stub_events.queries[0] == {"app": APP, "api_key": f"{USER}:{PASSWORD}"}


async def test_unknown_type_is_kept_and_broken_messages_are_skipped(
    stub_events: StubEvents, stream: EventStream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ari_app.stasis")
    assert isinstance(await next_item(stream), StreamConnected)
    ws = await stub_events.next_connection()
    broken_shape = json.loads(event_text())
    del broken_shape["channel"]
    for message in (
        event_text(args=["18"]),
        json.dumps({"type": "ChannelRinging42", "application": APP}),
        "{this is not json",
        json.dumps(broken_shape),
        event_text(args=["112"]),
    ):
        await ws.send_str(message)
    first, unknown, last = [await next_item(stream) for _ in range(3)]
    assert isinstance(first, StasisStart)
    assert first.args == ["18"]
    assert isinstance(unknown, UnknownEvent)
    assert unknown.raw == {"type": "ChannelRinging42", "application": APP}
    assert isinstance(last, StasisStart)
    assert last.args == ["112"]
    assert (stream.stats.skipped_messages, stream.stats.unknown_events) == (2, 1)
    skipped = [r for r in caplog.records if r.getMessage() == "ARI event skipped"]
    assert len(skipped) == 2
    assert "not JSON" in skipped[0].reason  # type: ignore[attr-defined]
    assert "channel" in skipped[1].reason  # type: ignore[attr-defined]
    assert all(r.exc_info is None for r in skipped)


async def test_binary_frames_are_parsed_like_text(
    stub_events: StubEvents, stream: EventStream
) -> None:
    assert isinstance(await next_item(stream), StreamConnected)
    ws = await stub_events.next_connection()
    await ws.send_bytes(event_text().encode())
    assert isinstance(await next_item(stream), StasisStart)


async def test_server_close_is_reported_then_reconnected_with_a_marker(
    stub_events: StubEvents, stream: EventStream
) -> None:
    assert await next_item(stream) == StreamConnected(connection=1, reconnect=False)
    ws = await stub_events.next_connection()
    await ws.send_str(event_text(args=["before"]))
    await ws.close()
    before = await next_item(stream)
    assert isinstance(before, StasisStart)
    lost = await next_item(stream)
    assert isinstance(lost, StreamDisconnected)
    assert lost.connection == 1
    assert "closed by Asterisk (code 1000" in lost.reason
    assert await next_item(stream) == StreamConnected(connection=2, reconnect=True)
    ws2 = await stub_events.next_connection()
    await ws2.send_str(event_text(args=["after"]))
    after = await next_item(stream)
    assert isinstance(after, StasisStart)
    assert after.args == ["after"]
    assert (stream.stats.connections, stream.stats.disconnections) == (2, 1)


async def test_peer_that_stops_answering_is_noticed_dead_within_five_seconds(
    stub_events: StubEvents,
) -> None:
    proxy = FreezableProxy(stub_events.port)
    await proxy.start()
    config = AriConfig(f"http://127.0.0.1:{proxy.port}/ari", USER, PASSWORD)
    # Default ping timings: what production uses is what must meet the 5 s bound.
    timings = StreamTimings(open_timeout=1.0)
    assert StreamTimings().dead_after <= 5.0
    try:
        async with open_stream(config, timings=timings) as stream:
            assert isinstance(await next_item(stream), StreamConnected)
            await stub_events.next_connection()
            proxy.freeze()  # TCP stays open, nothing gets through any more
            frozen_at = time.monotonic()
            lost = await next_item(stream, within=5.0)
            noticed_after = time.monotonic() - frozen_at
            assert isinstance(lost, StreamDisconnected)
            assert "pings unanswered: connection dead" in lost.reason
            assert noticed_after < 5.0
            proxy.thaw()
            assert await next_item(stream) == StreamConnected(connection=2, reconnect=True)
    finally:
        await proxy.close()


async def test_refused_credentials_are_logged_in_one_line_and_retried(
    stub_events: StubEvents, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ari_app.stasis")
    stub_events.reject = [401, 401]
    async with open_stream(stub_events.config) as stream:
        assert await next_item(stream) == StreamConnected(connection=1, reconnect=False)
        assert stream.stats.failed_attempts == 2
    failures = [r for r in caplog.records if "connection attempt failed" in r.getMessage()]
    assert len(failures) == 2
    for record in failures:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None
        assert "HTTP 401" in record.reason  # type: ignore[attr-defined]
        assert "ari-secret" not in str(record.__dict__)


async def test_asterisk_down_then_up_is_retried_until_connected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ari_app.stasis")
    port = free_port()
    config = AriConfig(f"http://127.0.0.1:{port}/ari", USER, PASSWORD)
    async with open_stream(config) as stream:
        await eventually(lambda: stream.stats.failed_attempts >= 2)
        assert not stream.connected
        async with running_stub_events(port):
            assert await next_item(stream) == StreamConnected(connection=1, reconnect=False)
            assert stream.connected
            await stream.close()
    reasons = {getattr(r, "reason", "") for r in caplog.records}
    assert any("connection refused" in reason for reason in reasons)


async def test_handshake_never_answered_is_given_up_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ari_app.stasis")
    async with silent_server() as port:
        config = AriConfig(f"http://127.0.0.1:{port}/ari", USER, PASSWORD)
        timings = StreamTimings(open_timeout=0.2)
        async with open_stream(config, timings=timings) as stream:
            await eventually(lambda: stream.stats.failed_attempts >= 2)
    reasons = [getattr(r, "reason", "") for r in caplog.records]
    assert "no answer to the websocket handshake within 0.2 s" in reasons


async def test_unknown_host_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ari_app.stasis")
    config = AriConfig("http://asterisk.invalid:8088/ari", USER, PASSWORD)
    async with open_stream(config) as stream:
        await eventually(lambda: stream.stats.failed_attempts >= 1)
    assert any("cannot resolve" in getattr(r, "reason", "") for r in caplog.records)


async def test_close_while_connected_ends_iteration_and_closes_cleanly(
    stub_events: StubEvents,
) -> None:
    stream = open_stream(stub_events.config)
    stream.start()
    assert isinstance(await next_item(stream), StreamConnected)
    ws = await stub_events.next_connection()
    started = time.monotonic()
    await stream.close()
    assert time.monotonic() - started < 1.5
    await eventually(lambda: ws.closed)
    assert ws.close_code == 1000
    rest = [item async for item in stream]
    assert rest == [StreamDisconnected(connection=1, reason="closed by the application")]
    assert stream.stats.failed_attempts == 0


async def test_close_while_waiting_to_retry_is_immediate() -> None:
    config = AriConfig(f"http://127.0.0.1:{free_port()}/ari", USER, PASSWORD)
    slow = Backoff(lambda: 1.0, initial=30.0, maximum=30.0)
    stream = open_stream(config, backoff=slow)
    stream.start()
    await eventually(lambda: stream.stats.failed_attempts == 1)
    started = time.monotonic()
    await stream.close()
    assert time.monotonic() - started < 1.0
    assert [item async for item in stream] == []


async def test_close_during_a_hanging_handshake_is_immediate() -> None:
    async with silent_server() as port:
        config = AriConfig(f"http://127.0.0.1:{port}/ari", USER, PASSWORD)
        stream = open_stream(config, timings=StreamTimings(open_timeout=30.0))
        stream.start()
        await asyncio.sleep(0)  # sync-ok: one turn of the loop lets the reader start its attempt
        started = time.monotonic()
        await stream.close()
        assert time.monotonic() - started < 1.0


async def test_application_taken_over_by_another_client_is_logged_as_an_error(
    stub_events: StubEvents, stream: EventStream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="ari_app.stasis")
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
    assert isinstance(await next_item(stream), ApplicationReplaced)
    assert any("took its events" in r.getMessage() for r in caplog.records)


def test_timings_that_are_not_positive_are_refused() -> None:
    with pytest.raises(ValueError, match="ping_timeout must be positive"):
        StreamTimings(ping_timeout=0)
