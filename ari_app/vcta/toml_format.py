"""Read a topology from TOML text (no file access here), reporting every problem with its place.

The format is described in docs/policy.md ("Topology file"). Parsing checks syntax, tables,
key names and value types; :func:`ari_app.vcta.checks.check_topology` then checks values and
references. ``parse_topology`` does both.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ari_app.vcta.checks import check_topology
from ari_app.vcta.modes import CentreModes
from ari_app.vcta.problems import TopologyError, TopologyProblem
from ari_app.vcta.topology import Announcements, Centre, Position, Topology, VirtualCta

_TOP_KEYS = ("policy", "announcements", "centres", "virtual_ctas")
_POLICY_KEYS = ("default_unit", "backup_unit", "last_resort_after", "skip_failed_position_for")
_ANNOUNCEMENT_KEYS = ("welcome", "reminder", "reminder_every", "music_on_hold")
_CENTRE_KEYS = (
    "name",
    "department",
    "routing_keys",
    "positions",
    "max_queue",
    "max_wait",
    "reserve",
    "overflow_cap",
    "neighbours",
    "announcements",
    "modes",
)
_MODE_KEYS = ("outgoing_mutual_aid", "incoming_mutual_aid", "diverted_to", "crisis_message")
_VCTA_KEYS = (
    "name",
    "members",
    "active",
    "max_queue",
    "max_wait",
    "reserve",
    "overflow_cap",
    "announcements",
)
_POSITION_KEYS = ("id", "endpoint")
_SYNTAX_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_END_OF_DOCUMENT = re.compile(r"\s*\(at end of document\)\s*$")

DEFAULT_SKIP_FAILED_POSITION_FOR = 30.0


@dataclass(frozen=True, slots=True)
class TopologyParse:
    """The result of reading a topology: ``topology`` is None when anything is wrong."""

    topology: Topology | None
    problems: tuple[TopologyProblem, ...]


def parse_topology(text: str, file: str = "<topology>") -> Topology:
    """The topology in ``text``; raises ``TopologyError`` listing every problem."""
    result = read_topology(text, file)
    if result.topology is None:
        raise TopologyError(result.problems)
    return result.topology


def read_topology(text: str, file: str = "<topology>") -> TopologyParse:
    """Read and check the topology in ``text``; ``file`` names it in problems."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return TopologyParse(None, (_syntax_problem(file, error),))
    reader = _Reader(file)
    topology = reader.topology(data)
    problems = list(reader.problems)
    problems.extend(
        check_topology(
            topology, file, skip=reader.broken, shared_announcements=reader.shared_announcements
        )
    )
    if problems:
        return TopologyParse(None, tuple(problems))
    return TopologyParse(topology, ())


def _syntax_problem(file: str, error: tomllib.TOMLDecodeError) -> TopologyProblem:
    message = str(error)
    line: int | None = None
    column: int | None = None
    place = _SYNTAX_PLACE.search(message)
    if place is not None:
        line, column = int(place.group(1)), int(place.group(2))
        message = message[: place.start()]
    else:
        end = _END_OF_DOCUMENT.search(message)
        if end is not None:
            message = message[: end.start()] + " at the end of the file"
    return TopologyProblem(file, "", "", f"TOML syntax error: {message}.", line=line, column=column)


