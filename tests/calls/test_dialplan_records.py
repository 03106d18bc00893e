"""Reading the dialplan's records in AstDB: an Asterisk that refuses (the emulator does,
every time) costs one warning, not one every sweep, and nothing else."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from ari_app.calls.astdb import DialplanSweep, FallbackCall
from ari_app.calls.ids import CallNames
from ari_app.stasis import AriError


class RefusingThenEmpty:
    """Records that fail ``refusals`` times, then hold nothing."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals

    async def read(self) -> tuple[list[FallbackCall], list[str]]:
        if self.refusals:
            self.refusals -= 1
            raise AriError("The emulator creates PJSIP channels only", status=501)
        return [], []

    async def forget(self, call_id: str) -> None:
        raise AssertionError("nothing to forget")


async def test_refused_records_are_warned_once_and_their_return_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service: Any = SimpleNamespace(ari=None, names=CallNames("vcta"), sessions={})
    sweep = DialplanSweep(service)
    sweep.records = RefusingThenEmpty(refusals=3)  # type: ignore[assignment]
    with caplog.at_level(logging.INFO, logger="ari_app.calls.astdb"):
        for _ in range(5):
            await sweep.run()
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in levels] == ["WARNING", "INFO"]
    assert "fallback calls are journaled once it works" in levels[0][1]
