"""Identifiers shaped like Asterisk's: ``<epoch>.<n>`` channel ids, hex name suffixes, uuids."""

from __future__ import annotations

import uuid

from ari_app.clock import Clock


class Ids:
    """Hands out ids in Asterisk's formats; one counter for unique ids, one per channel technology.

    Asterisk numbers every channel it creates, unreal ones (MOH, announcers, recorders,
    Local halves) included, so their ids consume the counter too.
    """

    def __init__(self, clock: Clock, system_name: str = "") -> None:
        self._clock = clock
        # asterisk.conf's systemname prefixes unique ids: two nodes' ids never collide.
        self._prefix = f"{system_name}-" if system_name else ""
        self._unique = 0
        self._by_tech: dict[str, int] = {}
        self._sip_call = 0

    def unique_id(self) -> str:
        n = self._unique
        self._unique += 1
        return f"{self._prefix}{int(self._clock.now())}.{n}"

    def channel_name(self, tech: str, resource: str) -> str:
        """``PJSIP/sdis77-op1-0000000a``; Local halves add ``;1``/``;2`` themselves."""
        n = self._by_tech.get(tech, 0)
        self._by_tech[tech] = n + 1
        return f"{tech}/{resource}-{n:08x}"

    def sip_call_id(self) -> str:
        """A Call-ID as the carrier's SIP stack writes it (``1-11470@127.0.0.1``)."""
        self._sip_call += 1
        return f"{self._sip_call}-{10000 + self._sip_call}@127.0.0.1"

    @staticmethod
    def uuid() -> str:
        return str(uuid.uuid4())