def _kind(value: object) -> str:
    """How a TOML value's type is named in messages."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class _Reader:
    """Turns parsed TOML into dataclasses, noting problems and using stand-ins for bad values so
    that every problem of the file is reported in one go."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[TopologyProblem] = []
        # (table, key) places whose value was unusable or derived: value checks skip them.
        self.broken: set[tuple[str, str]] = set()
        self.shared_announcements: Announcements | None = None

    def problem(self, table: str, key: str, message: str) -> None:
        self.problems.append(TopologyProblem(self.file, table, key, message))

    def bad(self, table: str, key: str, message: str) -> None:
        self.broken.add((table, key))
        self.problem(table, key, message)

    # -- generic readers -------------------------------------------------------------------

    def table(self, parent: Mapping[str, Any], key: str, place: str) -> dict[str, Any] | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.bad(place, key, f"{key} must be a table, not {_kind(value)}.")
            return None
        return value

    def known_keys(self, table: Mapping[str, Any], known: tuple[str, ...], place: str) -> None:
        for key in table:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean {close[0]}?" if close else f" Known keys: {', '.join(known)}."
            self.problem(place, key, f"unknown key {key!r}.{hint}")

    def text(
        self, table: Mapping[str, Any], key: str, place: str, *, required: bool = True
    ) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.bad(place, key, f"{key} is missing.")
            return None
        if not isinstance(value, str):
            self.bad(place, key, f"{key} must be text in quotes, not {_kind(value)}.")
            return None
        return value

    def whole(self, table: Mapping[str, Any], key: str, place: str) -> int | None:
        value = table.get(key)
        if value is None:
            self.bad(place, key, f"{key} is missing.")
            return None
        if isinstance(value, float):
            # "not a number" read as nonsense for 8.5 or 1e9: show the value and the way out.
            self.bad(
                place,
                key,
                f"{key} must be a whole number, not {value!r}: write it without a decimal point "
                "or an exponent (such as 8).",
            )
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(place, key, f"{key} must be a whole number, not {_kind(value)}.")
            return None
        return value

    def seconds(self, table: Mapping[str, Any], key: str, place: str) -> float | None:
        value = table.get(key)
        if value is None:
            self.bad(place, key, f"{key} is missing.")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(place, key, f"{key} must be a number of seconds, not {_kind(value)}.")
            return None
        return float(value)

    def flag(self, table: Mapping[str, Any], key: str, place: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.bad(place, key, f"{key} must be true or false, not {_kind(value)}.")
            return default
        return value

    def text_list(self, table: Mapping[str, Any], key: str, place: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list):
            self.bad(place, key, f"{key} must be a list of texts, not {_kind(value)}.")
            return ()
        items: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, str):
                items.append(item)
            else:
                self.bad(place, f"{key}[{index}]", f"must be text in quotes, not {_kind(item)}.")
        return tuple(items)

    # -- the document ----------------------------------------------------------------------

    def topology(self, data: Mapping[str, Any]) -> Topology:
        self.known_keys(data, _TOP_KEYS, "")
        policy = self.table(data, "policy", "") or {}
        if "policy" not in data:
            self.problem("policy", "", "the [policy] table is missing (default_unit, ...).")
        self.known_keys(policy, _POLICY_KEYS, "policy")
        default_unit = self.text(policy, "default_unit", "policy") or ""
        backup_unit = self.text(policy, "backup_unit", "policy") or ""
        last_resort = self.seconds(policy, "last_resort_after", "policy")
        skip = DEFAULT_SKIP_FAILED_POSITION_FOR
        if "skip_failed_position_for" in policy:
            skip = self.seconds(policy, "skip_failed_position_for", "policy") or skip

        base = self.table(data, "announcements", "") or {}
        if "announcements" not in data:
            self.problem(
                "announcements", "", "the [announcements] table is missing (welcome, ...)."
            )
        defaults = self.announcements(base, "announcements", None)
        self.shared_announcements = defaults

        centres_table = self.table(data, "centres", "") or {}
        if not centres_table:
            self.problem("centres", "", "there is no centre: add a [centres.<id>] table.")
        centres = [
            self.centre(centre_id, value, defaults) for centre_id, value in centres_table.items()
        ]
        vctas_table = self.table(data, "virtual_ctas", "") or {}
        by_id = {c.id: c for c in centres}
        vctas = [
            self.vcta(vcta_id, value, by_id, defaults) for vcta_id, value in vctas_table.items()
        ]
        return Topology(
            centres=tuple(centres),
            virtual_ctas=tuple(vctas),
            default_unit=default_unit,
            backup_unit=backup_unit,
            last_resort_after=last_resort if last_resort is not None else 120.0,
            skip_failed_position_for=skip,
        )

    def announcements(
        self, table: Mapping[str, Any], place: str, inherited: Announcements | None
    ) -> Announcements:
        self.known_keys(table, _ANNOUNCEMENT_KEYS, place)
        required = inherited is None

        def sound(key: str, fallback: str) -> str:
            value = self.text(table, key, place, required=required)
            return value if value is not None else fallback

        every: float | None
        if "reminder_every" in table or required:
            every = self.seconds(table, "reminder_every", place)
        else:
            every = None
        base = inherited or Announcements("sound:beep", "sound:beep", 30.0, "default")
        return Announcements(
            welcome=sound("welcome", base.welcome),
            reminder=sound("reminder", base.reminder),
            reminder_every=every if every is not None else base.reminder_every,
            music_on_hold=sound("music_on_hold", base.music_on_hold),
        )

    def centre(self, centre_id: str, value: object, defaults: Announcements) -> Centre:
        place = f"centres.{centre_id}"
        table: Mapping[str, Any] = value if isinstance(value, dict) else {}
        if not isinstance(value, dict):
            self.bad("centres", centre_id, f"{centre_id} must be a table, not {_kind(value)}.")
        self.known_keys(table, _CENTRE_KEYS, place)
        own = self.table(table, "announcements", place)
        modes_table = self.table(table, "modes", place) or {}
        self.known_keys(modes_table, _MODE_KEYS, f"{place}.modes")
        modes = CentreModes(
            outgoing_mutual_aid=self.flag(
                modes_table, "outgoing_mutual_aid", f"{place}.modes", True
            ),
            incoming_mutual_aid=self.flag(
                modes_table, "incoming_mutual_aid", f"{place}.modes", True
            ),
            diverted_to=self.text(modes_table, "diverted_to", f"{place}.modes", required=False),
            crisis_message=self.text(
                modes_table, "crisis_message", f"{place}.modes", required=False
            ),
        )
        return Centre(
            id=centre_id,
            name=self.text(table, "name", place) or centre_id,
            department=self.text(table, "department", place, required=False),
            routing_keys=self.text_list(table, "routing_keys", place),
            positions=self.positions(table, place, centre_id),
            max_queue=_or(self.whole(table, "max_queue", place), 1),
            max_wait=_or(self.seconds(table, "max_wait", place), 30.0),
            reserve=_or(self.whole(table, "reserve", place), 0),
            overflow_cap=_or(self.whole(table, "overflow_cap", place), 0),
            announcements=(
                self.announcements(own, f"{place}.announcements", defaults)
                if own is not None
                else defaults
            ),
            neighbours=self.neighbours(table, place),
            modes=modes,
        )

    def positions(
        self, table: Mapping[str, Any], place: str, centre_id: str
    ) -> tuple[Position, ...]:
        value = table.get("positions")
        if value is None:
            self.bad(place, "positions", "positions is missing: list the centre's endpoints.")
            return ()
        if not isinstance(value, list):
            self.bad(place, "positions", f"positions must be a list, not {_kind(value)}.")
            return ()
        positions: list[Position] = []
        for index, item in enumerate(value):
            key = f"positions[{index}]"
            if isinstance(item, str):
                resource = item.partition("/")[2]
                positions.append(Position(id=resource or item, endpoint=item, centre=centre_id))
            elif isinstance(item, dict):
                self.known_keys(item, _POSITION_KEYS, f"{place}.{key}")
                position_id = self.text(item, "id", f"{place}.{key}")
                endpoint = self.text(item, "endpoint", f"{place}.{key}")
                if position_id is not None and endpoint is not None:
                    positions.append(Position(position_id, endpoint, centre_id))
            else:
                self.bad(
                    place,
                    key,
                    'a position is an endpoint such as "PJSIP/sdis77-op1" or a table '
                    f"{{ id = ..., endpoint = ... }}, not {_kind(item)}.",
                )
        return tuple(positions)

    def neighbours(self, table: Mapping[str, Any], place: str) -> tuple[tuple[str, ...], ...]:
        value = table.get("neighbours", [])
        if not isinstance(value, list):
            self.bad(place, "neighbours", f"neighbours must be a list, not {_kind(value)}.")
            return ()
        ranks: list[tuple[str, ...]] = []
        for index, item in enumerate(value):
            key = f"neighbours[{index}]"
            if isinstance(item, str):
                ranks.append((item,))
            elif isinstance(item, list) and item and all(isinstance(i, str) for i in item):
                ranks.append(tuple(item))
            else:
                self.bad(
                    place,
                    key,
                    "each neighbour is a centre id, or a list of centre ids of equal rank; "
                    f"got {_kind(item) if not isinstance(item, list) else 'an unusable list'}.",
                )
        return tuple(ranks)

    def vcta(
        self,
        vcta_id: str,
        value: object,
        centres: Mapping[str, Centre],
        defaults: Announcements,
    ) -> VirtualCta:
        place = f"virtual_ctas.{vcta_id}"
        table: Mapping[str, Any] = value if isinstance(value, dict) else {}
        if not isinstance(value, dict):
            self.bad("virtual_ctas", vcta_id, f"{vcta_id} must be a table, not {_kind(value)}.")
        self.known_keys(table, _VCTA_KEYS, place)
        members = self.text_list(table, "members", place)
        known = [centres[m] for m in members if m in centres]
        first_sounds = known[0].announcements if known else defaults
        own = self.table(table, "announcements", place)
        # Limits a pooled unit gets when the file gives none: the members' added up, and the
        # strictest wait.
        max_queue = sum(c.max_queue for c in known) or 1
        max_wait = min((c.max_wait for c in known), default=30.0)
        reserve = sum(c.reserve for c in known)
        cap = sum(c.overflow_cap for c in known)
        for key in ("max_queue", "max_wait", "reserve", "overflow_cap"):
            if key not in table:  # derived from the members: reported there if wrong
                self.broken.add((place, key))
        return VirtualCta(
            id=vcta_id,
            name=self.text(table, "name", place) or vcta_id,
            members=members,
            active=self.flag(table, "active", place, False),
            max_queue=_or(self.whole(table, "max_queue", place), 1)
            if "max_queue" in table
            else max_queue,
            max_wait=_or(self.seconds(table, "max_wait", place), 30.0)
            if "max_wait" in table
            else max_wait,
            reserve=_or(self.whole(table, "reserve", place), 0) if "reserve" in table else reserve,
            overflow_cap=_or(self.whole(table, "overflow_cap", place), 0)
            if "overflow_cap" in table
            else cap,
            announcements=(
                self.announcements(own, f"{place}.announcements", first_sounds)
                if own is not None
                else first_sounds
            ),
        )


_T = TypeVar("_T")


def _or(value: _T | None, fallback: _T) -> _T:
    return fallback if value is None else value
