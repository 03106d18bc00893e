"""What the call handling needs from outside it, in one place: the protocols the store
implements (``Journal``, ``OpenCalls``, ``ModeRecorder``) and the records they carry.

The arrow runs from ``store`` to ``calls``: the store imports these and implements them,
the call handling never imports the store. They are defined in ``calls.journal`` and
``calls.modes`` next to their in-memory versions; this module only gathers them, so that
``store`` depends on this one surface of ``calls`` (the layering test holds it to that).
"""

from ari_app.calls.journal import (
    CallOutcome,
    Journal,
    JournalEntry,
    JournalKind,
    JournalValue,
    OpenCall,
    OpenCalls,
)
from ari_app.calls.modes import ModeChangeRecord, ModeRecorder

__all__ = [
    "CallOutcome",
    "Journal",
    "JournalEntry",
    "JournalKind",
    "JournalValue",
    "ModeChangeRecord",
    "ModeRecorder",
    "OpenCall",
    "OpenCalls",
]
