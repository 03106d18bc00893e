"""The positions' endpoints the application subscribes to, one by one rather than a whole
technology (``endpoint:PJSIP``).

Why: Asterisk sends an endpoint's subscribers an ``EndpointStateChange`` whenever a channel
comes or goes on it, listing every channel the endpoint has. Subscribed to the whole
technology, the application also received the carrier trunk's: two events per call, each
listing every caller in progress, a cost that grew with the square of the calls in progress
(measured: docs/benchmarks.md). The positions' endpoints carry one or two channels each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from ari_app.stasis import AriClient, NotFound, Unprocessable

log = logging.getLogger(__name__)

CHUNK = 100  # endpoints per request: the query string stays well under Asterisk's URI limit


async def subscribe_endpoints(ari: AriClient, app: str, endpoints: Iterable[str]) -> list[str]:
    """Subscribe ``app`` to each endpoint (``PJSIP/sdis77-op1``); return those Asterisk does
    not know (logged once each: a position missing from pjsip.conf never gets a call)."""
    wanted = sorted(set(endpoints))
    missing: list[str] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        try:
            await ari.applications.subscribe(app, [f"endpoint:{e}" for e in chunk])
        except (Unprocessable, NotFound):
            # One unknown endpoint refuses the whole request: find it one by one.
            missing += await _one_by_one(ari, app, chunk)
    for endpoint in missing:
        log.error(
            "the topology's position endpoint is unknown to Asterisk: it cannot be offered"
            " calls (add it to pjsip.conf)",
            extra={"endpoint": endpoint},
        )
    return missing


async def _one_by_one(ari: AriClient, app: str, endpoints: Sequence[str]) -> list[str]:
    missing = []
    for endpoint in endpoints:
        try:
            await ari.applications.subscribe(app, f"endpoint:{endpoint}")
        except (Unprocessable, NotFound):
            missing.append(endpoint)
    return missing
