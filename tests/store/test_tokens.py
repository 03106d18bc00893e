"""API tokens: stored hashed, verified, scoped, revoked."""

from __future__ import annotations

import hashlib

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.store.errors import InvalidScope, TokenNotFound, UnknownCentre
from ari_app.store.tokens import TokenStore, new_token_text, parse_scope
from tests.store.topology import insert_small_topology


@pytest.fixture
async def tokens(pg_pool: AsyncConnectionPool) -> TokenStore:
    await insert_small_topology(pg_pool)
    return TokenStore(pg_pool)


async def test_token_is_stored_only_as_its_hash(
    tokens: TokenStore, pg_pool: AsyncConnectionPool
) -> None:
    issued = await tokens.create("wallboard hall A", ["read"], created_by="admin")
    async with pg_pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT secret_sha256, t::text FROM api_tokens t WHERE id = %s",
                (issued.token.id,),
            )
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == hashlib.sha256(issued.plaintext.encode()).digest()
    assert issued.plaintext not in row[1]
    assert issued.plaintext.startswith("ariapp_")


async def test_each_scope_grants_what_it_says(tokens: TokenStore) -> None:
    read = await tokens.create("wallboard", ["read"], created_by="admin")
    officer = await tokens.create("CODIS 77", ["centre:sdis77"], created_by="admin")
    national = await tokens.create("COGIC", ["national"], created_by="admin")

    read_token = await tokens.verify(read.plaintext)
    officer_token = await tokens.verify(officer.plaintext)
    national_token = await tokens.verify(national.plaintext)
    assert read_token is not None
    assert officer_token is not None
    assert national_token is not None

    assert read_token.may_read()
    assert not read_token.may_change("sdis77")
    assert officer_token.may_read()
    assert officer_token.may_change("sdis77")
    assert not officer_token.may_change("sdis91")
    assert not officer_token.may_change_everything()
    assert national_token.may_change("sdis91")
    assert national_token.may_change_everything()


async def test_token_for_several_centres_changes_each_of_them(tokens: TokenStore) -> None:
    issued = await tokens.create(
        "night officer", ["centre:sdis91", "centre:sdis45", "centre:sdis91"], created_by="admin"
    )
    assert issued.token.scopes == ("centre:sdis91", "centre:sdis45")
    assert issued.token.may_change("sdis45")
    assert not issued.token.may_change("sdis77")


async def test_revoked_token_no_longer_verifies(tokens: TokenStore) -> None:
    issued = await tokens.create("old wallboard", ["read"], created_by="admin")
    revoked = await tokens.revoke(issued.token.id, revoked_by="alice")
    assert await tokens.verify(issued.plaintext) is None
    assert not revoked.active
    assert not revoked.may_read()
    # Revoking again keeps the first record of who revoked it.
    again = await tokens.revoke(issued.token.id, revoked_by="bob")
    assert again.revoked_by == "alice"
    assert again.revoked_at == revoked.revoked_at
    listed = await tokens.list()
    assert [t.id for t in listed] == [issued.token.id]
    assert await tokens.list(include_revoked=False) == []


async def test_unknown_or_malformed_token_does_not_verify(tokens: TokenStore) -> None:
    await tokens.create("wallboard", ["read"], created_by="admin")
    assert await tokens.verify(new_token_text()) is None
    assert await tokens.verify("") is None
    assert await tokens.verify("Bearer something") is None
    assert await tokens.verify("ariapp_' OR 1=1 --") is None


@pytest.mark.parametrize("scope", ["write", "centre:", "centre: sdis77", "national,read", "READ"])
def test_unknown_scope_is_refused_with_the_accepted_forms(scope: str) -> None:
    with pytest.raises(InvalidScope, match="use 'read', 'national' or 'centre:<centre id>'"):
        parse_scope(scope)


async def test_scope_of_an_unknown_centre_is_refused_naming_the_known_ones(
    tokens: TokenStore,
) -> None:
    with pytest.raises(UnknownCentre, match=r"unknown centre sdis99 .* has: sdis45, sdis77"):
        await tokens.create("typo", ["centre:sdis99"], created_by="admin")
    assert await tokens.list() == []


async def test_centre_scope_before_any_topology_asks_for_the_import(
    pg_pool: AsyncConnectionPool,
) -> None:
    with pytest.raises(UnknownCentre, match="run 'ari-app topology import FILE' first"):
        await TokenStore(pg_pool).create("early", ["centre:sdis77"], created_by="admin")


async def test_revoking_a_token_that_does_not_exist_says_so(tokens: TokenStore) -> None:
    with pytest.raises(TokenNotFound, match="no API token with id 4242"):
        await tokens.revoke(4242, revoked_by="admin")
