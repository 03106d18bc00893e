"""A duty officer making changes as the call handling accepts them, for the store's tests."""

from __future__ import annotations

from ari_app.calls.modes import ModeChangeRecord
from ari_app.vcta import ModeChange, Modes, Topology, change_modes


class DutyOfficer:
    """Applies changes to its own ``modes`` with the policy and returns each accepted one as
    the record ``CallService.change_modes`` hands to the recorder."""

    def __init__(self, topology: Topology, modes: Modes | None = None, *, start: float) -> None:
        self.topology = topology
        self.modes = modes if modes is not None else topology.initial_modes()
        self.now = start

    def change(
        self, change: ModeChange, *, actor: str = "officer77", reason: str = "surge"
    ) -> ModeChangeRecord:
        result = change_modes(self.topology, self.modes, change)
        assert result.accepted, result.reason
        assert result.changed, result.reason
        self.now += 1.0
        record = ModeChangeRecord(
            at=self.now,
            actor=actor,
            change=change,
            reason=reason,
            before=self.modes,
            after=result.modes,
            decision=result.reason,
        )
        self.modes = result.modes
        return record
