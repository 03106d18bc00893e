"""``ari-app emulator``: configuration from a file and options, clear errors, clean stop."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from ari_app.cli import build_parser, main
from ari_app.cli.emulator import build_config
from ari_app.sim import Busy, NoAnswer
from ari_app.sim.config import ConfigError
from tests.sim.lab import basic_auth

CONFIG = """
port = 9099
app = "vcta-lab"
speed = 5

[users]
lab = "lab-secret"

[[endpoints]]
name = "sdis77-op1"
script = "noanswer"
callerid = '"SDIS77 poste 1" <7701>'

[[endpoints]]
name = "sdis77-op2"
online = false

[sounds]
"custom/accueil" = 4.5
"""


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["emulator", *argv])


def test_file_settings_are_overridden_by_options(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text(CONFIG)
    config = build_config(
        parse("--config", str(path), "--port", "0", "--endpoint", "sdis77-op2=busy:1")
    )
    assert (config.port, config.app, config.speed) == (0, "vcta-lab", 5.0)
    assert config.users == {"lab": "lab-secret"}
    assert config.endpoints["sdis77-op1"].script == NoAnswer()
    assert config.endpoints["sdis77-op1"].callerid == '"SDIS77 poste 1" <7701>'
    assert config.endpoints["sdis77-op2"].script == Busy(after_s=1.0)
    assert config.sounds == {"custom/accueil": 4.5}


def test_without_credentials_a_random_password_is_made() -> None:
    config = build_config(parse("--user", "me"))
    ((user, password),) = config.users.items()
    assert user == "me"
    assert len(password) >= 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 1", "unknown key 'prot'"),
        ("port = 'x'", "port: must be an integer"),
        ("[[endpoints]]\nname = 'a'\nscript = 'dance'", "unknown kind 'dance'"),
        ("[[endpoints]]\nscript = 'busy'", "endpoints[0]: needs a name"),
        ("[[endpoints]]\nname = 'a'\nonline = 1", "online is true/false"),
        ("speed = 0", "speed must be positive"),
        ("port = [", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        build_config(parse("--config", str(path)))
    assert str(path) in str(refused.value)


def test_bad_options_stop_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--offline", "ghost"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "--offline ghost: no such position" in error


async def test_the_command_serves_ari_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ari_app",
        "emulator",
        "--port",
        "0",
        "--password",
        "pw",
        "--endpoint",
        "sdis77-op1=answer:1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = re.search(r"ARI (http://\S+/ari)", first)
        assert url, first
        async with (
            aiohttp.ClientSession(headers=basic_auth("ari-app", "pw")) as http,
            http.get(f"{url.group(1)}/endpoints/PJSIP/sdis77-op1") as response,
        ):
            assert (await response.json())["state"] == "online"
        process.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(process.stdout.read(), 20)).decode()
        assert await asyncio.wait_for(process.wait(), 20) == 0
        assert "Asterisk emulator stopped." in rest
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
