"""Names of what the application creates in Asterisk for a call.

Every channel, bridge and playback the application makes is named after the call, so that
after a restart or a lost event stream the application can tell from ``GET /channels`` and
``GET /bridges`` which call each belongs to: rebuilding is a read, not a guess.
The call id is the caller's channel id, unique in Asterisk and stable for the call's life.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CallNames:
    """The naming scheme of one application (its Stasis name is the prefix)."""

    prefix: str
    # Told apart from every earlier run of the application: attempt numbers start again at 1
    # when a call is rebuilt after a restart, and a leg id must never be reused while the old
    # leg of that number may still exist (being reaped), or its end would be taken for the
    # new offer's.
    run: str = field(default_factory=lambda: secrets.token_hex(4))

    def holding_bridge(self, call_id: str) -> str:
        """Where the caller waits, with announcements and music on hold."""
        return f"{self.prefix}-wait-{call_id}"

    def talk_bridge(self, call_id: str) -> str:
        """Where caller and operator talk; it is recorded."""
        return f"{self.prefix}-talk-{call_id}"

    def operator_leg(self, call_id: str, attempt: int) -> str:
        """The channel ringing a position for this call, one per attempt and run."""
        return f"{self.prefix}-op-{call_id}-{attempt}-{self.run}"

    def playback(self, call_id: str, number: int) -> str:
        return f"{self.prefix}-pb-{call_id}-{number}"

    def astdb_reader(self, number: int) -> str:
        """A channel made only to read what the dialplan kept in AstDB (``astdb``)."""
        return f"{self.prefix}-db-{self.run}-{number}"

    def is_astdb_reader(self, channel_id: str) -> bool:
        return channel_id.startswith(f"{self.prefix}-db-")

    def is_stale_reader(self, channel_id: str) -> bool:
        """A reader left by an earlier run (killed while reading): nobody will hang it up."""
        return self.is_astdb_reader(channel_id) and not channel_id.startswith(
            f"{self.prefix}-db-{self.run}-"
        )

    def recording(self, call_id: str) -> str:
        """Stored recording of the conversation: the call id itself."""
        return call_id

    def call_of_bridge(self, bridge_id: str) -> tuple[str, str] | None:
        """``(kind, call id)`` of one of our bridges (kind ``wait`` or ``talk``), else None."""
        match = re.fullmatch(rf"{re.escape(self.prefix)}-(wait|talk)-(.+)", bridge_id)
        return (match.group(1), match.group(2)) if match else None

    def call_of_leg(self, channel_id: str) -> str | None:
        """The call an operator leg was originated for, else None."""
        # Legs of earlier runs (any run token) and of older versions (no token) alike.
        match = re.fullmatch(rf"{re.escape(self.prefix)}-op-(.+?)-\d+(?:-[0-9a-f]+)?", channel_id)
        return match.group(1) if match else None

    def is_ours(self, resource_id: str) -> bool:
        """True for ids this scheme makes (never a caller's channel)."""
        return resource_id.startswith(f"{self.prefix}-")
