"""The application watches each position's endpoint, not the whole technology: the carrier
trunk's events (one per call, listing every caller in progress) never reach it; positions
added by a topology import are watched at once; an unknown one is said."""

from __future__ import annotations

import logging

import pytest

from ari_app.topology_reload import apply_topology
from ari_app.vcta import parse_topology
from tests.calls.harness import running
from tests.calls.topologies import THREE_CENTRES
from tests.waiting import wait_until

APP = "vcta"


def subscribed(h: object) -> set[str]:
    app = h.emulator.pbx.apps.get(APP)  # type: ignore[attr-defined]
    assert app is not None
    return set(app.endpoints)


async def test_each_position_endpoint_is_subscribed_and_nothing_else() -> None:
    topology = parse_topology(THREE_CENTRES, "three")
    async with running(topology=topology) as h:
        expected = {p.endpoint for p in topology.position_by_id.values()}
        assert subscribed(h) == expected
        # Calls come from the carrier's trunk: its endpoint events are not ours to read.
        events = h.service.stats.events
        call = await h.call("18")
        await h.until_talking(call)
        await h.emulator.hang_up_caller(call)
        await h.until_ended(call)
        # StasisStart, StasisEnd, the leg's own, the position's endpoint twice ...: a handful.
        assert h.service.stats.events - events < 20


async def test_a_position_added_while_running_is_watched_and_online_at_once() -> None:
    topology = parse_topology(THREE_CENTRES, "three")
    async with running(topology=topology) as h:
        h.emulator.add_endpoint("alpha-op9", online=True)
        bigger = parse_topology(
            THREE_CENTRES.replace('"PJSIP/alpha-op2"]', '"PJSIP/alpha-op2", "PJSIP/alpha-op9"]'),
            "bigger",
        )
        new = next(p.id for p in bigger.position_by_id.values() if p.endpoint.endswith("op9"))
        apply_topology(h.service, bigger, h.service.policy.modes)
        await wait_until(lambda: h.policy.positions[new].online, what="the new position online")
        assert "PJSIP/alpha-op9" in subscribed(h)


async def test_a_position_unknown_to_asterisk_is_said_and_the_others_are_watched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="ari_app.calls")
    topology = parse_topology(THREE_CENTRES, "three")
    async with running(topology=topology) as h:
        bigger = parse_topology(
            THREE_CENTRES.replace('"PJSIP/alpha-op2"]', '"PJSIP/alpha-op2", "PJSIP/ghost"]'),
            "bigger",
        )
        apply_topology(h.service, bigger, h.service.policy.modes)
        await wait_until(
            lambda: any(getattr(r, "endpoint", None) == "PJSIP/ghost" for r in caplog.records),
            what="the unknown endpoint said",
        )
        assert {p.endpoint for p in topology.position_by_id.values()} <= subscribed(h)
        assert "PJSIP/ghost" not in subscribed(h)
