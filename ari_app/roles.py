"""An instance's role among those sharing one PostgreSQL, as probes, metrics and the API show
it (kept by ``ari_app.leadership``; docs/failover.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SINGLE = "single"  # the only instance: no lease (ARI_APP_LEADERSHIP=single)
    STANDBY = "standby"  # waits for the lease; commands nothing
    ACTIVE = "active"  # holds the lease and commands Asterisk
    FENCED = "fenced"  # lost the lease or the ARI application: commands nothing, stops


@dataclass(frozen=True, slots=True)
class RoleView:
    """An instance's role now."""

    role: Role
    instance: str
    term: int | None = None  # the lease's term while active or fenced
    active_instance: str | None = None  # who is active, as a standby last read it
    active_api_url: str | None = None
    without_database: bool = False  # active, holding on through a database outage
    fenced_because: str | None = None

    @property
    def commands(self) -> bool:
        """Whether this instance is the one commanding Asterisk."""
        return self.role in (Role.SINGLE, Role.ACTIVE)

    def elsewhere(self) -> str:
        """A sentence for a request this instance cannot serve: where to send it instead."""
        if self.role is Role.FENCED:
            return (
                f"this instance ({self.instance}) is no longer the active one and is stopping:"
                " send changes to the active instance"
            )
        if self.active_instance is None:
            return (
                f"this instance ({self.instance}) is a standby and no instance holds the lease"
                " right now: try again in a few seconds"
            )
        where = f" at {self.active_api_url}" if self.active_api_url else ""
        return (
            f"this instance ({self.instance}) is a standby: {self.active_instance} is the"
            f" active instance{where}; send changes there"
        )
