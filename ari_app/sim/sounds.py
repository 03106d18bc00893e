"""Which sound files exist on the emulated Asterisk, and how long each plays."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Durations of a few Asterisk core sounds, in seconds; hello-world and beep as measured
# in the traces (1.40 s and 0.42 s), the others approximate.
CORE_SOUNDS: Mapping[str, float] = MappingProxyType(
    {
        "hello-world": 1.4,
        "beep": 0.42,
        "demo-congrats": 5.0,
        "pls-hold-while-try": 2.6,
        "please-try-again": 1.2,
        "queue-periodic-announce": 4.6,
        "queue-thankyou": 1.6,
        "queue-callswaiting": 1.9,
        "queue-holdtime": 1.5,
        "queue-youarenext": 1.3,
        "tt-monkeys": 9.0,
        "tt-weasels": 2.8,
        "vm-goodbye": 0.9,
        "silence/1": 1.0,
        "silence/2": 2.0,
        "silence/5": 5.0,
        "silence/10": 10.0,
        **{f"digits/{d}": 0.5 for d in "0123456789"},
    }
)

# Duration of a sound declared without one (``--sound name``), and of each digit,
# number or character said by the ``digits:``, ``number:`` and ``characters:`` schemes.
DEFAULT_SOUND_S = 2.0
SAY_UNIT_S = 0.5


class SoundLibrary:
    """Known sounds: the core ones plus those the emulator is given (``name -> seconds``)."""

    def __init__(self, extra: Mapping[str, float | None] | None = None) -> None:
        self._durations = dict(CORE_SOUNDS)
        for name, seconds in (extra or {}).items():
            self.add(name, seconds)

    def add(self, name: str, seconds: float | None = None) -> None:
        if not name or name.startswith("/") or ".." in name:
            raise ValueError(f"sound name {name!r} must be a relative name like 'custom/accueil'")
        if seconds is not None and seconds < 0:
            raise ValueError(f"sound {name!r}: duration must be zero or more seconds")
        self._durations[name] = DEFAULT_SOUND_S if seconds is None else float(seconds)

    def duration(self, name: str) -> float | None:
        """Seconds the sound plays, or None when no such file exists."""
        return self._durations.get(name)

    def names(self) -> list[str]:
        return sorted(self._durations)
