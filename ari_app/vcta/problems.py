"""Problems found in a topology, each with its place and a sentence a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopologyProblem:
    """One thing wrong with a topology.

    ``table`` is the TOML table (``centres.sdis77``, ``virtual_ctas.vcta-nord``, ``policy``; empty
    for the whole file) and ``key`` the key in it (``max_queue``, ``neighbours[2]``; empty when the
    problem is the table itself). ``line`` and ``column`` are known only for syntax errors.
    """

    file: str
    table: str
    key: str
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def place(self) -> str:
        """Where the problem is, as ``file:line:column`` or ``file: [table] key``."""
        if self.line is not None:
            column = f":{self.column}" if self.column is not None else ""
            return f"{self.file}:{self.line}{column}"
        where = f"[{self.table}]" if self.table else ""
        if self.key:
            where = f"{where} {self.key}" if where else self.key
        return f"{self.file}: {where}" if where else self.file

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


class TopologyError(ValueError):
    """A topology that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[TopologyProblem]) -> None:
        self.problems: tuple[TopologyProblem, ...] = tuple(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "no detail"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"invalid topology: {first}{more}")
