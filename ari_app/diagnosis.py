"""What keeps a running instance from working fully, said once and exposed.

A deployer who mistypes the ARI password or the database DSN used to find out from a log
repeating every second. ``Problems`` holds one sentence per dependency ("asterisk",
"database") for /readyz and /metrics; ``AriProbe`` finds out why Asterisk is not
connected by asking it directly (the event stream only says so in its retries' log);
``watch_asterisk`` says a new problem once, at ERROR, and when it is gone.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
import psycopg
from psycopg.conninfo import conninfo_to_dict

log = logging.getLogger(__name__)

PROBE_EVERY_S = 2.0
PROBE_TIMEOUT_S = 3.0

ASTERISK = "asterisk"
DATABASE = "database"
DEPENDENCIES = (ASTERISK, DATABASE)


class Problems:
    """The current problem of each dependency, as a sentence a deployer acts on."""

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}

    def set(self, dependency: str, problem: str | None) -> bool:
        """Record ``dependency``'s problem (None: none); True when that is news."""
        before = self._problems.get(dependency)
        if problem is None:
            self._problems.pop(dependency, None)
        else:
            self._problems[dependency] = problem
        return before != problem

    def current(self) -> Mapping[str, str]:
        return dict(self._problems)


def dsn_problem(dsn: str) -> str | None:
    """Why ``dsn`` cannot even be parsed, or None: no retry will cure that."""
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        return (
            f"ARI_APP_DATABASE_DSN cannot be parsed ({reason}): calls are taken without "
            "PostgreSQL until it is corrected and the application restarted"
        )
    return None


class AriProbe:
    """Asks Asterisk's REST interface, with the application's credentials, whether it can be
    used: None when it can, else the sentence saying why not."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self._url = base_url.rstrip("/") + "/asterisk/info"
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}

    async def problem(self) -> str | None:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(self._url, headers=self._headers) as response,
            ):
                status = response.status
        except (aiohttp.ClientConnectionError, TimeoutError) as error:
            return f"cannot reach Asterisk at {self._url}: {error or type(error).__name__}"
        except aiohttp.ClientError as error:
            return f"Asterisk's REST interface at {self._url} failed: {error}"
        if status == 401:
            return (
                "Asterisk refused the ARI credentials (HTTP 401): check ARI_APP_ARI_USER and "
                "ARI_APP_ARI_PASSWORD against ari.conf"
            )
        if status >= 400:
            return f"Asterisk answered HTTP {status} at {self._url}: is ARI_APP_ARI_URL right?"
        return None


async def watch_asterisk(
    probe: Callable[[], Awaitable[str | None]],
    ready: Callable[[], bool],
    problems: Problems,
    *,
    every_s: float = PROBE_EVERY_S,
) -> None:
    """While the call handling is not ready, find out why every ``every_s`` and keep it in
    ``problems``; a new problem is logged once, at ERROR, its end once, at INFO. Runs until
    cancelled."""
    while True:
        problem = None if ready() else await probe()
        if problems.set(ASTERISK, problem):
            if problem is not None:
                log.error("%s; retrying quietly", problem)
            else:
                log.info("Asterisk is usable again")
        await asyncio.sleep(every_s)
