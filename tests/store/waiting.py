"""Waiting for a condition in the store's tests (see tests/waiting.py)."""

from __future__ import annotations

from collections.abc import Callable

from tests import waiting


async def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``timeout_s``."""
    await waiting.wait_until(condition, within=timeout_s, what=what)
