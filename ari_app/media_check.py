"""Whether Asterisk has the media a duty officer names, before it is set as a crisis message.

A crisis message naming a file Asterisk does not have is skipped in silence for every waiting
caller; asking Asterisk at the moment it is set lets the officer correct it at once. Sounds
are looked up in ``GET /sounds`` (ids may hold a slash, ``custom/inondation``, which a
``/sounds/{id}`` path would not carry), recordings with ``GET /recordings/stored/{name}``.
Other schemes (``tone:``, ``digits:``...) are not files and are not checked.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import aiohttp

from ari_app.stasis import AriConfig

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 3.0


class AsteriskMedia:
    """Asks Asterisk's REST interface, with the application's credentials."""

    def __init__(self, config: AriConfig, *, timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self._base = str(config.rest_base).rstrip("/")
        credentials = base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def problem(self, media: str) -> str | None:
        """Why ``media`` cannot be played, or None when it can or cannot be checked now
        (Asterisk unreachable: the change must not wait for it)."""
        scheme, _, name = media.partition(":")
        try:
            async with aiohttp.ClientSession(timeout=self._timeout, headers=self._headers) as http:
                if scheme == "sound":
                    async with http.get(f"{self._base}/sounds") as response:
                        if response.status != 200:
                            return self._unchecked(media, f"HTTP {response.status}")
                        sounds = await response.json()
                    ids = {s.get("id") for s in sounds if isinstance(s, dict)}
                    if name not in ids:
                        return (
                            f"Asterisk has no sound {name!r} (GET /sounds lists those it has): "
                            "install the file in its sounds directory, or name another"
                        )
                elif scheme == "recording":
                    url = f"{self._base}/recordings/stored/{quote(name, safe='')}"
                    async with http.get(url) as response:
                        if response.status == 404:
                            return (
                                f"Asterisk has no stored recording {name!r} (GET "
                                "/recordings/stored lists those it has)"
                            )
                        if response.status != 200:
                            return self._unchecked(media, f"HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            return self._unchecked(media, str(error) or type(error).__name__)
        return None

    @staticmethod
    def _unchecked(media: str, why: str) -> None:
        log.warning(
            "cannot check the media with Asterisk; accepted unchecked",
            extra={"media": media, "error": why},
        )


class NodesMedia:
    """Asks every Asterisk node: a crisis message is played on the node each caller waits on,
    so a sound missing on one node is refused naming that node."""

    def __init__(self, nodes: list[tuple[str, AriConfig]]) -> None:
        self._checks = [(name, AsteriskMedia(config)) for name, config in nodes]

    async def problem(self, media: str) -> str | None:
        for name, check in self._checks:
            problem = await check.problem(media)
            if problem is not None:
                return problem if len(self._checks) == 1 else f"on node {name}: {problem}"
        return None
