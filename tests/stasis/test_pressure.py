"""Backing off a saturated Asterisk: the adaptive limit's arithmetic with time passed in, the
gate's order and bookkeeping, and the REST client never having more requests in flight than
it allows."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ari_app.stasis import AriClient, AriTimeout
from ari_app.stasis.pressure import AdaptiveLimit, GateTimeout, RequestGate
from tests.stasis.conftest import StubAri
from tests.waiting import wait_until


def test_a_healthy_asterisk_is_never_throttled() -> None:
    limit = AdaptiveLimit(50)
    for tick in range(1000):
        limit.answered(0.005, now=tick * 0.01)
    assert (limit.allowed, limit.backing_off) == (50, False)


def test_slow_answers_stop_the_growth_but_do_not_shrink_the_limit() -> None:
    limit = AdaptiveLimit(40, cooldown=0.0)
    limit.failed(now=0.0)
    for _ in range(100):
        limit.answered(2.0, now=1.0)
    assert limit.allowed == 20


def test_failures_count_once_per_cooldown_and_the_floor_is_a_quarter() -> None:
    limit = AdaptiveLimit(40, cooldown=1.0)
    for _ in range(20):  # one bad spell, twenty requests without answer: one signal
        limit.failed(now=10.0)
    assert limit.allowed == 20
    limit.failed(now=10.5)
    assert limit.allowed == 20
    for second in range(11, 20):
        limit.failed(now=float(second))
    assert (limit.allowed, limit.backing_off) == (10, True)


def test_requests_without_answer_halve_it_down_to_the_minimum() -> None:
    limit = AdaptiveLimit(40, minimum=4, cooldown=1.0)
    for second in range(10):
        limit.failed(now=float(second))
    assert limit.allowed == 4
    assert AdaptiveLimit(50).minimum == 12


def test_quick_answers_bring_it_back_one_request_per_round() -> None:
    limit = AdaptiveLimit(40, cooldown=0.0)
    limit.failed(now=0.0)
    assert limit.allowed == 20
    for _ in range(21):  # one round of answers at the current limit (and one)
        limit.answered(0.01, now=1.0)
    assert limit.allowed == 21
    for _ in range(2000):
        limit.answered(0.01, now=2.0)
    assert (limit.allowed, limit.backing_off) == (40, False)


@given(
    st.lists(
        st.tuples(st.sampled_from(["quick", "slow", "failed"]), st.floats(0.0, 5.0)),
        max_size=200,
    )
)
def test_the_limit_stays_within_its_bounds(signals: list[tuple[str, float]]) -> None:
    limit = AdaptiveLimit(30, minimum=3)
    now = 0.0
    for kind, step in signals:
        now += step
        if kind == "failed":
            limit.failed(now)
        else:
            limit.answered(0.01 if kind == "quick" else 3.0, now)
        assert 3 <= limit.allowed <= 30


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AdaptiveLimit(0)
    with pytest.raises(ValueError, match="ratio"):
        AdaptiveLimit(10, failure_ratio=1.5)


async def test_the_gate_lets_requests_through_in_arrival_order() -> None:
    gate = RequestGate(AdaptiveLimit(2, minimum=1))
    await gate.acquire(1.0)
    await gate.acquire(1.0)
    order: list[int] = []

    async def request(n: int) -> None:
        await gate.acquire(5.0)
        order.append(n)

    tasks = [asyncio.create_task(request(n)) for n in range(4)]
    await wait_until(lambda: gate.waiting == 4, what="four waiting requests")
    gate.answered(0.01)
    gate.answered(0.01)
    await wait_until(lambda: len(order) == 2, what="two requests let through")
    assert (order, gate.in_flight, gate.waiting) == ([0, 1], 2, 2)
    gate.answered(0.01)
    gate.answered(0.01)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]


async def test_a_request_that_waited_too_long_is_not_sent_and_keeps_no_slot() -> None:
    gate = RequestGate(AdaptiveLimit(1))
    await gate.acquire(1.0)
    with pytest.raises(GateTimeout):
        await gate.acquire(0.05)
    assert (gate.in_flight, gate.waiting) == (1, 0)
    gate.answered(0.01)
    assert gate.in_flight == 0


async def test_a_cancelled_waiter_keeps_no_slot() -> None:
    gate = RequestGate(AdaptiveLimit(1))
    await gate.acquire(1.0)
    waiter = asyncio.create_task(gate.acquire(5.0))
    await wait_until(lambda: gate.waiting == 1, what="the waiting request")
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    gate.answered(0.01)
    assert (gate.in_flight, gate.waiting) == (0, 0)


async def test_a_request_without_answer_holds_its_slot_a_while_longer() -> None:
    gate = RequestGate(AdaptiveLimit(4, minimum=1))
    await gate.acquire(1.0)
    gate.failed(hold_s=0.05)
    assert gate.in_flight == 1  # Asterisk is probably still working on it
    assert gate.limit.allowed == 2
    await wait_until(lambda: gate.in_flight == 0, within=1.0, what="the held slot back")


async def test_the_client_never_has_more_requests_in_flight_than_its_pool(
    stub_ari: StubAri,
) -> None:
    assert stub_ari.config is not None
    stub_ari.hold = asyncio.Event()
    async with AriClient(stub_ari.config, max_connections=5) as ari:
        pending = [asyncio.create_task(ari.bridges.destroy(f"b{n}")) for n in range(20)]
        await wait_until(
            lambda: (len(stub_ari.requests), ari.requests_waiting) == (5, 15),
            what="five requests at Asterisk and fifteen held back",
        )
        assert ari.requests_in_flight == 5
        stub_ari.hold.set()
        await asyncio.gather(*pending)
        assert len(stub_ari.requests) == 20
        assert (ari.requests_in_flight, ari.requests_waiting, ari.request_limit) == (0, 0, 5)


async def test_unanswered_requests_make_the_client_send_fewer_at_once(
    stub_ari: StubAri,
) -> None:
    assert stub_ari.config is not None
    stub_ari.hold = asyncio.Event()
    async with AriClient(stub_ari.config, timeout=0.05, max_connections=16) as ari:
        with pytest.raises(AriTimeout):
            await ari.bridges.destroy("b0")
        assert ari.request_limit == 8
        stub_ari.hold.set()
        await wait_until(lambda: ari.requests_in_flight == 0, what="the held slot back")
        stub_ari.hold = asyncio.Event()
        pending = [asyncio.create_task(ari.bridges.destroy(f"c{n}")) for n in range(12)]
        await wait_until(
            lambda: (len(stub_ari.requests), ari.requests_waiting) == (1 + 8, 4),
            what="eight requests at Asterisk and four held back",
        )
        stub_ari.hold.set()
        await asyncio.gather(*pending)


async def test_a_timed_out_request_keeps_its_slot_while_asterisk_may_still_hold_it(
    stub_ari: StubAri,
) -> None:
    assert stub_ari.config is not None
    stub_ari.hold = asyncio.Event()
    async with AriClient(stub_ari.config, timeout=0.1, max_connections=8) as ari:
        with pytest.raises(AriTimeout, match=r"no answer from Asterisk within 0\.1 s"):
            await ari.bridges.destroy("b1")
        assert ari.requests_in_flight == 1
        assert ari.request_limit == 4
        await wait_until(lambda: ari.requests_in_flight == 0, within=2.0, what="the slot back")
        stub_ari.hold.set()


async def test_requests_releasing_asterisk_overtake_those_creating_work() -> None:
    gate = RequestGate(AdaptiveLimit(1))
    await gate.acquire(1.0)
    order: list[str] = []

    async def request(name: str, *, urgent: bool) -> None:
        await gate.acquire(5.0, urgent=urgent)
        order.append(name)
        gate.answered(0.01)

    new_call = asyncio.create_task(request("answer a new caller", urgent=False))
    await wait_until(lambda: gate.waiting == 1, what="the new caller's request waiting")
    hang_up = asyncio.create_task(request("hang up a leg", urgent=True))
    await wait_until(lambda: gate.waiting == 2, what="the hang-up waiting")
    gate.answered(0.01)
    await asyncio.gather(new_call, hang_up)
    assert order == ["hang up a leg", "answer a new caller"]


async def test_the_client_sends_hangups_before_the_requests_queued_ahead_of_them(
    stub_ari: StubAri,
) -> None:
    assert stub_ari.config is not None
    stub_ari.hold = asyncio.Event()
    async with AriClient(stub_ari.config, max_connections=1) as ari:
        first = asyncio.create_task(ari.bridges.create(bridge_type="mixing", bridge_id="b1"))
        await wait_until(lambda: len(stub_ari.requests) == 1, what="the first request sent")
        queued = asyncio.create_task(ari.channels.answer("caller-2"))
        await wait_until(lambda: ari.requests_waiting == 1, what="the answer held back")
        hangup = asyncio.create_task(ari.channels.hangup("leg-1"))
        await wait_until(lambda: ari.requests_waiting == 2, what="the hang-up held back")
        stub_ari.answer(204)
        stub_ari.hold.set()
        with contextlib.suppress(Exception):
            await first  # the stub answers 204 where a bridge is expected
        await asyncio.gather(queued, hangup)
        assert [r.path for r in stub_ari.requests[1:]] == [
            "/channels/leg-1",
            "/channels/caller-2/answer",
        ]
