"""Settings of the application, from ARI_APP_* environment variables and an optional .env file."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ari_app.calls.config import Recording

ENV_PREFIX = "ARI_APP_"

# ARI_APP_* variables read by the scripts and the tests, not by the application: not typos.
TOOL_VARIABLES = frozenset(
    {
        "ARI_APP_TEST_DSN",
        "ARI_APP_VENV",
        "ARI_APP_DEBIAN_MIRROR",
        "ARI_APP_DEBIAN_SUITE",
        "ARI_APP_BASE_IMAGE",
        "ARI_APP_SIM_SCALE_CALLS",
    }
)
TOOL_PREFIXES = ("ARI_APP_BED_",)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

PACKAGED_EXAMPLE = Path(__file__).resolve().parent / "examples" / "sdis77.toml"

_NODE_NAME = r"^[A-Za-z0-9_.-]+$"
_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def parse_nodes(text: str) -> tuple[tuple[str, str], ...]:
    """``paris=http://10.1.0.2:8088/ari,lyon=http://10.2.0.2:8088/ari`` as (name, URL)
    pairs; ValueError with one sentence saying what is wrong."""
    if not text.strip():
        return ()
    nodes: list[tuple[str, str]] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            raise ValueError(
                "an entry is empty (two commas in a row, or one at an end): give each node"
                " as name=URL, separated by commas"
            )
        name, equals, url = (x.strip() for x in entry.partition("="))
        if not equals or not name or not url:
            raise ValueError(
                f"{entry!r} is not name=URL: give each node as name=URL, separated by commas"
                " (paris=http://10.1.0.2:8088/ari,lyon=http://10.2.0.2:8088/ari)"
            )
        if not re.match(_NODE_NAME, name):
            raise ValueError(f"node name {name!r} may hold only letters, digits, '_', '.' and '-'")
        try:
            parsed = _HTTP_URL.validate_python(url)
        except ValidationError:
            raise ValueError(
                f"node {name}'s URL {url!r} is not an http(s) URL such as http://10.1.0.2:8088/ari"
            ) from None
        if name in (n for n, _ in nodes):
            raise ValueError(f"node name {name!r} is given twice: each node needs its own name")
        if str(parsed) in (u for _, u in nodes):
            raise ValueError(f"nodes {name} and another have the same URL {url!r}")
        nodes.append((name, str(parsed)))
    return tuple(nodes)


class Settings(BaseSettings):
    """Everything the application needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    ari_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8088/ari"),
        description="Base URL of Asterisk's REST interface, with the /ari prefix.",
    )
    asterisk_nodes: str = Field(
        default="",
        description="Every Asterisk node by name, comma-separated name=URL"
        " (paris=http://10.1.0.2:8088/ari,lyon=http://10.2.0.2:8088/ari), all with the same"
        " ARI user and password; unset: the one node ARI_APP_NODE_NAME at ARI_APP_ARI_URL.",
    )
    node_name: str = Field(
        default="asterisk",
        pattern=_NODE_NAME,
        max_length=40,
        description="The name of the one Asterisk node when ARI_APP_ASTERISK_NODES is unset"
        " (in the journal, logs, metrics and /readyz).",
    )
    node_down_after_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How long a node's event stream may stay lost before the node is counted"
        " down: its calls end, its phones' registrations stop counting.",
    )
    ari_user: str = Field(default="ari-app", min_length=1, description="ARI user (ari.conf).")
    ari_password: SecretStr = Field(
        default=SecretStr(""), description="ARI password (ari.conf); never logged."
    )
    app_name: str = Field(
        default="vcta",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Stasis application name, as in the dialplan's Stasis(<app>,<routing-key>).",
    )
    database_dsn: SecretStr = Field(
        default=SecretStr("postgresql://postgres@127.0.0.1:5432/ari_app"),
        description="PostgreSQL connection string of the journal and configuration store.",
    )
    api_host: str = Field(default="127.0.0.1", description="Address the duty-officer API binds.")
    api_port: int = Field(default=8089, ge=1, le=65535, description="Port of the API.")
    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8089"),
        description="Where the command-line tools reach the API.",
    )
    api_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token the command-line tools present."
    )
    topology_path: Path = Field(
        # The packaged example, wherever the command runs from: a path relative to the
        # current directory failed as soon as an operator started it elsewhere.
        default=PACKAGED_EXAMPLE,
        description="TOML file describing the centres (default: the packaged sdis77 example).",
    )
    spool_path: Path = Field(
        default=Path("var/journal.spool"),
        description="File where journal entries wait while PostgreSQL is unreachable.",
    )
    ring_timeout_s: float = Field(
        default=20.0, gt=0, le=300, description="How long a position rings before the next one."
    )
    wrap_up_s: float = Field(
        default=10.0, ge=0, le=600, description="Pause after a call before a position is offered."
    )
    setup_guard_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description=(
            "A new caller not in a waiting bridge this long after reaching the application is"
            " handed back to the dialplan, whose fallback rings positions directly."
        ),
    )
    ari_max_connections: int = Field(
        default=50,
        ge=1,
        le=1000,
        description=(
            "Most HTTP connections to ARI at once; keep it under sessionlimit in Asterisk's"
            " http.conf (100 unless set), which also counts the event websocket."
        ),
    )
    recording: Recording = Field(
        default=Recording.DIALPLAN,
        description=(
            "Who records every call: dialplan (MixMonitor on the caller's channel, the"
            " cheapest), bridge (the application over ARI), off (the centre's own recorder)."
        ),
    )
    leadership: Literal["single", "lease"] = Field(
        default="single",
        description=(
            "single: the only instance, it commands Asterisk from the start (with or without"
            " PostgreSQL). lease: one of several instances sharing the database; the one"
            " holding PostgreSQL's lease is active, the others stand by (docs/failover.md)."
        ),
    )
    instance_name: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.:@-]*$",
        max_length=40,
        description="This instance's name in logs, /readyz and a standby's answers (default"
        " <host name>:<API port>).",
    )
    instance_api_url: AnyHttpUrl | None = Field(
        default=None,
        description="Where duty officers reach this instance's API, as a standby names it"
        " (default http://<API host>:<API port>).",
    )
    lease_silence_s: float = Field(
        default=3.0,
        ge=1.5,
        le=60,
        description="How long the active instance may stay silent before PostgreSQL ends its"
        " lease and a standby takes over (lease mode).",
    )
    log_level: LogLevel = Field(default="INFO", description="Logging level.")

    @field_validator("asterisk_nodes")
    @classmethod
    def _nodes_parse(cls, value: str) -> str:
        parse_nodes(value)
        return value

    def nodes(self) -> tuple[tuple[str, str], ...]:
        """Every Asterisk node as (name, ARI URL): those of ARI_APP_ASTERISK_NODES, else the
        one node ARI_APP_NODE_NAME at ARI_APP_ARI_URL."""
        return parse_nodes(self.asterisk_nodes) or ((self.node_name, str(self.ari_url)),)


def describe_error(error: ValidationError) -> str:
    """One line naming the first invalid setting by its environment variable."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    message = first["msg"]
    error_text = (first.get("ctx") or {}).get("error")
    if first["type"] == "value_error" and error_text is not None:
        message = str(error_text)  # without pydantic's "Value error, " prefix
    return f"invalid setting {ENV_PREFIX}{name.upper()}: {message}"


def known_variables() -> tuple[str, ...]:
    """The environment variables the settings read, such as ARI_APP_LOG_LEVEL."""
    return tuple(f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields)


def unknown_variable_warnings(environ: Mapping[str, str]) -> list[str]:
    """A sentence for each ARI_APP_* variable no setting reads, naming the closest one: a
    misspelt variable is otherwise ignored without a word and its default silently used."""
    known = known_variables()
    warnings = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known or name in TOOL_VARIABLES:
            continue
        if name.startswith(TOOL_PREFIXES):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see 'ari-app settings'"
        warnings.append(f"{name} is not a setting of ari-app and is ignored: {hint}")
    return warnings


def load_settings() -> Settings:
    """Read the settings; raise SettingsError with one clear line when one is invalid."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None


class SettingsError(Exception):
    """A setting has a value the application cannot use."""
