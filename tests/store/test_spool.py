"""The journal spool file: order, durability of lines, corrupt lines set aside."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind
from ari_app.store.spool import CorruptLine, Spool, entry_from_json, entry_to_json
from tests.store.entries import call_entries

texts = st.one_of(st.none(), st.text(max_size=20))
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)
)
entries = st.builds(
    JournalEntry,
    call_id=st.text(max_size=20),
    at=st.floats(min_value=0, max_value=4e9),
    kind=st.sampled_from(JournalKind),
    unit=texts,
    home_centre=texts,
    position=texts,
    caller=texts,
    reason=texts,
    outcome=st.one_of(st.none(), st.sampled_from(CallOutcome)),
    details=st.dictionaries(st.text(max_size=8), values, max_size=3),
    entry_id=st.text(min_size=1, max_size=32),
)


@settings(max_examples=200)
@given(entries)
def test_every_entry_survives_the_spool_format_unchanged(entry: JournalEntry) -> None:
    line = entry_to_json(entry)
    assert "\n" not in line
    assert entry_from_json(line) == entry


def test_spool_gives_entries_back_in_order_and_in_batches(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "var" / "journal.spool")
    first, second = call_entries("c1"), call_entries("c2")
    spool.append(first)
    spool.append(second)
    assert spool.count() == len(first) + len(second)

    batches = []
    with spool.reader() as reader:
        while batch := reader.next_batch(4):
            batches.append(batch)
    assert all(len(b) <= 4 for b in batches)
    assert [e for b in batches for e in b] == first + second

    spool.truncate()
    assert spool.count() == 0
    with spool.reader() as reader:
        assert reader.next_batch(10) == []


def test_corrupt_line_is_set_aside_and_reported_and_the_rest_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "journal.spool")
    good = call_entries("c1")
    spool.append(good[:2])
    with spool.path.open("a") as file:
        file.write('{"v": 1, "call_id": "c1", "at": 1, "kind": "teleported"}\n')
    spool.append(good[2:])

    with caplog.at_level(logging.ERROR), spool.reader() as reader:
        read = reader.next_batch(100)

    assert read == good
    assert (
        spool.corrupt_path.read_text()
        == '{"v": 1, "call_id": "c1", "at": 1, "kind": "teleported"}\n'
    )
    [record] = caplog.records
    assert record.line == 3  # type: ignore[attr-defined]
    assert "unknown kind 'teleported'" in record.problem  # type: ignore[attr-defined]


def test_line_cut_short_by_a_crash_does_not_swallow_the_next_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "journal.spool")
    entries = call_entries("c1")
    spool.append(entries[:1])
    line = entry_to_json(entries[1])
    with spool.path.open("a") as file:
        file.write(line[: len(line) // 2])  # the process died in the middle of a write
    spool.append(entries[2:])

    with spool.reader() as reader:
        read = reader.next_batch(100)

    assert read == [entries[0], *entries[2:]]
    assert spool.corrupt_path.read_text() == line[: len(line) // 2] + "\n"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"v": 2}', "unknown format version 2"),
        ('{"v": 1, "at": "noon", "kind": "arrived"}', "'at' is not a time"),
        ('{"v": 1, "at": 1, "kind": "arrived", "entry_id": "e"}', "'call_id' is missing"),
        ('{"v": 1, "at": 1, "kind": "ended", "outcome": "won"}', "unknown outcome 'won'"),
        ('{"v": 1, "at": 1, "kind": "ended", "details": {"a": [1]}}', "not an object of plain"),
    ],
)
def test_unreadable_line_says_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(CorruptLine, match=problem):
        entry_from_json(line)
