"""A progress bar for long runs, on a stream of its own (stderr) so it never mixes with JSON."""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 30


class ProgressBar:
    """``bar(done, total)`` redraws one line; the line is ended when ``done == total``."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        filled = round(_WIDTH * done / total) if total else _WIDTH
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (total - done) if done else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{total} runs, "
            f"{elapsed:.0f} s elapsed, about {left:.0f} s left "
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
