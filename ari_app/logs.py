"""Structured logging: one line per record, ``key=value`` fields after the message."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    """``2026-11-29T10:00:00 INFO calls.session call offered call_id=... position=...``"""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if fields:
            line += " " + " ".join(f"{k}={_quote(v)}" for k, v in sorted(fields.items()))
        return line


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


# Loggers that retry a failing connection every second or two and say so each time: the
# pool's attempts, the ARI event stream's. Their identical repeats are held back.
RETRYING_LOGGERS = ("psycopg.pool", "ari_app.stasis")
REMIND_EVERY_S = 300.0


class QuietRepeats(logging.Filter):
    """Lets a retrying logger's warning through once, then holds back its identical repeats
    (same message, same ``reason``) but one every ``remind_every_s``, which says how many
    were held back. A different message passes at once. Messages are put on one line:
    libpq's span several and end with a newline, which left blank lines in the log."""

    def __init__(
        self,
        loggers: tuple[str, ...] = RETRYING_LOGGERS,
        *,
        remind_every_s: float = REMIND_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._loggers = loggers
        self._remind_every_s = remind_every_s
        self._clock = clock
        # logger name -> (what was said, when it last passed, repeats held back since)
        self._last: dict[str, tuple[tuple[str, str], float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self._loggers):
            return True
        text = " ".join(record.getMessage().split())
        record.msg, record.args = text, ()
        said = (text, str(getattr(record, "reason", "")))
        now = self._clock()
        last = self._last.get(record.name)
        if last is not None and last[0] == said:
            if now - last[1] < self._remind_every_s:
                self._last[record.name] = (said, last[1], last[2] + 1)
                return False
            record.repeated = last[2]
        self._last[record.name] = (said, now, 0)
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(QuietRepeats())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
