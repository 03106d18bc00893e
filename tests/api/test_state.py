"""Reading where every unit stands: units, one unit, waiting calls, positions."""

from __future__ import annotations

from tests.api.world import api_world, caller_waiting_at_alpha
from tests.calls.topologies import pooled_at_night


async def test_idle_units_are_listed_with_positions_modes_and_nena_standby(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/api/v1/units")
        assert reply.status == 200
        units = {u["id"]: u for u in reply.body["units"]}
        assert list(units) == ["alpha", "beta", "gamma", "national"]
        alpha = units["alpha"]
        assert (alpha["kind"], alpha["in_service"], alpha["served_by"]) == ("centre", True, "alpha")
        assert (alpha["positions"], alpha["free_positions"], alpha["busy_positions"]) == (2, 2, 0)
        assert (alpha["queue_length"], alpha["oldest_wait_s"], alpha["saturated"]) == (
            0,
            None,
            False,
        )
        assert (alpha["overflow_held"], alpha["overflow_cap"], alpha["reserve"]) == (0, 5, 0)
        assert alpha["modes"] == [
            {
                "centre": "alpha",
                "outgoing_mutual_aid": True,
                "incoming_mutual_aid": True,
                "diverted_to": None,
                "crisis_message": None,
            }
        ]
        assert alpha["queue_state"] == {
            "queueState": "Standby",
            "queueLength": 0,
            "queueMaxLength": 1,
        }


async def test_saturated_unit_shows_its_waiting_call_busy_position_and_nena_full(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        talking, waiting = await caller_waiting_at_alpha(world)

        alpha = (await world.get("/api/v1/units/alpha")).body
        assert alpha["queue_length"] == 1
        assert alpha["oldest_wait_s"] > 0
        assert (alpha["free_positions"], alpha["busy_positions"]) == (0, 1)
        assert alpha["saturated"] is True
        assert "no free position" in alpha["saturation_reason"]
        assert alpha["modes"][0]["outgoing_mutual_aid"] is False
        assert alpha["queue_state"] == {"queueState": "Full", "queueLength": 1, "queueMaxLength": 1}

        calls = (await world.get("/api/v1/units/alpha/waiting-calls")).body
        assert calls["unit"] == "alpha"
        [call] = calls["calls"]
        assert (call["call_id"], call["home_centre"], call["status"]) == (
            waiting,
            "alpha",
            "waiting",
        )
        assert (call["routing_key"], call["hops"], call["overflow"]) == ("18", 0, False)
        assert call["waited_s"] > 0
        assert call["arrived_at"].endswith("Z")  # UTC

        positions = {p["id"]: p for p in (await world.get("/api/v1/positions")).body["positions"]}
        assert positions["alpha-op1"]["status"] == "busy"
        assert positions["alpha-op1"]["call_id"] == talking
        assert positions["alpha-op2"]["status"] == "offline"
        assert positions["beta-op1"]["status"] == "available"
        assert positions["beta-op1"]["idle_for_s"] >= 0
        assert positions["beta-op1"]["unit"] == "beta"


async def test_unknown_unit_is_404_with_a_sentence(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for path in ("/api/v1/units/nowhere", "/api/v1/units/nowhere/waiting-calls"):
            reply = await world.get(path)
            assert reply.status == 404
            assert reply.body["error_id"] == "unknown_unit"
            assert "there is no unit 'nowhere'" in reply.body["message"]
        reply = await world.get("/api/v1/positions", params={"unit": "nowhere"})
        assert reply.status == 404


async def test_pooled_centres_are_disabled_and_the_virtual_cta_serves_their_positions(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn, topology=pooled_at_night()) as world:
        units = {u["id"]: u for u in (await world.get("/api/v1/units")).body["units"]}
        night = units["night"]
        assert (night["kind"], night["in_service"], night["members"]) == (
            "vcta",
            True,
            ["alpha", "beta"],
        )
        assert night["positions"] == 4
        assert [m["centre"] for m in night["modes"]] == ["alpha", "beta"]
        assert night["queue_state"]["queueState"] == "Standby"
        alpha = units["alpha"]
        assert (alpha["in_service"], alpha["served_by"]) == (False, "night")
        assert alpha["queue_state"]["queueState"] == "Disabled"

        reply = await world.get("/api/v1/positions", params={"unit": "night"})
        served = {(p["id"], p["unit"]) for p in reply.body["positions"]}
        assert served == {
            ("alpha-op1", "night"),
            ("alpha-op2", "night"),
            ("beta-op1", "night"),
            ("beta-op2", "night"),
        }
