"""A caller the application cannot set up in time is handed back to the dialplan's fallback:
Asterisk answering or bridging slowly (requests held here by the test) must cost the caller
neither silence nor a SIP failure, and leave nothing behind in Asterisk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.sim import Answer
from tests.calls.harness import Harness, running
from tests.calls.topologies import three_centres
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)
# Clock seconds: half a real second at the harness's speed, long enough for a caller's
# setup on a busy machine, short enough for the tests where Asterisk is made slow.
GUARD_S = 25.0
HANDED_BACK = f"not in its waiting bridge {GUARD_S:g} s after arriving"

Request = Callable[..., Awaitable[Any]]


class Held:
    """A request made slow: it waits until released, then goes to Asterisk (or, with
    ``after``, goes at once and its answer is held)."""

    def __init__(self, request: Request, *, after: bool = False) -> None:
        self.request = request
        self.after = after
        self.released = asyncio.Event()
        self.sent = 0
        self.done = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.after:
            self.sent += 1
            result = await self.request(*args, **kwargs)
            await self.released.wait()
        else:
            await self.released.wait()
            self.sent += 1
            result = await self.request(*args, **kwargs)
        self.done += 1
        return result


class Recorded:
    """A request passed through, its arguments kept; ``before`` runs first."""

    def __init__(self, request: Request, before: Request | None = None) -> None:
        self.request = request
        self.before = before
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        if self.before is not None:
            await self.before(*args, **kwargs)
        return await self.request(*args, **kwargs)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running(topology=three_centres(), script=TALKING, setup_guard_s=GUARD_S) as h:
        yield h


def handed_back_to_the_fallback(h: Harness, call: str, continues: Recorded) -> None:
    """Continued once, to the step after Stasis() (extensions.conf's fallback), by no
    context of ours; out of the application and of the policy."""
    assert continues.calls == [((call,), {})]
    assert call not in h.policy.calls
    assert call not in h.service.sessions
    record = h.emulator.call(call)
    assert record is not None
    # The emulator's dialplan ends the call after Stasis(), where the real one rings the
    # positions directly: the dialplan took it, not the application.
    assert record.ended_by == "dialplan"
    assert not record.talked


async def test_a_caller_asterisk_is_slow_to_answer_is_handed_back_to_the_fallback(
    h: Harness,
) -> None:
    answer = Held(h.ari.channels.answer)
    continues = Recorded(h.ari.channels.continue_in_dialplan)
    h.ari.channels.answer = answer  # type: ignore[method-assign]
    h.ari.channels.continue_in_dialplan = continues  # type: ignore[method-assign]
    call = await h.call("18")
    ended = await h.until_ended(call)
    assert ended.outcome is CallOutcome.HANDED_BACK
    assert HANDED_BACK in (ended.reason or "")
    assert ended.details["ended_by"] == "application"
    assert h.kinds(call) == [JournalKind.ARRIVED, JournalKind.ROUTED, JournalKind.ENDED]
    handed_back_to_the_fallback(h, call, continues)
    answer.released.set()
    assert answer.sent == 0  # the interrupted answer is never sent
    await h.until_idle()


async def test_a_waiting_bridge_asterisk_creates_after_the_guard_gave_up_is_destroyed(
    h: Harness,
) -> None:
    create = Held(h.ari.bridges.create)
    continues = Recorded(h.ari.channels.continue_in_dialplan)
    h.ari.bridges.create = create  # type: ignore[method-assign]
    h.ari.channels.continue_in_dialplan = continues  # type: ignore[method-assign]
    call = await h.call("18")
    ended = await h.until_ended(call)
    assert ended.outcome is CallOutcome.HANDED_BACK
    handed_back_to_the_fallback(h, call, continues)
    # Asterisk takes the creation only now, after the call's clean-up: the bridge it makes
    # is destroyed as soon as it is.
    create.released.set()
    await wait_until(lambda: create.done == 1, what="the late bridge creation")
    await h.until_idle()


async def test_a_caller_joining_the_waiting_bridge_as_the_guard_fires_is_taken_out_of_it(
    h: Harness,
) -> None:
    # Asterisk has put the caller in the waiting bridge, but its answer is late: the guard
    # fires first. The caller is continued out of the bridge, which is destroyed.
    join = Held(h.ari.bridges.add_channel, after=True)
    continues = Recorded(h.ari.channels.continue_in_dialplan)
    h.ari.bridges.add_channel = join  # type: ignore[method-assign]
    h.ari.channels.continue_in_dialplan = continues  # type: ignore[method-assign]
    call = await h.call("18")
    ended = await h.until_ended(call)
    assert join.sent == 1
    assert ended.outcome is CallOutcome.HANDED_BACK
    handed_back_to_the_fallback(h, call, continues)
    join.released.set()
    await h.until_idle()


async def test_a_caller_gone_when_handed_back_ends_abandoned(h: Harness) -> None:
    # The caller hangs up just as the guard hands them back: Asterisk answers 404, an outcome.
    async def caller_hangs_up(channel_id: str, **_: Any) -> None:
        await h.emulator.hang_up_caller(channel_id)

    answer = Held(h.ari.channels.answer)
    continues = Recorded(h.ari.channels.continue_in_dialplan, before=caller_hangs_up)
    h.ari.channels.answer = answer  # type: ignore[method-assign]
    h.ari.channels.continue_in_dialplan = continues  # type: ignore[method-assign]
    call = await h.call("18")
    ended = await h.until_ended(call)
    assert ended.outcome is CallOutcome.ABANDONED
    assert ended.reason == "the caller hung up before waiting"
    assert len(continues.calls) == 1
    assert call not in h.policy.calls
    record = h.emulator.call(call)
    assert record is not None
    assert record.ended_by == "caller"
    answer.released.set()
    await h.until_idle()


async def test_a_caller_set_up_in_time_is_never_handed_back(h: Harness) -> None:
    continues = Recorded(h.ari.channels.continue_in_dialplan)
    h.ari.channels.continue_in_dialplan = continues  # type: ignore[method-assign]
    call = await h.call("18")
    await h.until_talking(call)
    arrived = h.entries(call, JournalKind.ARRIVED)[0].at
    await wait_until(
        lambda: h.clock.now() > arrived + 2 * GUARD_S, what="the guard's time to be long past"
    )
    await h.emulator.hang_up_caller(call)
    assert (await h.until_ended(call)).outcome is CallOutcome.ANSWERED
    assert continues.calls == []
    await h.until_idle()


async def test_other_callers_are_set_up_while_one_is_handed_back(h: Harness) -> None:
    answer = Held(h.ari.channels.answer)
    real_answer = h.ari.channels.answer

    async def slow_for_the_first(channel_id: str, *args: Any, **kwargs: Any) -> Any:
        request = answer if channel_id == first else real_answer
        return await request(channel_id, *args, **kwargs)

    first = ""
    h.ari.channels.answer = slow_for_the_first  # type: ignore[method-assign]
    first = await h.call("18", number="0600000001")
    second = await h.call("18", number="0600000002")
    assert (await h.until_ended(first)).outcome is CallOutcome.HANDED_BACK
    await h.until_talking(second)
    await h.emulator.hang_up_caller(second)
    assert (await h.until_ended(second)).outcome is CallOutcome.ANSWERED
    answer.released.set()
    await h.until_idle()
