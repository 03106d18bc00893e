"""``ari-app token create|list|revoke``: bearer tokens of the duty-officer API."""

from __future__ import annotations

import argparse
import getpass
import json

from ari_app.cli.store_commands import database_dsn, run_command, table, with_connection
from ari_app.store.db import ConnectionSource
from ari_app.store.tokens import ApiToken, TokenStore


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="issue, list and revoke API tokens",
        description="Issue, list and revoke the bearer tokens of the duty officers' API.",
    )
    commands = parser.add_subparsers(title="token commands", metavar="ACTION", required=True)

    create = commands.add_parser(
        "create",
        help="issue a token and print it once",
        description="Issue a token. Scopes: 'read' (wallboards), 'centre:<centre id>' (that "
        "centre's duty officer: reads everything, changes that centre), 'national' (changes "
        "everything). The token is printed once; only its hash is stored.",
    )
    create.add_argument("--name", required=True, help="who or what holds the token")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help="read, national or centre:<centre id> (repeat for several)",
    )
    create.add_argument("--by", default=None, help="who issues it (default: the system user)")
    create.add_argument("--json", action="store_true", help="machine-readable output")
    create.set_defaults(handler=run_create)

    listing = commands.add_parser(
        "list",
        help="list the tokens (never their secret)",
        description="List the tokens with their scopes, holder and state; a token's secret "
        "is never shown again.",
    )
    listing.add_argument("--active", action="store_true", help="leave out revoked tokens")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=run_list)

    revoke = commands.add_parser(
        "revoke",
        help="revoke a token: it stops working at once",
        description="Revoke a token: requests presenting it are refused from now on.",
    )
    revoke.add_argument("id", type=int, help="the token's id, as 'token list' shows it")
    revoke.add_argument("--by", default=None, help="who revokes it (default: the system user)")
    revoke.set_defaults(handler=run_revoke)


def _who(given: str | None) -> str:
    return given or getpass.getuser()


def _as_dict(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": list(token.scopes),
        "created_at": token.created_at.isoformat(),
        "created_by": token.created_by,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "revoked_by": token.revoked_by,
    }


def run_create(args: argparse.Namespace) -> int:
    async def create(pool: ConnectionSource) -> int:
        issued = await TokenStore(pool).create(args.name, args.scope, created_by=_who(args.by))
        if args.json:
            print(json.dumps({**_as_dict(issued.token), "token": issued.plaintext}, indent=2))
        else:
            token = issued.token
            print(f"token {token.id} for {token.name!r}, scopes: {' '.join(token.scopes)}")
            print(issued.plaintext)
            print("This is the only time the token is shown: only its hash is kept.")
        return 0

    return run_command(with_connection(database_dsn(), create))


def run_list(args: argparse.Namespace) -> int:
    async def listing(pool: ConnectionSource) -> int:
        tokens = await TokenStore(pool).list(include_revoked=not args.active)
        if args.json:
            print(json.dumps([_as_dict(t) for t in tokens], indent=2))
            return 0
        if not tokens:
            print("no tokens: issue one with 'ari-app token create'")
            return 0
        rows = [
            [
                str(t.id),
                t.name,
                " ".join(t.scopes),
                f"{t.created_at:%Y-%m-%d %H:%M}",
                t.created_by,
                f"revoked {t.revoked_at:%Y-%m-%d %H:%M} by {t.revoked_by}"
                if t.revoked_at
                else "active",
            ]
            for t in tokens
        ]
        print(table(["ID", "NAME", "SCOPES", "CREATED", "BY", "STATE"], rows))
        return 0

    return run_command(with_connection(database_dsn(), listing))


def run_revoke(args: argparse.Namespace) -> int:
    async def revoke(pool: ConnectionSource) -> int:
        store = TokenStore(pool)
        before = next((t for t in await store.list() if t.id == args.id), None)
        token = await store.revoke(args.id, revoked_by=_who(args.by))
        if before is not None and before.revoked_at is not None:
            # Said apart: the same success line twice made it look as if it had been active.
            print(
                f"token {token.id} ({token.name}) was already revoked on "
                f"{before.revoked_at:%Y-%m-%d %H:%M} by {before.revoked_by}: nothing changed"
            )
            return 0
        print(f"token {token.id} ({token.name}) revoked by {token.revoked_by}")
        return 0

    return run_command(with_connection(database_dsn(), revoke))
