"""Where a call is in its life, as its machine sees it (DESIGN.md, "A call's life")."""

from __future__ import annotations

from enum import StrEnum


class SessionState(StrEnum):
    ARRIVED = "arrived"  # in the application, not yet waiting (answering, joining its bridge)
    WAITING = "waiting"  # in its waiting bridge, in its unit's queue
    OFFERED = "offered"  # a position rings for it
    CONNECTED = "connected"  # caller and operator talk
    ENDED = "ended"  # over; nothing of it is left in Asterisk
