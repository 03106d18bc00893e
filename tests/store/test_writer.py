"""The store's one spooling writer, without PostgreSQL: how failures are sorted, how long a
refusing disk is retried, and what the spool's bound and rotation do with records.

The sink and the connection are fakes: what is under test is the writer's own rule."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import psycopg
import pytest

from ari_app.store.bounded import NoAnswer
from ari_app.store.db import Connection
from ari_app.store.errors import DatabaseUnreachable, SchemaError, UnknownCentre
from ari_app.store.spool import CorruptLine, LineSpool
from ari_app.store.writer import Failure, SpoolingWriter, WriterSettings, Written, classify
from tests.store.waiting import wait_until


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (DatabaseUnreachable("cannot connect"), Failure.DOWN),
        (SchemaError("no schema"), Failure.DOWN),
        (NoAnswer("no answer within 1 s"), Failure.DOWN),
        (ConnectionResetError("reset by peer"), Failure.DOWN),
        (psycopg.OperationalError("server closed the connection"), Failure.DOWN),
        (psycopg.errors.UndefinedTable("relation does not exist"), Failure.DOWN),
        (psycopg.errors.LockNotAvailable("lock timeout"), Failure.DOWN),
        (psycopg.errors.UniqueViolation("duplicate key"), Failure.RECORD),
        (psycopg.errors.ForeignKeyViolation("no such centre"), Failure.RECORD),
        (psycopg.errors.StringDataRightTruncation("too long"), Failure.RECORD),
        (UnknownCentre("no centre sdis01"), Failure.RECORD),
        (ValueError("year 0 is out of range"), Failure.RECORD),
        (RuntimeError("a bug"), Failure.RECORD),
    ],
)
def test_every_error_is_either_the_databases_condition_or_the_records_fault(
    error: BaseException, failure: Failure
) -> None:
    assert classify(error) is failure


def text_spool(path: Path, **bounds: int) -> LineSpool[str]:
    """A spool of plain strings, one JSON string per line."""

    def decode(line: str) -> str:
        value = json.loads(line)
        if not isinstance(value, str):
            raise CorruptLine("not a string")
        return value

    return LineSpool(path, encode=json.dumps, decode=decode, what="note", **bounds)


class FakeConnection:
    closed = False

    async def close(self) -> None:
        self.closed = True


class Notes:
    """A sink of strings: those starting with "bad" are refused for their content; while
    ``down`` every write fails as if the database had gone away."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.calls: list[list[str]] = []
        self.down = False

    async def write(self, conn: Connection, records: Sequence[str]) -> Written[str]:
        self.calls.append(list(records))
        if self.down:
            raise DatabaseUnreachable("the database went away")
        if any(r.startswith("bad") for r in records):
            raise ValueError("a bad note")
        self.stored.extend(records)
        return Written(written=len(records))

    async def probe(self, conn: Connection) -> None:
        if self.down:
            raise DatabaseUnreachable("still away")

    def about(self, record: str) -> Mapping[str, object]:
        return {"note": record}


def writer_for(
    spool: LineSpool[str], sink: Notes, *, reachable: bool = True, **settings: float
) -> SpoolingWriter[str]:
    async def connector() -> Connection:
        if not reachable:
            raise DatabaseUnreachable("cannot connect to nowhere")
        return cast(Connection, FakeConnection())

    options: dict[str, float] = {"max_latency_s": 0.01, "stop_timeout_s": 2.0, **settings}
    return SpoolingWriter(
        "postgresql://nobody@127.0.0.1:1/none",
        spool,
        sink,
        WriterSettings(name="notes", what="note", many="notes", **options),  # type: ignore[arg-type]
        connector=connector,
    )


async def test_a_record_that_spoils_its_batch_is_set_aside_and_the_others_written(
    tmp_path: Path,
) -> None:
    sink = Notes()
    spool = text_spool(tmp_path / "notes.spool")
    writer = writer_for(spool, sink, max_latency_s=1.0, batch_size=3)
    await writer.start()
    for note in ("one", "bad two", "three"):
        writer.record(note)
    await wait_until(lambda: writer.stats().written == 2, "the good notes are written")
    await writer.stop()

    assert sink.calls[0] == ["one", "bad two", "three"]  # the batch, then one at a time
    assert sink.stored == ["one", "three"]
    assert writer.stats().rejected == 1
    assert text_spool(spool.rejected_path).read_all() == ["bad two"]
    assert writer.stats().spooled == 0


