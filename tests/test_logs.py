"""Retrying loggers say a failure once, then only remind: the log stays readable."""

from __future__ import annotations

import logging

from ari_app.logs import QuietRepeats


def record(name: str, message: str, reason: str | None = None) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)
    if reason is not None:
        made.reason = reason
    return made


def test_identical_retry_warnings_pass_once_then_as_a_reminder_saying_how_many() -> None:
    now = [0.0]
    quiet = QuietRepeats(remind_every_s=300.0, clock=lambda: now[0])
    refused = "error connecting in 'store': connection failed: refused\n\tIs the server up?\n"
    first = record("psycopg.pool", refused)
    assert quiet.filter(first)
    assert (
        first.getMessage()
        == "error connecting in 'store': connection failed: refused Is the server up?"
    )
    for second in range(1, 100, 2):  # every 2 s, as the pool retries
        now[0] = float(second)
        assert not quiet.filter(record("psycopg.pool", refused))
    now[0] = 301.0
    reminder = record("psycopg.pool", refused)
    assert quiet.filter(reminder)
    assert getattr(reminder, "repeated", None) == 50
    assert quiet.filter(record("psycopg.pool", "error connecting in 'store': timeout"))


def test_a_new_reason_passes_at_once_and_other_loggers_are_untouched() -> None:
    quiet = QuietRepeats(clock=lambda: 0.0)
    failed = "ARI event stream: connection attempt failed"
    assert quiet.filter(record("ari_app.stasis.stream", failed, "credentials refused"))
    assert not quiet.filter(record("ari_app.stasis.stream", failed, "credentials refused"))
    assert quiet.filter(record("ari_app.stasis.stream", failed, "connection refused"))
    for _ in range(3):
        assert quiet.filter(record("ari_app.calls.session", "offer failed"))
