"""Abandoned callers reach the callback list and duty officers mark them done."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ari_app.calls.journal import CallOutcome
from tests.api.world import World, api_world, caller_waiting_at_alpha, eventually


async def pending(world: World) -> list[dict[str, Any]]:
    reply = await world.get("/api/v1/callbacks")
    assert reply.status == 200
    callbacks: list[dict[str, Any]] = reply.body["callbacks"]
    return callbacks


async def test_abandoned_caller_is_listed_then_marked_done_by_their_centre(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with api_world(
        pg_dsn, offline=("alpha-op2",), journal_spool=tmp_path / "journal.spool"
    ) as world:
        _, waiting = await caller_waiting_at_alpha(world)
        await world.calls.emulator.hang_up_caller(waiting)
        ended = await world.calls.until_ended(waiting)
        assert ended.outcome is CallOutcome.ABANDONED

        async def listed() -> bool:
            return any(c["call_id"] == waiting for c in await pending(world))

        await eventually(listed, "the abandoned call on the callback list")
        [callback] = await pending(world)
        assert callback["caller"] == "0622222222"
        assert callback["home_centre"] == "alpha"
        assert callback["waited_s"] > 0
        # As instants: the text of a time on a whole second has no fraction, and sorts after.
        arrived = datetime.fromisoformat(callback["arrived_at"])
        assert arrived < datetime.fromisoformat(callback["hung_up_at"])
        assert (callback["done"], callback["done_by"]) == (False, None)

        path = f"/api/v1/callbacks/{waiting}/done"
        reply = await world.post(path, {"outcome": "reached"}, "beta")
        assert (reply.status, reply.body["error_id"]) == (403, "forbidden")
        reply = await world.post(path, {"outcome": "called back"}, "alpha")
        assert reply.status == 422

        reply = await world.post(
            path, {"outcome": "reached", "note": "false alarm, all fine"}, "alpha"
        )
        assert reply.status == 200
        assert (reply.body["done"], reply.body["done_by"]) == (True, "officer alpha")
        assert (reply.body["done_outcome"], reply.body["note"]) == (
            "reached",
            "false alarm, all fine",
        )

        assert await pending(world) == []
        everything = await world.get("/api/v1/callbacks", params={"pending": "false"})
        assert [c["call_id"] for c in everything.body["callbacks"]] == [waiting]

        again = await world.post(path, {"outcome": "no_answer"}, "national")
        assert (again.status, again.body["error_id"]) == (409, "callback_already_done")
        assert "already marked done by officer alpha" in again.body["message"]


async def test_callback_list_filters_by_home_centre(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        async with world.pool.connection() as conn:
            for call_id, centre in (("c-alpha", "alpha"), ("c-beta", "beta")):
                await conn.execute("INSERT INTO calls (call_id) VALUES (%s)", (call_id,))
                await conn.execute(
                    "INSERT INTO callbacks (call_id, caller, home_centre, arrived_at,"
                    " hung_up_at, waited_s) VALUES (%s, '0600000000', %s, now(), now(), 3)",
                    (call_id, centre),
                )
        reply = await world.get("/api/v1/callbacks", params={"centre": "beta"})
        assert [c["call_id"] for c in reply.body["callbacks"]] == ["c-beta"]


async def test_without_a_database_the_callback_list_is_503_and_says_why(pg_dsn: str) -> None:
    async with api_world(pg_dsn, with_callbacks=False) as world:
        reply = await world.get("/api/v1/callbacks")
        assert (reply.status, reply.body["error_id"]) == (503, "callbacks_unavailable")
        assert "runs without one" in reply.body["message"]
