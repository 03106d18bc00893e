"""Spool files: records waiting on local disk while PostgreSQL cannot take them.

One JSON object per line, appended with flush and fsync, read back in order. Lines that
cannot be read back are moved to ``<spool>.corrupt`` (verbatim, so they can be repaired and
appended again) and reported; records the database refuses go to ``<spool>.rejected`` in the
spool format. Every method blocks on file I/O: call them through ``asyncio.to_thread``.

The spool is bounded and rotated: once the file being appended to reaches
``segment_bytes`` it is renamed ``<spool>.1``, ``<spool>.2`` ... (oldest first) and a new one
begun, so no single file grows without end; all segments together never exceed
``max_bytes``. ``append`` returns the records that would cross that bound, unwritten: the
writer that called it decides where they go instead (see ``ari_app.store.writer``).

``LineSpool`` holds records of any type given how to write and read one line; ``Spool`` is
the journal's (``entry_to_json`` / ``entry_from_json``). The mode recorder has its own
format (:mod:`ari_app.store.mode_spool`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from ari_app.calls.ports import CallOutcome, JournalEntry, JournalKind, JournalValue

log = logging.getLogger(__name__)

T = TypeVar("T")

FORMAT_VERSION = 1

# Bounds of a spool on disk. A journal entry's line is about 300 bytes: 1 GiB holds some
# three million of them, days of an outage at a national call rate.
SEGMENT_BYTES = 64 * 1024 * 1024
MAX_BYTES = 1024 * 1024 * 1024
_TEXT_FIELDS = ("unit", "home_centre", "position", "caller", "reason", "node")


class CorruptLine(ValueError):
    """A spool line that is not a record of the spool's kind."""


def entry_to_json(entry: JournalEntry) -> str:
    """One spool line (without the newline) for ``entry``."""
    data: dict[str, object] = {
        "v": FORMAT_VERSION,
        "entry_id": entry.entry_id,
        "call_id": entry.call_id,
        "at": entry.at,
        "kind": entry.kind.value,
    }
    for name in _TEXT_FIELDS:
        value = getattr(entry, name)
        if value is not None:
            data[name] = value
    if entry.outcome is not None:
        data["outcome"] = entry.outcome.value
    if entry.details:
        data["details"] = dict(entry.details)
    # ASCII-only output: a stray surrogate in some string cannot make the write fail.
    return json.dumps(data, separators=(",", ":"))


