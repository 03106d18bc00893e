"""Reading the dialplan's records in AstDB: an Asterisk that refuses (the emulator does,
every time) costs one warning, not one every sweep, and nothing else."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from ari_app.calls.astdb import DialplanRecords, DialplanSweep, FallbackCall
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

    async def forget(self, call_ids: list[str]) -> int:
        assert call_ids == [], "nothing to forget"
        return 0


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


class Originates:
    """An ARI client's ``channels.originate``, recorded; the ids listed in ``refused`` fail."""

    def __init__(self, refused: str = "") -> None:
        self.refused = refused
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def originate(self, endpoint: str, **kwargs: Any) -> None:
        self.sent.append((endpoint, kwargs["variables"]))
        if self.refused and self.refused in kwargs["variables"]["VCTA_FORGET"]:
            raise AriError("Allocation failed", status=500)


async def test_many_calls_are_forgotten_by_a_few_local_channels() -> None:
    ids = [f"1764620000.{n}" for n in range(120)]
    channels = Originates(refused=ids[119])
    records = DialplanRecords(SimpleNamespace(channels=channels), CallNames("vcta"))  # type: ignore[arg-type]
    failed = await records.forget(["vcta-op-1", *ids])  # not an Asterisk id: never listed
    lists = [variables["VCTA_FORGET"] for _, variables in channels.sent]
    assert {endpoint for endpoint, _ in channels.sent} == {"Local/forget@vcta-forget"}
    assert len(lists) == 2  # 1,860 characters of ids
    assert all(len(listed) <= 1000 for listed in lists)
    assert "&".join(lists).split("&") == ids
    assert failed == len(lists[-1].split("&"))  # the last list was refused: next sweep
