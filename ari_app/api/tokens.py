"""Bearer tokens without a database: for the demo and tests.

Tokens have the same form, scopes and rules as the stored ones (``ari_app.store.tokens``); only
their SHA-256 is kept in memory, and they last as long as the process.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ari_app.store.tokens import CENTRE_PREFIX, NATIONAL, hash_token, new_token_text, parse_scope


@dataclass(frozen=True, slots=True)
class StaticGrant:
    """What a memory token allows: scopes ``read``, ``centre:<id>`` and ``national``."""

    name: str
    scopes: tuple[str, ...]

    def may_read(self) -> bool:
        return True

    def may_change(self, centre_id: str) -> bool:
        return NATIONAL in self.scopes or f"{CENTRE_PREFIX}{centre_id}" in self.scopes


class MemoryTokens:
    """A ``TokenVerifier`` holding the tokens given at start."""

    def __init__(self) -> None:
        self._grants: dict[bytes, StaticGrant] = {}

    def add(self, plaintext: str, name: str, scopes: Iterable[str]) -> StaticGrant:
        """Accept ``plaintext`` as a token of ``name`` with ``scopes`` (checked like stored
        ones: raises ``InvalidScope``, or ValueError for an empty name or no scope)."""
        if not name.strip():
            raise ValueError("a token needs a name saying who or what holds it")
        parsed = tuple(dict.fromkeys(parse_scope(s) for s in scopes))
        if not parsed:
            raise ValueError("a token needs at least one scope: read, national or centre:<id>")
        if not plaintext:
            raise ValueError("a token cannot be empty")
        grant = StaticGrant(name.strip(), parsed)
        self._grants[hash_token(plaintext)] = grant
        return grant

    def issue(self, name: str, scopes: Iterable[str]) -> str:
        """A new random token of ``name`` with ``scopes``; its text is returned only here."""
        plaintext = new_token_text()
        self.add(plaintext, name, scopes)
        return plaintext

    async def verify(self, plaintext: str) -> StaticGrant | None:
        return self._grants.get(hash_token(plaintext))
