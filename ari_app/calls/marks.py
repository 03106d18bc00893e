"""What the application writes on a caller's channel so that a restart can read it back."""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_VARIABLE = "VCTA_QUEUE"


@dataclass(frozen=True, slots=True)
class QueueMark:
    """What a caller's channel says about where it waits: ``unit=...;hops=...;overflow=...``."""

    unit: str
    hops: int = 0
    overflow: bool = False

    def encode(self) -> str:
        return f"unit={self.unit};hops={self.hops};overflow={int(self.overflow)}"

    @staticmethod
    def decode(text: str) -> QueueMark | None:
        fields = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
        if not fields.get("unit"):
            return None
        try:
            return QueueMark(
                fields["unit"], int(fields.get("hops", "0")), fields.get("overflow") == "1"
            )
        except ValueError:
            return None
