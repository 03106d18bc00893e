"""The duty officers' commands against a served API."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from ari_app.cli import main
from tests.api.world import World, api_world, caller_waiting_at_alpha
from tests.calls.topologies import pooled_at_night

Capture = pytest.CaptureFixture[str]


async def run(
    monkeypatch: pytest.MonkeyPatch, world: World | None, role: str | None, *argv: str
) -> int:
    """``ari-app argv`` in a thread (its requests block), against ``world``'s API."""
    monkeypatch.setenv("ARI_APP_API_URL", world.url if world else "http://127.0.0.1:1")
    token = world.tokens[role] if world and role else ("ariapp_" + "x" * 43 if role else "")
    monkeypatch.setenv("ARI_APP_API_TOKEN", token)
    return await asyncio.to_thread(main, list(argv))


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    return lines[0]


async def test_status_shows_every_unit_then_one_unit_with_its_waiting_call(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        _, waiting = await caller_waiting_at_alpha(world)
        assert await run(monkeypatch, world, "read", "status") == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].split() == [
            "UNIT", "STATE", "QUEUE", "OLDEST", "FREE", "BUSY", "OVERFLOW", "MODES",
        ]  # fmt: skip
        alpha = next(line.split() for line in out if line.startswith("alpha "))
        assert alpha[:3] == ["alpha", "Full", "1/1"]
        assert alpha[4:] == ["0", "1", "0/5", "out:off", "in:on"]
        assert out[-1].startswith("alpha saturated: no free position")

        assert await run(monkeypatch, world, "read", "status", "alpha") == 0
        detail = capsys.readouterr().out
        assert "alpha-op1  busy" in detail
        assert "alpha-op2  offline" in detail
        assert waiting in detail

        assert await run(monkeypatch, world, "read", "status", "--json") == 0
        units = json.loads(capsys.readouterr().out)["units"]
        assert [u["id"] for u in units] == ["alpha", "beta", "gamma", "national"]


async def test_status_says_pooled_diverted_or_off_where_nena_says_disabled(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async with api_world(pg_dsn, topology=pooled_at_night()) as world:
        argv = ["divert", "gamma", "--to", "national", "--reason", "evacuation"]
        assert await run(monkeypatch, world, "national", *argv) == 0
        capsys.readouterr()
        assert await run(monkeypatch, world, "read", "status") == 0
        states = {
            line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]
        }
        assert states == {
            "alpha": "Pooled",
            "beta": "Pooled",
            "gamma": "Diverted",
            "national": "Standby",
            "night": "Standby",
        }
        argv = ["virtual-cta", "night", "off", "--reason", "morning"]
        assert await run(monkeypatch, world, "national", *argv) == 0
        capsys.readouterr()
        assert await run(monkeypatch, world, "read", "status", "night") == 0
        assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["night", "Off"]


async def test_officer_commands_change_their_centre_and_say_what_changed(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async with api_world(pg_dsn) as world:
        commands = (
            (
                ["divert", "alpha", "--to", "beta", "--reason", "evacuation"],
                "alpha diverted to beta",
            ),
            (["divert", "alpha", "--off", "--reason", "back"], "alpha: diversion ended"),
            (
                ["mutual-aid", "alpha", "--out", "off", "--in", "off", "--reason", "surge"],
                "alpha: outgoing mutual aid off; alpha: incoming mutual aid off",
            ),
            (
                ["crisis", "alpha", "--message", "sound:crisis/flood", "--reason", "flood"],
                "alpha: crisis message sound:crisis/flood",
            ),
            (["pause", "alpha-op1"], "alpha-op1 paused"),
            (["pause", "alpha-op1"], "no change: alpha-op1 is already paused"),
            (["resume", "alpha-op1", "--reason", "back from break"], "alpha-op1 resumed"),
            (["resume", "alpha-op1"], "no change: alpha-op1 is not paused"),
        )
        for argv, said in commands:
            assert await run(monkeypatch, world, "alpha", *argv) == 0, argv
            assert one_line(capsys.readouterr().out) == said
        modes = world.service.policy.modes.of("alpha")
        assert (modes.outgoing_mutual_aid, modes.incoming_mutual_aid) == (False, False)
        assert modes.crisis_message == "sound:crisis/flood"

        assert await run(monkeypatch, world, "read", "changes", "--limit", "2") == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].split()[:3] == ["AT", "BY", "WHAT"]
        assert "officer alpha" in out[1]
        assert "back from break" in out[1]
        assert len(out) == 3

        assert await run(monkeypatch, world, "alpha", "pause", "alpha-op2", "--json") == 0
        assert json.loads(capsys.readouterr().out)["decision"] == "alpha-op2 paused"


