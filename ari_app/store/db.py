"""Connections to PostgreSQL: one place that opens them and names the server in errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from ari_app.store.errors import DatabaseUnreachable, SchemaError

CONNECT_TIMEOUT_S = 5

Connection = psycopg.AsyncConnection[TupleRow]

# SQLSTATE classes of errors caused by a record's content (data exception, integrity
# constraint violation, program limit exceeded). Anything else (connection, resources,
# missing schema, locks) is the database's condition: the records are kept for later.
_RECORD_CAUSED_CLASSES = frozenset({"22", "23", "54"})


def is_record_caused(error: psycopg.Error) -> bool:
    """Whether a PostgreSQL error is about the data written rather than the database's
    condition."""
    return (error.sqlstate or "")[:2] in _RECORD_CAUSED_CLASSES


class ConnectionSource(Protocol):
    """Where the stores get a connection: an ``AsyncConnectionPool``, or SingleConnection.

    On leaving the block a transaction still open is committed, or rolled back on error.
    """

    def connection(self) -> AbstractAsyncContextManager[Connection]: ...


class SingleConnection:
    """One autocommit connection lent like a pool's: for command-line tools doing one job."""

    def __init__(self, conn: Connection) -> None:
        if not conn.autocommit:
            raise ValueError("SingleConnection needs a connection in autocommit mode")
        self._conn = conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        yield self._conn


def describe_dsn(dsn: str) -> str:
    """``host:port/dbname`` of a connection string, without user or password, for messages."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable connection string)"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = str(params.get("port") or 5432)
    dbname = str(params.get("dbname") or params.get("user") or "?")
    return f"{host}:{port}/{dbname}"


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (libpq messages often span several)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


async def connect(
    dsn: str, *, timeout_s: float = CONNECT_TIMEOUT_S, autocommit: bool = False
) -> Connection:
    """Open one connection, or raise DatabaseUnreachable naming the server and the cause."""
    try:
        return await psycopg.AsyncConnection.connect(
            dsn, connect_timeout=max(1, round(timeout_s)), autocommit=autocommit
        )
    except psycopg.ProgrammingError as error:
        raise DatabaseUnreachable(
            f"the database connection string is invalid ({first_line(error)}): "
            "check ARI_APP_DATABASE_DSN"
        ) from None
    except psycopg.OperationalError as error:
        raise DatabaseUnreachable(
            f"cannot connect to PostgreSQL at {describe_dsn(dsn)}: {first_line(error)}"
        ) from None


async def open_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 4, timeout_s: float = 10.0
) -> AsyncConnectionPool:
    """Open an async pool and wait until it holds a connection, or raise DatabaseUnreachable.

    The caller closes it (``await pool.close()``, or ``async with``).
    """
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=timeout_s,
        kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
        check=AsyncConnectionPool.check_connection,
        name="store",
    )
    try:
        await pool.open(wait=True, timeout=timeout_s)
    except Exception as error:  # PoolTimeout, or anything the first connect raised
        await pool.close()
        raise DatabaseUnreachable(
            f"cannot connect to PostgreSQL at {describe_dsn(dsn)} within {timeout_s:g} s: "
            f"{first_line(error)}"
        ) from None
    return pool


def missing_schema(error: psycopg.errors.UndefinedTable) -> SchemaError:
    """The error to raise when a store table does not exist yet."""
    return SchemaError(
        f"the database has no ari-app schema yet ({first_line(error)}): run 'ari-app db upgrade'"
    )
