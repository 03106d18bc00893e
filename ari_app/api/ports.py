"""What the API needs from the rest of the application, as small protocols.

The composition root hands real objects in (``CallService``, ``TokenStore``, ``CallbackStore``,
``ModeStore``); tests may hand in fakes. Nothing here does I/O of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ari_app.calls.service import ServiceStats
from ari_app.store.callbacks import Callback, CallbackOutcome
from ari_app.vcta import (
    ModeChange,
    ModeChangeResult,
    PickDecision,
    PolicyState,
    Topology,
    UnitSnapshot,
)


class CallControl(Protocol):
    """The live call handling, as ``CallService`` provides it.

    Everything is synchronous and must be used from the event loop the calls run on.
    """

    @property
    def ready(self) -> bool:
        """Connected to Asterisk and resynchronised: offers and changes may be made."""
        ...

    @property
    def topology(self) -> Topology: ...

    @property
    def policy(self) -> PolicyState:
        """The live state (read only: changes go through ``change_modes`` and ``pick``)."""
        ...

    @property
    def stats(self) -> ServiceStats: ...

    @property
    def ari_requests(self) -> int:
        """ARI REST requests sent so far."""
        ...

    def snapshot(self) -> tuple[UnitSnapshot, ...]:
        """Every unit as duty officers see it, now."""
        ...

    def change_modes(self, change: ModeChange, *, actor: str, reason: str) -> ModeChangeResult:
        """Apply a duty officer's change now (audited), or refuse it with the policy's reason."""
        ...

    def pick(self, position_id: str, call_id: str) -> PickDecision:
        """Ring ``position_id`` for waiting call ``call_id``, or refuse with a reason."""
        ...

    def node_states(self) -> dict[str, str]:
        """Each Asterisk node's state (``up``, ``connecting``, ``down``) by name."""
        ...


class Grant(Protocol):
    """What a verified bearer token allows (``ari_app.store.ApiToken`` is one)."""

    @property
    def name(self) -> str:
        """Who or what holds the token: the actor of the changes it makes."""
        ...

    @property
    def scopes(self) -> tuple[str, ...]: ...

    def may_read(self) -> bool: ...

    def may_change(self, centre_id: str) -> bool:
        """Whether the holder may change ``centre_id``'s modes and positions."""
        ...


class TokenVerifier(Protocol):
    """Finds the grant of a bearer token (``TokenStore`` is one, ``MemoryTokens`` another).

    Returns None for an unknown, malformed or revoked token; raises when it cannot tell
    (a database that does not answer).
    """

    async def verify(self, plaintext: str) -> Grant | None: ...


class CallbackList(Protocol):
    """The abandoned-callers list (``CallbackStore`` is one)."""

    async def list(
        self, *, pending_only: bool = True, centre_id: str | None = None, limit: int = 500
    ) -> list[Callback]: ...

    async def find(self, call_id: str) -> Callback | None:
        """The callback of ``call_id``, done or not; None when it is not on the list."""
        ...

    async def mark_done(
        self, call_id: str, outcome: CallbackOutcome, *, by: str, note: str | None = None
    ) -> Callback:
        """Raises ``CallbackNotFound`` or ``CallbackAlreadyDone``."""
        ...


ModeValue = str | bool | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One accepted duty-officer change, as the audit trail shows it.

    ``unit_id`` is the centre changed (a paused position's centre) or the virtual CTA;
    ``what`` names the changed fields (``diverted_to``, ``paused``, ``active`` ...);
    ``before`` and ``after`` hold those fields only (``before`` is None when unknown);
    ``decision`` is the policy's sentence when the source kept it.
    """

    at: datetime
    actor: str
    unit_id: str
    position_id: str | None
    what: str
    before: Mapping[str, ModeValue] | None
    after: Mapping[str, ModeValue]
    reason: str | None
    decision: str | None = None


class ModeHistory(Protocol):
    """Recent duty-officer changes, newest first (``StoreModeHistory``, ``MemoryModeHistory``)."""

    async def recent(
        self, *, limit: int = 50, unit_id: str | None = None
    ) -> Sequence[AuditEntry]: ...


class MediaCheck(Protocol):
    """Whether Asterisk can play a media URI (``sound:crisis/flood``), as AsteriskMedia says."""

    async def problem(self, media: str) -> str | None:
        """Why it cannot be played, or None (when it can, or cannot be checked now)."""
        ...
