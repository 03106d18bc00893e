"""Configuration of a standalone emulator: a small TOML file and command-line options.

File format (every key optional)::

    host = "127.0.0.1"
    port = 8088
    app = "vcta"            # Stasis application named by the dialplan
    speed = 1.0             # simulated seconds per real second

    [users]                 # ARI (and /sim) credentials
    ari-app = "secret"

    [[endpoints]]
    name = "sdis77-op1"
    script = "answer:2:90"  # answer[:AFTER[:TALK]], busy[:AFTER], noanswer,
                            # reject[:AFTER] or unreachable
    online = true
    callerid = '"SDIS77 poste 1" <7701>'

    [sounds]                # extra sound files and their durations in seconds
    "custom/accueil-18" = 4.5
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_app.sim.scripts import Outcome, parse_script


class ConfigError(ValueError):
    """The emulator configuration is unusable; the message names the place and the problem."""


@dataclass
class EndpointConfig:
    name: str
    script: Outcome
    online: bool = True
    callerid: str | None = None


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8088
    app: str = "vcta"
    speed: float = 1.0
    users: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, EndpointConfig] = field(default_factory=dict)
    sounds: dict[str, float | None] = field(default_factory=dict)


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML booleans are ints to Python; a number where true/false was written is wrong.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ConfigError(f"{where}: {what}")
    return value


def parse_endpoint(spec: str, where: str = "--endpoint") -> EndpointConfig:
    """``NAME=SCRIPT`` (``sdis77-op1=answer:2``) or a bare ``NAME`` that answers after 2 s."""
    name, sep, script_spec = spec.partition("=")
    name = name.strip()
    if not name or "/" in name or any(c.isspace() for c in name):
        raise ConfigError(f"{where} {spec!r}: expected NAME=SCRIPT, e.g. sdis77-op1=answer:2")
    try:
        script = parse_script(script_spec if sep else "answer")
    except ValueError as error:
        raise ConfigError(f"{where} {spec!r}: {error}") from None
    return EndpointConfig(name=name, script=script)


def parse_sound(spec: str) -> tuple[str, float | None]:
    """``NAME`` or ``NAME=SECONDS``."""
    name, sep, seconds = spec.partition("=")
    if not name:
        raise ConfigError(f"--sound {spec!r}: expected NAME or NAME=SECONDS")
    if not sep:
        return name, None
    try:
        return name, float(seconds)
    except ValueError:
        raise ConfigError(f"--sound {spec!r}: {seconds!r} is not a number of seconds") from None


def load_config(path: Path) -> EmulatorConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    return config_from_mapping(data, str(path))


def config_from_mapping(data: dict[str, Any], where: str) -> EmulatorConfig:
    known = {"host", "port", "app", "speed", "users", "endpoints", "sounds"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    config = EmulatorConfig()
    if "host" in data:
        config.host = _expect(data["host"], str, f"{where}: host", "must be a string")
    if "port" in data:
        port = _expect(data["port"], int, f"{where}: port", "must be an integer")
        if not 0 <= port <= 65535:
            raise ConfigError(f"{where}: port {port} is not between 0 and 65535")
        config.port = port
    if "app" in data:
        config.app = _expect(data["app"], str, f"{where}: app", "must be a string")
    if "speed" in data:
        speed = _expect(data["speed"], (int, float), f"{where}: speed", "must be a number")
        if speed <= 0:
            raise ConfigError(f"{where}: speed must be positive, not {speed}")
        config.speed = float(speed)
    users = _expect(data.get("users", {}), dict, f"{where}: [users]", "must be a table")
    for user, password in users.items():
        _expect(password, str, f"{where}: [users] {user}", "the password must be a string")
        config.users[user] = password
    endpoints = _expect(
        data.get("endpoints", []), list, f"{where}: endpoints", "must be an array of tables"
    )
    for index, item in enumerate(endpoints):
        place = f"{where}: endpoints[{index}]"
        entry = _expect(item, dict, place, "must be a table")
        extra = sorted(set(entry) - {"name", "script", "online", "callerid"})
        if extra:
            raise ConfigError(f"{place}: unknown key {extra[0]!r}")
        name = _expect(entry.get("name"), str, place, "needs a name")
        endpoint = parse_endpoint(f"{name}={entry.get('script', 'answer')}", place)
        endpoint.online = _expect(entry.get("online", True), bool, place, "online is true/false")
        if "callerid" in entry:
            endpoint.callerid = _expect(entry["callerid"], str, place, "callerid is a string")
        config.endpoints[endpoint.name] = endpoint
    sounds = _expect(data.get("sounds", {}), dict, f"{where}: [sounds]", "must be a table")
    for name, seconds in sounds.items():
        _expect(seconds, (int, float), f"{where}: [sounds] {name}", "must be a number of seconds")
        config.sounds[name] = float(seconds)
    return config
