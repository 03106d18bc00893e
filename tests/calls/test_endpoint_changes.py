"""What the application makes of EndpointStateChange, which Asterisk sends on every channel
change of a position's endpoint, not only when its phone registers or goes away."""

from __future__ import annotations

import logging

import pytest

from tests.calls.harness import running
from tests.calls.topologies import three_centres


async def test_a_position_online_again_is_not_logged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running(topology=three_centres(), offline=("alpha-op1",)) as h:
        endpoint = h.service.topology.position_by_id["alpha-op1"].endpoint
        with caplog.at_level(logging.INFO, logger="ari_app.calls.service"):
            h.service.endpoint_changed(endpoint, "online")
            for _ in range(3):  # a call ringing, answered, ended on that phone
                h.service.endpoint_changed(endpoint, "online")
            h.service.endpoint_changed(endpoint, "offline")
            h.service.endpoint_changed(endpoint, "offline")
        lines = [r.getMessage() for r in caplog.records if r.name == "ari_app.calls.service"]
        assert lines == ["position online", "position offline"]
        assert not h.policy.positions["alpha-op1"].online
