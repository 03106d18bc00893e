"""What a deployment of asterisk/etc on Debian's Asterisk 22 must get right, checked on it:
prompts and music found, no manager interface, no sample dialplan, the carrier told apart
from the phones registering from its host, and the application's operator-facing output."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.asterisk.bed import (
    Application,
    AsteriskNode,
    SipPeers,
    caller_channel,
    eventually,
    running,
)


async def test_the_welcome_prompt_is_found_and_plays(
    ready_asterisk: AsteriskNode, peers: SipPeers, app: Application
) -> None:
    """With the sounds looked for in the wrong directory the playback fails at once."""
    async with running(app):
        await peers.call("77288", caller="0633333301", hold_s=20)
        call_id = (await caller_channel(ready_asterisk, "0633333301"))["id"]

        async def welcome_playing() -> bool:
            # The application names its playbacks after the call; the first is the welcome.
            try:
                playback = await ready_asterisk.ari("GET", f"/playbacks/vcta-pb-{call_id}-1")
            except AssertionError:  # not started yet, or already failed and gone
                return False
            assert playback["target_uri"] == f"bridge:vcta-wait-{call_id}"
            return bool(playback["state"] == "playing")

        await eventually(welcome_playing, what="the welcome playing on the holding bridge")


def test_music_on_hold_has_files(ready_asterisk: AsteriskNode) -> None:
    """Without music files Asterisk disables the class and waiting callers hear silence."""
    files = ready_asterisk.cli("moh show files")
    assert "Class: default" in files
    assert "/usr/share/asterisk/moh/" in files


def test_no_manager_interface_and_no_sample_dialplan(ready_asterisk: AsteriskNode) -> None:
    assert "Manager (AMI):             No" in ready_asterisk.cli("manager show settings")
    contexts = ready_asterisk.cli("dialplan show")
    assert "'from-carrier'" in contexts
    for sample in ("'demo'", "'default'", "'ael-demo'", "'public'"):
        assert sample not in contexts, f"a sample dialplan context {sample} is loaded"


async def test_a_phone_registering_from_the_carriers_host_is_not_taken_for_the_carrier(
    ready_asterisk: AsteriskNode, peers: SipPeers, app: Application
) -> None:
    """The carrier is identified by address and port: a bare address would capture this
    REGISTER (refused with 404 AOR '' not found), while its calls still come in as its."""
    await peers.position("sdis77-op9", "answer")  # registers: asserts the 200 OK
    await eventually(
        lambda: _online(ready_asterisk, "sdis77-op9"), what="sdis77-op9 online in Asterisk"
    )
    async with running(app):
        await peers.call("77288", caller="0633333303", hold_s=5)
        channel = await caller_channel(ready_asterisk, "0633333303")
    assert channel["name"].startswith("PJSIP/carrier-")
    assert channel["dialplan"]["context"] == "from-carrier"


async def _online(asterisk: AsteriskNode, resource: str) -> bool:
    return bool((await asterisk.endpoint(resource))["state"] == "online")


def _online_lines(app: Application, position: str) -> list[str]:
    return [
        line for line in app.logs().splitlines() if "position online" in line and position in line
    ]


async def test_a_position_online_is_logged_once_through_a_call(
    ready_asterisk: AsteriskNode, peers: SipPeers, app: Application
) -> None:
    """Asterisk sends EndpointStateChange on every channel change of the phone."""
    async with running(app):
        await peers.position("sdis77-op2", "answer", ring_ms=200)
        await eventually(
            lambda: _online_lines(app, "sdis77-op2"), what="the position's registration logged"
        )
        call = await peers.call("77288", caller="0633333302", hold_s=3)
        assert await call.wait(60) == 0, call.output()

        await eventually(
            lambda: "call ended" in app.logs(), within=20, what="the call's end in the log"
        )
    online = _online_lines(app, "sdis77-op2")
    assert len(online) == 1, online


async def test_status_into_head_prints_the_first_line_and_no_traceback(
    ready_asterisk: AsteriskNode, app: Application, tmp_path: Path
) -> None:
    token = app.cli("token", "create", "--name", "test", "--scope", "read", "--json")
    env = {**app.env, "ARI_APP_API_TOKEN": json.loads(token)["token"]}
    async with running(app):
        done = await asyncio.to_thread(
            subprocess.run,
            f"{sys.executable} -m ari_app status | head -n 1",
            shell=True,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            cwd=tmp_path,
        )
    assert done.stdout.split()[:2] == ["UNIT", "STATE"]
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
