"""Duty officers' changes through the API apply to the next decision and are audited."""

from __future__ import annotations

from ari_app.calls.journal import JournalKind
from tests.api.world import api_world, caller_waiting_at_alpha, wait_until
from tests.calls.topologies import pooled_at_night

DIVERSION = "/api/v1/centres/alpha/diversion"


async def test_diversion_sends_the_next_call_to_the_target_and_is_audited(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.put(DIVERSION, {"to": "beta", "reason": "evacuation"}, "alpha")
        assert reply.status == 200
        assert reply.body == {
            "changed": True,
            "decision": "alpha diverted to beta",
            "actor": "officer alpha",
        }

        call = await world.calls.call("18")
        routed = await world.calls.until_journal(call, JournalKind.ROUTED)
        assert (routed.home_centre, routed.unit) == ("alpha", "beta")
        assert (await world.calls.until_talking(call)).startswith("beta-op")

        [change] = (await world.get("/api/v1/mode-changes")).body["changes"]
        assert change["actor"] == "officer alpha"
        assert (change["unit"], change["what"]) == ("alpha", "diverted_to")
        assert (change["before"], change["after"]) == (
            {"diverted_to": None},
            {"diverted_to": "beta"},
        )
        assert change["reason"] == "evacuation"
        assert change["decision"] == "alpha diverted to beta"


async def test_ending_the_diversion_brings_the_next_call_home(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        assert (await world.put(DIVERSION, {"to": "beta", "reason": "drill"})).status == 200
        reply = await world.put(DIVERSION, {"to": None, "reason": "drill over"})
        assert reply.body["decision"] == "alpha: diversion ended"
        call = await world.calls.call("18")
        assert (await world.calls.until_journal(call, JournalKind.ROUTED)).unit == "alpha"


async def test_diversion_that_would_loop_is_refused_409_with_the_policy_sentence(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn) as world:
        assert (await world.put(DIVERSION, {"to": "beta", "reason": "outage"})).status == 200
        reply = await world.put(
            "/api/v1/centres/beta/diversion", {"to": "alpha", "reason": "outage"}, "beta"
        )
        assert reply.status == 409
        assert reply.body["error_id"] == "change_refused"
        assert reply.body["message"] == (
            "diverting beta to alpha would make a loop: beta -> alpha -> beta; "
            "end the diversion of alpha first"
        )
        assert world.service.policy.modes.of("beta").diverted_to is None
        assert len(world.calls.recorder.changes) == 1


async def test_diversion_to_an_unknown_centre_or_to_itself_is_422(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.put(DIVERSION, {"to": "atlantis", "reason": "x"})
        assert (reply.status, reply.body["error_id"]) == (422, "invalid_diversion")
        assert reply.body["message"] == "'atlantis' is not a centre of this topology"
        reply = await world.put(DIVERSION, {"to": "alpha", "reason": "x"})
        assert (reply.status, reply.body["message"]) == (422, "alpha cannot be diverted to itself")
        assert world.calls.recorder.changes == []


async def test_setting_a_mode_to_its_value_in_force_is_no_change(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.put(
            "/api/v1/centres/alpha/mutual-aid", {"incoming": True, "reason": "check"}
        )
        assert reply.status == 200
        assert reply.body["changed"] is False
        assert reply.body["decision"] == "alpha: incoming mutual aid is already on"
        assert world.calls.recorder.changes == []


async def test_neighbour_refusing_incoming_mutual_aid_is_skipped_by_the_next_move(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        reply = await world.put(
            "/api/v1/centres/beta/mutual-aid",
            {"incoming": False, "outgoing": False, "reason": "short-staffed"},
            "beta",
        )
        assert reply.body["decision"] == (
            "beta: outgoing mutual aid off; beta: incoming mutual aid off"
        )
        talking = await world.calls.call("18")
        assert await world.calls.until_talking(talking) == "alpha-op1"
        waiting = await world.calls.call("18")
        moved = await world.calls.until_journal(waiting, JournalKind.MOVED)
        assert moved.unit == "gamma"


async def test_outgoing_mutual_aid_off_keeps_the_call_at_home(pg_dsn: str) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        _, waiting = await caller_waiting_at_alpha(world)
        start = world.service.stats.ticks
        await wait_until(lambda: world.service.stats.ticks >= start + 5, what="five passes")
        assert JournalKind.MOVED not in world.calls.kinds(waiting)
        reply = await world.put(
            "/api/v1/centres/alpha/mutual-aid", {"outgoing": True, "reason": "help wanted"}
        )
        assert reply.body["changed"] is True
        assert (await world.calls.until_journal(waiting, JournalKind.MOVED)).unit == "beta"


async def test_crisis_message_is_set_shown_and_cleared(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        path = "/api/v1/centres/alpha/crisis-message"
        reply = await world.put(path, {"message": "sound:crisis/flood", "reason": "flood"}, "alpha")
        assert reply.body["decision"] == "alpha: crisis message sound:crisis/flood"
        alpha = (await world.get("/api/v1/units/alpha")).body
        assert alpha["modes"][0]["crisis_message"] == "sound:crisis/flood"

        reply = await world.put(path, {"message": "flood", "reason": "flood"}, "alpha")
        assert (reply.status, reply.body["error_id"]) == (422, "invalid_crisis_message")
        assert "must be a media Asterisk can play" in reply.body["message"]

        # A file Asterisk does not have would be skipped in silence for every caller.
        for message, said in (
            (
                "sound:crisis/fload",
                "alpha: Asterisk has no sound 'crisis/fload' (GET /sounds lists those it has): "
                "install the file in its sounds directory, or name another",
            ),
            (
                "recording:crisis-77",
                "alpha: Asterisk has no stored recording 'crisis-77' (GET /recordings/stored "
                "lists those it has)",
            ),
        ):
            reply = await world.put(path, {"message": message, "reason": "flood"}, "alpha")
            assert (reply.status, reply.body["error_id"]) == (422, "unknown_media"), message
            assert reply.body["message"] == said
        assert world.service.policy.modes.of("alpha").crisis_message == "sound:crisis/flood"
        reply = await world.put(path, {"message": "sound:silence/2", "reason": "r"}, "alpha")
        assert reply.status == 200

        reply = await world.put(path, {"message": None, "reason": "water gone"}, "alpha")
        assert reply.body["decision"] == "alpha: crisis message cleared"
        assert world.service.policy.modes.of("alpha").crisis_message is None


async def test_paused_position_is_not_offered_calls_until_resumed(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.post("/api/v1/positions/alpha-op1/pause", {"reason": "break"}, "alpha")
        assert reply.body == {
            "changed": True,
            "decision": "alpha-op1 paused",
            "actor": "officer alpha",
        }
        positions = (await world.get("/api/v1/positions", params={"unit": "alpha"})).body
        assert {p["id"]: p["status"] for p in positions["positions"]} == {
            "alpha-op1": "paused",
            "alpha-op2": "available",
        }
        call = await world.calls.call("18")
        assert await world.calls.until_talking(call) == "alpha-op2"
        offered = world.calls.entries(call, JournalKind.OFFERED)
        assert [e.position for e in offered] == ["alpha-op2"]

        reply = await world.post("/api/v1/positions/alpha-op1/resume", {}, "alpha")
        assert reply.body["decision"] == "alpha-op1 resumed"
        second = await world.calls.call("18")
        assert await world.calls.until_talking(second) == "alpha-op1"
        [change, _] = (await world.get("/api/v1/mode-changes")).body["changes"]
        assert (change["position"], change["what"], change["after"]) == (
            "alpha-op1",
            "paused",
            {"paused": False},
        )
        assert change["reason"] is None


async def test_picking_a_waiting_call_rings_the_chosen_position(pg_dsn: str) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        _, waiting = await caller_waiting_at_alpha(world)
        # The operator at alpha-op2 arrives on a break, so only picking can ring it.
        assert (await world.post("/api/v1/positions/alpha-op2/pause", {})).status == 200
        world.calls.emulator.set_online("alpha-op2", True)
        await wait_until(
            lambda: world.service.policy.positions["alpha-op2"].online, what="alpha-op2 online"
        )
        reply = await world.post("/api/v1/positions/alpha-op2/pick", {"call_id": waiting}, "alpha")
        assert reply.status == 200, reply.body
        assert (reply.body["call_id"], reply.body["position"]) == (waiting, "alpha-op2")
        assert await world.calls.until_talking(waiting) == "alpha-op2"
        assert world.calls.entries(waiting, JournalKind.PICKED)[0].position == "alpha-op2"


async def test_picking_is_refused_for_an_unknown_call_or_one_waiting_elsewhere(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        _, waiting = await caller_waiting_at_alpha(world)
        reply = await world.post("/api/v1/positions/beta-op1/pick", {"call_id": "nope"})
        assert (reply.status, reply.body["error_id"]) == (404, "unknown_call")
        reply = await world.post("/api/v1/positions/beta-op1/pick", {"call_id": waiting})
        assert (reply.status, reply.body["error_id"]) == (409, "pick_refused")
        assert waiting in reply.body["message"]
        assert world.calls.entries(waiting, JournalKind.PICKED) == []


async def test_virtual_cta_is_deactivated_by_a_national_token_only(pg_dsn: str) -> None:
    async with api_world(pg_dsn, topology=pooled_at_night()) as world:
        path = "/api/v1/virtual-ctas/night/active"
        body = {"active": False, "reason": "day shift"}
        reply = await world.put(path, body, "alpha")
        assert (reply.status, reply.body["error_id"]) == (403, "forbidden")
        assert "pools beta" in reply.body["message"]
        reply = await world.put(path, body, "national")
        assert reply.status == 200
        assert reply.body["decision"].startswith("night deactivated")
        alpha = (await world.get("/api/v1/units/alpha")).body
        assert (alpha["in_service"], alpha["queue_state"]["queueState"]) == (True, "Standby")
        call = await world.calls.call("18")
        assert (await world.calls.until_journal(call, JournalKind.ROUTED)).unit == "alpha"