def _text(data: Mapping[str, object], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise CorruptLine(f"field {name!r} is missing")
        return None
    if not isinstance(value, str):
        raise CorruptLine(f"field {name!r} is not a string")
    return value


def read_line(line: str, version: int) -> tuple[dict[str, Any], float]:
    """A spool line's JSON object and its ``at`` time, once its ``v`` is ``version``;
    CorruptLine says what is wrong with it."""
    try:
        data = json.loads(line)
    except ValueError as error:
        raise CorruptLine(f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise CorruptLine("not a JSON object")
    if data.get("v") != version:
        raise CorruptLine(f"unknown format version {data.get('v')!r}")
    at = data.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise CorruptLine("field 'at' is not a time in seconds")
    return data, float(at)


def entry_from_json(line: str) -> JournalEntry:
    """The entry a spool line holds; CorruptLine says what is wrong with it."""
    data, at = read_line(line, FORMAT_VERSION)
    try:
        kind = JournalKind(str(data.get("kind")))
    except ValueError:
        raise CorruptLine(f"unknown kind {data.get('kind')!r}") from None
    outcome_text = data.get("outcome")
    try:
        outcome = CallOutcome(outcome_text) if outcome_text is not None else None
    except ValueError:
        raise CorruptLine(f"unknown outcome {outcome_text!r}") from None
    details = data.get("details", {})
    if not isinstance(details, dict) or not all(
        isinstance(v, str | int | float | bool) or v is None for v in details.values()
    ):
        raise CorruptLine("field 'details' is not an object of plain values")
    typed_details: dict[str, JournalValue] = dict(details)
    return JournalEntry(
        call_id=_text(data, "call_id", required=True) or "",
        at=float(at),
        kind=kind,
        unit=_text(data, "unit"),
        home_centre=_text(data, "home_centre"),
        position=_text(data, "position"),
        caller=_text(data, "caller"),
        reason=_text(data, "reason"),
        outcome=outcome,
        details=typed_details,
        entry_id=_text(data, "entry_id", required=True) or "",
        node=_text(data, "node"),
    )


def _append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append lines durably: flush and fsync, and fsync the directory for a new file."""
    created = not path.exists()
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        # A crash may have left a last line without its newline: never glue onto it.
        if not created and file.tell() > 0 and not _ends_with_newline(path):
            file.write("\n")
        file.writelines(line + "\n" for line in lines)
        file.flush()
        os.fsync(file.fileno())
    if created:
        _fsync_directory(path.parent)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


class LineSpool(Generic[T]):
    """The spool at ``path`` (with its rotated segments) and its companions ``.corrupt``
    and ``.rejected``.

    ``encode`` turns a record into one line (no newline); ``decode`` reads it back or
    raises CorruptLine; ``what`` names a record in log messages ("journal entry").
    """

    def __init__(
        self,
        path: Path,
        *,
        encode: Callable[[T], str],
        decode: Callable[[str], T],
        what: str,
        segment_bytes: int = SEGMENT_BYTES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        if not 0 < segment_bytes <= max_bytes:
            raise ValueError(
                f"a spool needs 0 < segment_bytes <= max_bytes, not {segment_bytes}, {max_bytes}"
            )
        self.path = path
        self.corrupt_path = path.with_name(path.name + ".corrupt")
        self.rejected_path = path.with_name(path.name + ".rejected")
        self.what = what
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self._encode = encode
        self._decode = decode
        # Appends may come from the writer and from a shutdown that gave up waiting on it.
        self._lock = threading.Lock()
        self._size: int | None = None  # bytes in every segment, measured on first use

    def encode(self, record: T) -> str:
        """The spool line of ``record`` (without the newline)."""
        return self._encode(record)

    def segments(self) -> list[Path]:
        """The spool's files in the order their records were appended: rotated ones by
        number, then the one being appended to."""
        rotated: list[tuple[int, Path]] = []
        prefix = self.path.name + "."
        try:
            siblings = list(self.path.parent.iterdir())
        except FileNotFoundError:
            return []
        for sibling in siblings:
            suffix = sibling.name[len(prefix) :] if sibling.name.startswith(prefix) else ""
            if suffix.isdigit():
                rotated.append((int(suffix), sibling))
        files = [path for _, path in sorted(rotated) if path.is_file()]
        if self.path.is_file():
            files.append(self.path)
        return files

    def size_bytes(self) -> int:
        """Bytes held by every segment of the spool."""
        with self._lock:
            return self._measured()

    def count(self) -> int:
        """How many records (non-blank lines) the spool holds."""
        total = 0
        for segment in self.segments():
            try:
                with segment.open("rb") as file:
                    total += sum(1 for line in file if line.strip())
            except FileNotFoundError:
                continue
        return total

    def append(self, records: Sequence[T]) -> list[T]:
        """Append ``records`` in order; on return they are on disk, except those returned:
        the tail that would take the spool past ``max_bytes``, left unwritten."""
        if not records:
            return []
        with self._lock:
            size = self._measured()
            lines: list[str] = []
            for index, record in enumerate(records):
                line = self._encode(record)
                if size + len(line) + 1 > self.max_bytes:
                    self._write(lines)
                    return list(records[index:])
                lines.append(line)
                size += len(line) + 1
            self._write(lines)
            return []

    def set_aside_rejected(self, records: Sequence[T]) -> None:
        """Keep records the database refused, in the spool format, for a person to look at."""
        with self._lock:
            _append_lines(self.rejected_path, (self._encode(r) for r in records))

    def truncate(self) -> None:
        """Empty the spool (after it was replayed), durably: rotated segments are removed
        and the file appended to is emptied."""
        with self._lock:
            for segment in self.segments():
                if segment != self.path:
                    segment.unlink(missing_ok=True)
            try:
                with self.path.open("r+b") as file:
                    file.truncate(0)
                    file.flush()
                    os.fsync(file.fileno())
            except FileNotFoundError:
                pass
            self._size = 0

    def reader(self, *, set_aside_corrupt: bool = True) -> SpoolReader[T]:
        return SpoolReader(self, set_aside_corrupt=set_aside_corrupt)

    def read_all(self) -> list[T]:
        """Every readable record, in order, leaving the files as they are.

        Corrupt lines are skipped silently here: the replay reports them and sets them aside.
        """
        with self.reader(set_aside_corrupt=False) as reader:
            records: list[T] = []
            while batch := reader.next_batch(1000):
                records.extend(batch)
            return records

    def decode(self, line: str) -> T:
        return self._decode(line)

    def _set_aside_corrupt(self, line: str) -> None:
        with self._lock:
            _append_lines(self.corrupt_path, [line])

    def _measured(self) -> int:
        # Measured once, then kept up to date by this object's own appends and truncations.
        if self._size is None:
            self._size = sum(_file_size(segment) for segment in self.segments())
        return self._size

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        if _file_size(self.path) >= self.segment_bytes:
            self._rotate()
        _append_lines(self.path, lines)
        assert self._size is not None
        self._size += sum(len(line) + 1 for line in lines)

    def _rotate(self) -> None:
        """Rename the full file to the next segment number; appends then begin a new one."""
        numbers = [int(p.name.rsplit(".", 1)[1]) for p in self.segments() if p != self.path]
        target = self.path.with_name(f"{self.path.name}.{max(numbers, default=0) + 1}")
        os.replace(self.path, target)
        _fsync_directory(self.path.parent)
        log.info(
            f"{self.what} spool segment full: a new one is begun",
            extra={"spool": str(self.path), "segment": str(target)},
        )


def _file_size(path: Path) -> int:
    # Only regular files count: whatever else stands at a spool's path makes appends fail.
    try:
        return path.stat().st_size if path.is_file() else 0
    except FileNotFoundError:
        return 0


def _fsync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Spool(LineSpool[JournalEntry]):
    """The journal's spool: one journal entry per line."""

    def __init__(
        self, path: Path, *, segment_bytes: int = SEGMENT_BYTES, max_bytes: int = MAX_BYTES
    ) -> None:
        super().__init__(
            path,
            encode=entry_to_json,
            decode=entry_from_json,
            what="journal entry",
            segment_bytes=segment_bytes,
            max_bytes=max_bytes,
        )


class SpoolReader(Generic[T]):
    """Reads the spool from its oldest segment in batches; corrupt lines are set aside as
    it goes (reported and copied to ``.corrupt``), unless ``set_aside_corrupt`` is False."""

    def __init__(self, spool: LineSpool[T], *, set_aside_corrupt: bool = True) -> None:
        self._spool = spool
        self._set_aside = set_aside_corrupt
        self._segments: list[Path] | None = None
        self._file: IO[str] | None = None
        self._reading: Path | None = None
        self._line_number = 0
        self.corrupt_lines = 0
        self.entries_read = 0

    def next_batch(self, size: int) -> list[T]:
        """Up to ``size`` records, in spool order; empty at the end."""
        if self._segments is None:
            # The segments as they are now: the writer appends nothing while it replays.
            self._segments = self._spool.segments()
        batch: list[T] = []
        while len(batch) < size:
            if self._file is None and not self._open_next():
                break
            assert self._file is not None
            raw = self._file.readline()
            if not raw:
                self._file.close()
                self._file = None
                continue
            self._line_number += 1
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            try:
                batch.append(self._spool.decode(line))
            except CorruptLine as error:
                self.corrupt_lines += 1
                if not self._set_aside:
                    continue
                log.error(
                    f"spool line is not a {self._spool.what}: kept aside, not replayed",
                    extra={
                        "spool": str(self._reading),
                        "line": self._line_number,
                        "problem": str(error),
                        "kept_in": str(self._spool.corrupt_path),
                    },
                )
                self._spool._set_aside_corrupt(line)
        self.entries_read += len(batch)
        return batch

    def _open_next(self) -> bool:
        assert self._segments is not None
        while self._segments:
            path = self._segments.pop(0)
            try:
                # errors="replace": a damaged byte makes its line unreadable, not the file.
                self._file = path.open("r", encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            self._reading = path
            self._line_number = 0
            return True
        return False

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> SpoolReader[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
