"""The lab of the reference traces, rebuilt on the emulator: users, application, positions."""

from __future__ import annotations

import base64

from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Busy, Emulator, NoAnswer

LAB_USER, LAB_PASSWORD = "ariuser", "ari-secret"
LAB_APP = "vcta-test"
CALLER_NUMBER = "0612345678"
CALLER_NAME = f"Appelant {CALLER_NUMBER}"


def basic_auth(user: str = LAB_USER, password: str = LAB_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def lab_emulator(speed: float = 10.0) -> Emulator:
    """The four positions of the lab: answers after 1 s, busy, never answers, not registered
    (and in trace n: answers after 1 s, hangs up 4 s later)."""
    emu = Emulator(ScaledClock(speed), users={LAB_USER: LAB_PASSWORD}, app=LAB_APP)
    emu.add_endpoint("sdis77-op1", Answer(after_s=1.0), callerid='"SDIS77 poste 1" <7701>')
    emu.add_endpoint("sdis77-op2", Busy(after_s=0.002), callerid='"SDIS77 poste 2" <7702>')
    emu.add_endpoint("sdis83-op1", NoAnswer(), callerid='"SDIS83 poste 1" <8301>')
    emu.add_endpoint(
        "sdis83-op2",
        Answer(after_s=1.0, talk_s=4.0),
        online=False,
        callerid='"SDIS83 poste 2" <8302>',
    )
    return emu
