"""Writing journal entries to PostgreSQL, and deriving each call's row from its entries.

A batch is one transaction: its calls get a row, its entries are inserted (a known
``entry_id`` is skipped, so replaying is harmless), then every call of the batch is
recomputed from all its entries and the abandoned ones are put on the callback list.
Because a call's row is a function of its entries, the order batches arrive in and
repeated deliveries cannot make it wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from ari_app.calls.ports import JournalEntry, JournalValue
from ari_app.store.db import Connection, first_line, is_record_caused

# How long a batch waits for a row lock before the batch is retried later.
LOCK_TIMEOUT = "5s"

_INSERT_CALLS = (
    "INSERT INTO calls (call_id) SELECT id FROM unnest(%s::text[]) AS u(id) ORDER BY id"
    " ON CONFLICT (call_id) DO NOTHING"
)

_INSERT_ENTRY = (
    "INSERT INTO journal_entries (entry_id, call_id, at, kind, unit, home_centre, position,"
    " caller, reason, outcome, details, node)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)"
    " ON CONFLICT (entry_id) DO NOTHING"
)

# "Last non-null value" of a column, in the order the entries happened.
_RECOMPUTE_CALLS = """
WITH agg AS (
    SELECT
        call_id,
        coalesce(min(at) FILTER (WHERE kind = 'arrived'), min(at)) AS arrived_at,
        (array_agg(caller ORDER BY at, id) FILTER (WHERE caller IS NOT NULL))[1] AS caller,
        (array_agg(details->>'routing_key' ORDER BY at, id)
            FILTER (WHERE kind = 'arrived' AND details ? 'routing_key'))[1] AS routing_key,
        (array_agg(details->>'channel_id' ORDER BY at, id)
            FILTER (WHERE kind = 'arrived' AND details ? 'channel_id'))[1] AS channel_id,
        (array_agg(home_centre ORDER BY at DESC, id DESC)
            FILTER (WHERE home_centre IS NOT NULL))[1] AS home_centre,
        (array_agg(unit ORDER BY at DESC, id DESC) FILTER (WHERE unit IS NOT NULL))[1] AS unit,
        (array_agg(position ORDER BY at DESC, id DESC)
            FILTER (WHERE position IS NOT NULL AND kind IN ('connected', 'recovered')))[1]
            AS position,
        min(at) FILTER (WHERE kind = 'connected') AS connected_at,
        max(at) FILTER (WHERE kind = 'ended') AS ended_at,
        (array_agg(outcome ORDER BY at DESC, id DESC)
            FILTER (WHERE kind = 'ended' AND outcome IS NOT NULL))[1] AS outcome,
        (array_agg(node ORDER BY at, id) FILTER (WHERE node IS NOT NULL))[1] AS node,
        count(*) FILTER (WHERE kind = 'moved') AS hops,
        count(*) AS entries
    FROM journal_entries
    WHERE call_id = ANY(%(call_ids)s)
    GROUP BY call_id
)
UPDATE calls AS c SET
    caller = agg.caller, routing_key = agg.routing_key, channel_id = agg.channel_id,
    home_centre = agg.home_centre, unit = agg.unit, position = agg.position,
    arrived_at = agg.arrived_at, connected_at = agg.connected_at, ended_at = agg.ended_at,
    outcome = agg.outcome, hops = agg.hops, entries = agg.entries, node = agg.node
FROM agg
WHERE c.call_id = agg.call_id
"""

# Abandoned calls join the callback list; a callback already done keeps its outcome.
_REFRESH_CALLBACKS = """
INSERT INTO callbacks (call_id, caller, home_centre, arrived_at, hung_up_at, waited_s)
SELECT call_id, caller, home_centre, arrived_at, ended_at,
       greatest(0, extract(epoch FROM ended_at - arrived_at))
FROM calls
WHERE call_id = ANY(%(call_ids)s) AND outcome = 'abandoned'
  AND arrived_at IS NOT NULL AND ended_at IS NOT NULL
