"""An Asterisk emulator speaking ARI like the reference traces, with scripted positions and callers.

See docs/emulator.md. The public names are re-exported here.
"""

from ari_app.sim.emulator import CallerHandle, Emulator
from ari_app.sim.errors import EmulatorError
from ari_app.sim.history import CallRecord
from ari_app.sim.scripts import (
    Answer,
    Busy,
    NoAnswer,
    Outcome,
    PositionScript,
    Reject,
    Ring,
    Unreachable,
    parse_script,
)

__all__ = [
    "Answer",
    "Busy",
    "CallRecord",
    "CallerHandle",
    "Emulator",
    "EmulatorError",
    "NoAnswer",
    "Outcome",
    "PositionScript",
    "Reject",
    "Ring",
    "Unreachable",
    "parse_script",
]
