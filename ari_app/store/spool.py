"""The journal's spool: entries waiting on local disk while PostgreSQL cannot take them.

One JSON object per line, appended with flush and fsync, read back in order. Lines that
cannot be read back are moved to ``<spool>.corrupt`` (verbatim, so they can be repaired and
appended again) and reported; entries the database refuses go to ``<spool>.rejected`` in the
spool format. Every method blocks on file I/O: call them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind, JournalValue

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_TEXT_FIELDS = ("unit", "home_centre", "position", "caller", "reason")


class CorruptLine(ValueError):
    """A spool line that is not a journal entry."""


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


def entry_from_json(line: str) -> JournalEntry:
    """The entry a spool line holds; CorruptLine says what is wrong with it."""
    try:
        data = json.loads(line)
    except ValueError as error:
        raise CorruptLine(f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise CorruptLine("not a JSON object")
    if data.get("v") != FORMAT_VERSION:
        raise CorruptLine(f"unknown format version {data.get('v')!r}")
    at = data.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise CorruptLine("field 'at' is not a time in seconds")
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
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


class Spool:
    """The spool file at ``path`` and its companions ``.corrupt`` and ``.rejected``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.corrupt_path = path.with_name(path.name + ".corrupt")
        self.rejected_path = path.with_name(path.name + ".rejected")
        # Appends may come from the writer and from a shutdown that gave up waiting on it.
        self._lock = threading.Lock()

    def count(self) -> int:
        """How many entries (non-blank lines) the spool holds."""
        try:
            with self.path.open("rb") as file:
                return sum(1 for line in file if line.strip())
        except FileNotFoundError:
            return 0

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries`` in order; on return they are on disk."""
        if not entries:
            return
        with self._lock:
            _append_lines(self.path, (entry_to_json(e) for e in entries))

    def set_aside_rejected(self, entries: Sequence[JournalEntry]) -> None:
        """Keep entries the database refused, in the spool format, for a person to look at."""
        with self._lock:
            _append_lines(self.rejected_path, (entry_to_json(e) for e in entries))

    def truncate(self) -> None:
        """Empty the spool (after it was replayed), durably."""
        with self._lock:
            try:
                with self.path.open("r+b") as file:
                    file.truncate(0)
                    file.flush()
                    os.fsync(file.fileno())
            except FileNotFoundError:
                pass

    def reader(self) -> SpoolReader:
        return SpoolReader(self)

    def _set_aside_corrupt(self, line: str) -> None:
        with self._lock:
            _append_lines(self.corrupt_path, [line])


class SpoolReader:
    """Reads the spool from the start in batches; corrupt lines are set aside as it goes."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._file: IO[str] | None = None
        self._line_number = 0
        self.corrupt_lines = 0
        self.entries_read = 0

    def next_batch(self, size: int) -> list[JournalEntry]:
        """Up to ``size`` entries, in spool order; empty at the end."""
        if self._file is None:
            try:
                # errors="replace": a damaged byte makes its line unreadable, not the file.
                self._file = self._spool.path.open("r", encoding="utf-8", errors="replace")
            except FileNotFoundError:
                return []
        batch: list[JournalEntry] = []
        while len(batch) < size:
            raw = self._file.readline()
            if not raw:
                break
            self._line_number += 1
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            try:
                batch.append(entry_from_json(line))
            except CorruptLine as error:
                self.corrupt_lines += 1
                log.error(
                    "journal spool line is not a journal entry: kept aside, not replayed",
                    extra={
                        "spool": str(self._spool.path),
                        "line": self._line_number,
                        "problem": str(error),
                        "kept_in": str(self._spool.corrupt_path),
                    },
                )
                self._spool._set_aside_corrupt(line)
        self.entries_read += len(batch)
        return batch

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> SpoolReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