ORDER BY call_id
ON CONFLICT (call_id) DO UPDATE SET
    caller = EXCLUDED.caller, home_centre = EXCLUDED.home_centre,
    arrived_at = EXCLUDED.arrived_at, hung_up_at = EXCLUDED.hung_up_at,
    waited_s = EXCLUDED.waited_s
"""


@dataclass(slots=True)
class BatchResult:
    """What became of a batch: ``written`` new rows, ``duplicates`` already there, and
    ``rejected`` entries the database refuses, each with the reason."""

    written: int = 0
    duplicates: int = 0
    rejected: list[tuple[JournalEntry, str]] = field(default_factory=list)


def _clean_str(value: str) -> str:
    # PostgreSQL text holds neither NUL nor lone surrogates: replacing them beats losing
    # the entry.
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean_text(value: str | None) -> str | None:
    return _clean_str(value) if value is not None else None


def _clean_value(value: JournalValue) -> JournalValue:
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    return value


def _details_json(details: Mapping[str, JournalValue]) -> str:
    # Serialised here rather than at execution, so that an unserialisable value rejects
    # this one entry instead of failing the whole batch.
    cleaned = {_clean_str(str(k)): _clean_value(v) for k, v in details.items()}
    return json.dumps(cleaned, ensure_ascii=False, allow_nan=False)


def entry_params(entry: JournalEntry) -> tuple[object, ...]:
    """The INSERT parameters of an entry; ValueError/OverflowError/TypeError if unusable."""
    return (
        _clean_text(entry.entry_id),
        _clean_text(entry.call_id),
        datetime.fromtimestamp(entry.at, tz=UTC),
        entry.kind.value,
        _clean_text(entry.unit),
        _clean_text(entry.home_centre),
        _clean_text(entry.position),
        _clean_text(entry.caller),
        _clean_text(entry.reason),
        entry.outcome.value if entry.outcome is not None else None,
        _details_json(entry.details),
        _clean_text(entry.node),
    )


async def _write(conn: Connection, rows: Sequence[tuple[object, ...]]) -> int:
    call_ids = sorted({str(r[1]) for r in rows})
    async with conn.transaction():
        await conn.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
        await conn.execute(_INSERT_CALLS, (call_ids,))
        async with conn.cursor() as cursor:
            await cursor.executemany(_INSERT_ENTRY, rows)
            inserted = max(cursor.rowcount, 0)
        await conn.execute(_RECOMPUTE_CALLS, {"call_ids": call_ids})
        await conn.execute(_REFRESH_CALLBACKS, {"call_ids": call_ids})
    return inserted


async def write_batch(conn: Connection, entries: Sequence[JournalEntry]) -> BatchResult:
    """Write ``entries`` in one transaction, in order, skipping those already written.

    An entry the database refuses for its content is isolated (the others are written one
    by one) and returned in ``rejected``. Any other database error propagates: the caller
    keeps the whole batch for later. ``conn`` must be in autocommit mode.
    """
    result = BatchResult()
    rows: list[tuple[object, ...]] = []
    sources: list[JournalEntry] = []
    for entry in entries:
        try:
            rows.append(entry_params(entry))
            sources.append(entry)
        except (ValueError, OverflowError, TypeError, AttributeError, OSError) as error:
            result.rejected.append((entry, f"cannot be stored: {error}"))
    if not rows:
        return result
    try:
        result.written = await _write(conn, rows)
        result.duplicates = len(rows) - result.written
        return result
    except psycopg.Error as error:
        if not is_record_caused(error):
            raise
    # Some entry poisons the batch: find it by writing them one by one, still in order.
    for entry, row in zip(sources, rows, strict=True):
        try:
            written = await _write(conn, [row])
        except psycopg.Error as error:
            if not is_record_caused(error):
                raise
            result.rejected.append((entry, f"refused by PostgreSQL: {first_line(error)}"))
            continue
        result.written += written
        result.duplicates += 1 - written
    return result
