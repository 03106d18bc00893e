"""API tokens: issued once, stored hashed, scoped, revocable.

A token is ``ariapp_`` followed by 43 random URL-safe characters (256 bits). Only its
SHA-256 is stored: with that much entropy a fast hash is as safe as a slow one, and it
lets a request's token be found by an index lookup.

Scopes: ``read`` (wallboards: read everything), ``centre:<centre id>`` (that centre's duty
officer: read everything, change that centre), ``national`` (change everything).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ari_app.store.db import ConnectionSource
from ari_app.store.errors import InvalidScope, TokenNotFound
from ari_app.store.known import missing_centres, unknown_centre_error

TOKEN_PREFIX = "ariapp_"
READ = "read"
NATIONAL = "national"
CENTRE_PREFIX = "centre:"
_CENTRE_ID = re.compile(r"^[^\s,]+$")
_TOKEN = re.compile(r"^ariapp_[A-Za-z0-9_-]{43}$")


def parse_scope(text: str) -> str:
    """The scope ``text`` denotes, or InvalidScope saying what is accepted."""
    scope = text.strip()
    if scope in (READ, NATIONAL):
        return scope
    if scope.startswith(CENTRE_PREFIX) and _CENTRE_ID.match(scope[len(CENTRE_PREFIX) :]):
        return scope
    raise InvalidScope(
        f"unknown token scope {text!r}: use 'read', 'national' or 'centre:<centre id>'"
    )


def hash_token(plaintext: str) -> bytes:
    """What is stored for a token: the SHA-256 of its text."""
    return hashlib.sha256(plaintext.encode("utf-8")).digest()


def new_token_text() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token as stored, without its secret. Decides what its holder may do."""

    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def centres(self) -> tuple[str, ...]:
        """Centres this token's holder may change (empty for read-only and national)."""
        return tuple(s[len(CENTRE_PREFIX) :] for s in self.scopes if s.startswith(CENTRE_PREFIX))

    def may_read(self) -> bool:
        """Every scope grants reading; a revoked token grants nothing."""
        return self.active

    def may_change(self, centre_id: str) -> bool:
        """Whether the holder may change ``centre_id``'s modes and positions."""
        if not self.active:
            return False
        return NATIONAL in self.scopes or centre_id in self.centres

    def may_change_everything(self) -> bool:
        return self.active and NATIONAL in self.scopes


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: ``plaintext`` exists only here and is never stored."""

    token: ApiToken
    plaintext: str


_COLUMNS = "id, name, scopes, created_at, created_by, revoked_at, revoked_by"


def _token(row: tuple[object, ...]) -> ApiToken:
    id_, name, scopes, created_at, created_by, revoked_at, revoked_by = row
    assert isinstance(id_, int)
    assert isinstance(created_at, datetime)
    assert isinstance(scopes, list)
    return ApiToken(
        id=id_,
        name=str(name),
        scopes=tuple(str(s) for s in scopes),
        created_at=created_at,
        created_by=str(created_by),
        revoked_at=revoked_at if isinstance(revoked_at, datetime) else None,
        revoked_by=str(revoked_by) if revoked_by is not None else None,
    )


class TokenStore:
    """Issues, verifies, lists and revokes API tokens."""

    def __init__(self, pool: ConnectionSource) -> None:
        self._pool = pool

    async def create(self, name: str, scopes: Sequence[str], *, created_by: str) -> IssuedToken:
        """Issue a token. Raises InvalidScope, or UnknownCentre for a centre not imported."""
        if not name.strip():
            raise ValueError("a token needs a name saying who or what holds it")
        parsed = list(dict.fromkeys(parse_scope(s) for s in scopes))
        if not parsed:
            raise InvalidScope("a token needs at least one scope: read, national or centre:<id>")
        plaintext = new_token_text()
        async with self._pool.connection() as conn:
            wanted = [s[len(CENTRE_PREFIX) :] for s in parsed if s.startswith(CENTRE_PREFIX)]
            missing = await missing_centres(conn, wanted) if wanted else []
            if missing:
                raise await unknown_centre_error(conn, missing, "the token scopes")
            row = await (
                await conn.execute(
                    "INSERT INTO api_tokens (name, scopes, secret_sha256, created_by)"
                    f" VALUES (%s, %s, %s, %s) RETURNING {_COLUMNS}",
                    (name.strip(), parsed, hash_token(plaintext), created_by),
                )
            ).fetchone()
        assert row is not None
        return IssuedToken(_token(row), plaintext)

    async def verify(self, plaintext: str) -> ApiToken | None:
        """The active token with this text, or None (unknown, malformed or revoked)."""
        if not _TOKEN.match(plaintext):
            return None
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT {_COLUMNS} FROM api_tokens"
                    " WHERE secret_sha256 = %s AND revoked_at IS NULL",
                    (hash_token(plaintext),),
                )
            ).fetchone()
        return _token(row) if row else None

    async def list(self, *, include_revoked: bool = True) -> list[ApiToken]:
        """Every token, oldest first."""
        query = f"SELECT {_COLUMNS} FROM api_tokens"
        if not include_revoked:
            query += " WHERE revoked_at IS NULL"
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(query + " ORDER BY id")).fetchall()
        return [_token(r) for r in rows]

    async def revoke(self, token_id: int, *, revoked_by: str) -> ApiToken:
        """Revoke a token (revoking it again changes nothing). Raises TokenNotFound."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()),"
                    " revoked_by = coalesce(revoked_by, %s)"
                    f" WHERE id = %s RETURNING {_COLUMNS}",
                    (revoked_by, token_id),
                )
            ).fetchone()
        if row is None:
            raise TokenNotFound(
                f"there is no API token with id {token_id}: see 'ari-app token list'"
            )
        return _token(row)
