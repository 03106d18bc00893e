"""Requests that got no answer are sent again, jittered; requests never sent are not: this
instance may not command Asterisk, or Asterisk's backlog kept them from their turn."""

from __future__ import annotations

import pytest

from ari_app.calls import executor
from ari_app.calls.executor import Executor
from ari_app.stasis import AriConnectionError, NotPermitted, SlotTimeout


@pytest.fixture
def steady(monkeypatch: pytest.MonkeyPatch) -> Executor:
    monkeypatch.setattr(executor, "RETRY_DELAYS_S", (0.001, 0.002))
    return Executor(
        host=None,  # type: ignore[arg-type]  # _steady asks nothing of the host
        call_id="1796144450.8",
        caller_number="0611000001",
        sink=None,  # type: ignore[arg-type]
        deliver=lambda _: None,
    )


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent = 0

    async def __call__(self) -> str:
        self.sent += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answered"


async def test_a_request_without_answer_is_sent_again(steady: Executor) -> None:
    request = Flaky(AriConnectionError("reset"), AriConnectionError("reset"))
    assert await steady._steady(request) == "answered"
    assert request.sent == 3


async def test_a_request_still_without_answer_after_the_retries_fails(steady: Executor) -> None:
    request = Flaky(*(AriConnectionError("reset") for _ in range(3)))
    with pytest.raises(AriConnectionError):
        await steady._steady(request)
    assert request.sent == 3


@pytest.mark.parametrize(
    "never_sent",
    [NotPermitted("DELETE /channels/x not sent"), SlotTimeout("not sent: too slow")],
    ids=["not-permitted", "no-slot"],
)
async def test_a_request_never_sent_is_not_sent_again(
    steady: Executor, never_sent: Exception
) -> None:
    request = Flaky(never_sent)
    with pytest.raises(type(never_sent)):
        await steady._steady(request)
    assert request.sent == 1