async def test_refusals_and_errors_are_one_line_and_exit_1(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async with api_world(pg_dsn) as world:
        assert await run(monkeypatch, world, "national", "divert", "alpha", "--to", "beta",
                         "--reason", "r") == 0  # fmt: skip
        capsys.readouterr()
        cases = (
            ("beta", ["divert", "beta", "--to", "alpha", "--reason", "r"], "would make a loop"),
            ("beta", ["pause", "alpha-op1"], "may not change position alpha-op1 of alpha"),
            ("read", ["crisis", "alpha", "--off", "--reason", "r"], "(scopes: read)"),
            ("alpha", ["crisis", "alpha", "--message", "flood", "--reason", "r"], "media"),
            ("alpha", ["pause", "alpha-op9"], "there is no position 'alpha-op9'"),
            ("alpha", ["mutual-aid", "alpha", "--reason", "r"], "say what to switch"),
            ("alpha", ["callbacks", "--done", "c1"], "--done needs --outcome"),
            ("alpha", ["pick", "alpha-op1", "nope"], "there is no call 'nope'"),
            ("read", ["changes", "--unit", "sdis99"], "there is no unit 'sdis99'"),
            ("read", ["callbacks", "--centre", "sdis99"], "there is no centre 'sdis99'"),
            ("bogus", ["status"], "unknown or revoked (set ARI_APP_API_TOKEN"),
        )
        for role, argv, said in cases:
            if role == "bogus":
                monkeypatch.setenv("ARI_APP_API_URL", world.url)
                monkeypatch.setenv("ARI_APP_API_TOKEN", "ariapp_" + "x" * 43)
                status = await asyncio.to_thread(main, argv)
            else:
                status = await run(monkeypatch, world, role, *argv)
            captured = capsys.readouterr()
            assert status == 1, argv
            assert captured.out == ""
            line = one_line(captured.err)
            assert line.startswith("ari-app: ")
            assert said in line, (argv, line)


async def test_an_invalid_option_is_named_as_typed_not_as_the_api_field(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async with api_world(pg_dsn) as world:
        assert await run(monkeypatch, world, "read", "changes", "--limit", "100000") == 1
        assert one_line(capsys.readouterr().err) == "ari-app: --limit must be at most 500"


async def test_unreachable_api_and_missing_token_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    assert await run(monkeypatch, None, "any", "status") == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("ari-app: cannot reach the API at http://127.0.0.1:1")
    assert await run(monkeypatch, None, None, "status") == 1
    assert "no API token: set ARI_APP_API_TOKEN" in one_line(capsys.readouterr().err)


async def test_callbacks_are_listed_and_marked_done(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async with api_world(pg_dsn) as world:
        assert await run(monkeypatch, world, "read", "callbacks") == 0
        assert one_line(capsys.readouterr().out) == "nobody to call back"
        async with world.pool.connection() as conn:
            await conn.execute("INSERT INTO calls (call_id) VALUES ('c1')")
            await conn.execute(
                "INSERT INTO callbacks (call_id, caller, home_centre, arrived_at, hung_up_at,"
                " waited_s) VALUES ('c1', '0612345678', 'alpha', now() - interval '95 seconds',"
                " now(), 95)"
            )
        assert await run(monkeypatch, world, "read", "callbacks") == 0
        out = capsys.readouterr().out.splitlines()
        assert out[1].split()[:3] == ["c1", "0612345678", "alpha"]
        assert out[1].split()[-4:] == ["1m35s", "to", "call", "back"]

        argv = ["callbacks", "--done", "c1", "--outcome", "voicemail", "--note", "left a message"]
        assert await run(monkeypatch, world, "alpha", *argv) == 0
        assert (
            one_line(capsys.readouterr().out) == "callback of c1 done: voicemail (by officer alpha)"
        )
        assert await run(monkeypatch, world, "read", "callbacks") == 0
        assert one_line(capsys.readouterr().out) == "nobody to call back"
        assert await run(monkeypatch, world, "read", "callbacks", "--all", "--json") == 0
        [done] = json.loads(capsys.readouterr().out)["callbacks"]
        assert (done["done_outcome"], done["note"]) == ("voicemail", "left a message")


async def test_status_into_a_pipe_closed_early_stops_quietly(pg_dsn: str) -> None:
    """``ari-app status | head -1``: the reader goes away; no traceback, exit 0."""
    async with api_world(pg_dsn) as world:
        env = {
            **os.environ,
            "ARI_APP_API_URL": world.url,
            "ARI_APP_API_TOKEN": world.tokens["read"],
        }
        read_end, write_end = os.pipe()
        os.close(read_end)  # nobody will read: the first write meets a closed pipe
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ari_app", "status",
            env=env, stdout=write_end, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        os.close(write_end)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "Traceback" not in err.decode()
    assert "BrokenPipeError" not in err.decode()
