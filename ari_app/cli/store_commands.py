"""Running store operations from the command line: one line per error, never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import psycopg

from ari_app.settings import load_settings
from ari_app.store.db import (
    ConnectionSource,
    SingleConnection,
    connect,
    describe_dsn,
    first_line,
    missing_schema,
)
from ari_app.store.errors import StoreError


def database_dsn() -> str:
    """The DSN from the settings (ARI_APP_DATABASE_DSN)."""
    return load_settings().database_dsn.get_secret_value()


def run_command(work: Coroutine[Any, Any, int]) -> int:
    """Run ``work`` and return its exit status; store errors become one line on stderr."""
    try:
        return asyncio.run(work)
    except StoreError as error:
        print(f"ari-app: {error}", file=sys.stderr)
        return 1
    except psycopg.Error as error:
        print(f"ari-app: PostgreSQL error: {first_line(error)}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"ari-app: {error}", file=sys.stderr)
        return 2


async def with_connection(
    dsn: str, use: Callable[[ConnectionSource], Coroutine[Any, Any, int]]
) -> int:
    """Connect, run ``use`` with the connection, close it; database errors become StoreError."""
    conn = await connect(dsn, autocommit=True)
    try:
        return await use(SingleConnection(conn))
    except psycopg.errors.UndefinedTable as error:
        raise missing_schema(error) from None
    except psycopg.OperationalError as error:
        raise StoreError(
            f"lost the connection to PostgreSQL at {describe_dsn(dsn)}: {first_line(error)}"
        ) from None
    finally:
        await conn.close()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned text columns under their headers."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
