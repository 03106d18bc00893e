"""The emulated world the client is tested against: one Stasis application, four positions.

Like the lab of the reference traces: ``sdis77-op1`` answers, ``sdis77-op2`` is busy,
``sdis83-op1`` never answers, ``sdis83-op2`` is not registered. The emulator's clock runs
``SPEED`` times faster than real time, so a 1 s answer delay takes 50 ms.
"""

from __future__ import annotations

from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Busy, Emulator, NoAnswer

USER, PASSWORD = "vcta-ari", "vcta-secret"
APP = "vcta-it"
SPEED = 20.0
CALLER_NUMBER = "0612345678"

ANSWERS = "sdis77-op1"
BUSY = "sdis77-op2"
NEVER_ANSWERS = "sdis83-op1"
OFFLINE = "sdis83-op2"


def build_emulator(speed: float = SPEED) -> Emulator:
    emu = Emulator(ScaledClock(speed), users={USER: PASSWORD}, app=APP)
    emu.add_endpoint(ANSWERS, Answer(after_s=1.0), callerid='"SDIS77 poste 1" <7701>')
    emu.add_endpoint(BUSY, Busy(after_s=0.05), callerid='"SDIS77 poste 2" <7702>')
    emu.add_endpoint(NEVER_ANSWERS, NoAnswer(), callerid='"SDIS83 poste 1" <8301>')
    emu.add_endpoint(OFFLINE, Answer(after_s=1.0), online=False, callerid='"SDIS83 poste 2" <8302>')
    return emu