async def test_a_refusing_disk_is_retried_for_a_bounded_time_then_records_go_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A directory where the spool file should be: every append fails, even for root.
    (tmp_path / "notes.spool").mkdir()
    spool = text_spool(tmp_path / "notes.spool")
    writer = writer_for(spool, Notes(), reachable=False, spool_retry_s=0.3)
    await writer.start()
    writer.record("kept in memory, then in the log")
    with caplog.at_level(logging.ERROR):
        await wait_until(lambda: writer.stats().overflowed == 1, "the note goes to the log")
        retries = [r for r in caplog.records if "stay in memory" in r.getMessage()]
        assert retries  # it was retried before being given up
        [last_resort] = [r for r in caplog.records if r.levelname == "CRITICAL"]
        assert last_resort.__dict__["record"] == '"kept in memory, then in the log"'
        assert "cannot be written" in last_resort.getMessage()
        # Nothing is retried once given up: the writer goes on with later records.
        writer.record("the next one")
        await wait_until(lambda: writer.stats().overflowed == 2, "the next note is logged too")
    assert writer.stats().pending == 0
    await writer.stop()


async def test_spool_past_its_bound_keeps_what_fits_and_logs_the_rest_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = text_spool(tmp_path / "notes.spool", segment_bytes=40, max_bytes=100)
    writer = writer_for(spool, Notes(), reachable=False, spool_warn_bytes=50)
    await writer.start()
    notes = [f"note number {n:02d}" for n in range(8)]  # 17 bytes a line: 5 fit in 100
    with caplog.at_level(logging.WARNING):
        for note in notes:
            writer.record(note)
        await wait_until(
            lambda: writer.stats().spooled + writer.stats().overflowed == len(notes),
            "every note is spooled or logged",
        )
    await writer.stop()

    stats = writer.stats()
    assert (stats.spooled, stats.overflowed) == (5, 3)
    assert stats.spool_bytes <= 100
    assert spool.read_all() == notes[:5]
    logged = [r.__dict__["record"] for r in caplog.records if r.levelname == "CRITICAL"]
    assert logged == [json.dumps(n) for n in notes[5:]]
    growing = [r for r in caplog.records if "spool is growing" in r.getMessage()]
    assert len(growing) == 1  # once per outage, not once per append
    assert growing[0].__dict__["spool_bytes"] >= 50


def test_spool_rotates_full_segments_and_reads_them_back_in_order(tmp_path: Path) -> None:
    spool = text_spool(tmp_path / "notes.spool", segment_bytes=30, max_bytes=10_000)
    notes = [f"note {n:02d}" for n in range(12)]  # 10 bytes a line: 3 a segment
    for note in notes:
        spool.append([note])

    segments = spool.segments()
    assert [p.name for p in segments] == [
        "notes.spool.1",
        "notes.spool.2",
        "notes.spool.3",
        "notes.spool",
    ]
    assert all(p.stat().st_size <= 30 for p in segments)
    assert spool.count() == len(notes)
    assert spool.read_all() == notes
    with spool.reader() as reader:
        assert reader.next_batch(5) + reader.next_batch(100) == notes

    spool.truncate()
    assert spool.segments() == [tmp_path / "notes.spool"]
    assert (spool.count(), spool.size_bytes()) == (0, 0)


def test_spool_append_returns_the_tail_past_its_bound_unwritten(tmp_path: Path) -> None:
    spool = text_spool(tmp_path / "notes.spool", segment_bytes=20, max_bytes=25)
    assert spool.append(["aaaa", "bbbb", "cccc", "dddd"]) == ["dddd"]  # 7 bytes a line
    assert spool.read_all() == ["aaaa", "bbbb", "cccc"]
    assert spool.append(["eeee"]) == ["eeee"]  # full: nothing more goes in
    assert spool.size_bytes() == 21


async def test_replay_after_an_outage_writes_the_spool_in_order_then_writes_directly(
    tmp_path: Path,
) -> None:
    sink = Notes()
    spool = text_spool(tmp_path / "notes.spool", segment_bytes=20, max_bytes=10_000)
    writer = writer_for(spool, sink, batch_size=1)
    await writer.start()
    writer.record("before")
    await wait_until(lambda: writer.stats().written == 1, "the first note is written")
    sink.down = True
    for note in ("during 1", "during 2", "during 3"):
        writer.record(note)
    await wait_until(lambda: writer.stats().spooled == 3, "the notes are spooled")
    assert len(spool.segments()) > 1  # rotated on the way
    sink.down = False
    await wait_until(lambda: writer.stats().replays == 1, "the spool is replayed")
    writer.record("after")
    await wait_until(lambda: writer.stats().written == 5, "the last note is written")
    await writer.stop()

    assert sink.stored == ["before", "during 1", "during 2", "during 3", "after"]
    assert spool.count() == 0
    assert writer.caught_up()
