"""Check a topology's values and references: every problem, each with its place.

Works on the dataclasses, whatever they were read from; places name the TOML tables and keys
(``centres.sdis77`` / ``max_queue``) since that is where a person fixes them.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ari_app.vcta.mode_changes import crisis_message_problem
from ari_app.vcta.problems import TopologyProblem
from ari_app.vcta.topology import Announcements, Centre, Topology, VirtualCta, normalise_routing_key

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
ENDPOINT_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*/[^/\s]+")
DEPARTMENT_PATTERN = re.compile(r"0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6]")
ROUTING_KEY_PATTERN = re.compile(r"[^\s]{1,32}")
SOUND_SCHEMES = ("sound:", "recording:")

# Ranges a duty officer would recognise as sane; outside them a value is surely a typo.
MAX_QUEUE_RANGE = (1, 10_000)
MAX_WAIT_RANGE = (1.0, 3600.0)
OVERFLOW_CAP_RANGE = (0, 10_000)
LAST_RESORT_RANGE = (10.0, 3600.0)
SKIP_RANGE = (1.0, 3600.0)
REMINDER_RANGE = (5.0, 3600.0)


def check_topology(
    topology: Topology,
    file: str = "<topology>",
    skip: Collection[tuple[str, str]] = (),
    shared_announcements: Announcements | None = None,
) -> list[TopologyProblem]:
    """Every problem of ``topology``.

    ``skip`` lists (table, key) places not to check (already reported as unusable, or values the
    file did not give); ``shared_announcements`` are the file's ``[announcements]``, checked
    once there rather than in each unit that uses them.
    """
    checker = _Checker(topology, file, skip)
    if shared_announcements is not None:
        checker.sounds(shared_announcements, "announcements")
    return checker.run()


def _number(value: float) -> str:
    return f"{value:g}"


class _Checker:
    def __init__(self, topology: Topology, file: str, skip: Collection[tuple[str, str]]) -> None:
        self.topology = topology
        self.file = file
        self.skip = skip
        self.problems: list[TopologyProblem] = []
        # Announcements are shared between units; each value is checked where first seen.
        self.sounds_checked: list[Announcements] = []

    def problem(self, table: str, key: str, message: str) -> None:
        if (table, key) not in self.skip:
            self.problems.append(TopologyProblem(self.file, table, key, message))

    def in_range(
        self, table: str, key: str, value: float, low: float, high: float, *, unit: str = ""
    ) -> None:
        if not low <= value <= high:
            self.problem(
                table,
                key,
                f"{key} must be between {_number(low)} and {_number(high)}{unit}, "
                f"not {_number(value)}.",
            )

    def run(self) -> list[TopologyProblem]:
        self.ids()
        self.routing_keys()
        self.positions()
        for centre in self.topology.centres:
            self.centre(centre)
        for vcta in self.topology.virtual_ctas:
            self.vcta(vcta)
        self.policy()
        self.diversions()
        return self.problems

    def ids(self) -> None:
        centres = self.topology.centre_by_id
        for centre in self.topology.centres:
            if ID_PATTERN.fullmatch(centre.id) is None:
                self.problem(
                    "centres",
                    centre.id,
                    f"the centre id {centre.id!r} must be lower-case letters, digits and dashes "
                    "(such as sdis77).",
                )
        for vcta in self.topology.virtual_ctas:
            if ID_PATTERN.fullmatch(vcta.id) is None:
                self.problem(
                    "virtual_ctas",
                    vcta.id,
                    f"the virtual CTA id {vcta.id!r} must be lower-case letters, digits and "
                    "dashes.",
                )
            if vcta.id in centres:
                self.problem(
                    "virtual_ctas",
                    vcta.id,
                    f"{vcta.id} is already the id of a centre; a unit id names one thing.",
                )

    def routing_keys(self) -> None:
        claimed: dict[str, str] = {}
        for centre in self.topology.centres:
            place = f"centres.{centre.id}"
            if centre.department is not None:
                if DEPARTMENT_PATTERN.fullmatch(centre.department) is None:
                    self.problem(
                        place,
                        "department",
                        f"{centre.department!r} is not a French department code "
                        "(01 to 95, 2A, 2B, 971 to 976).",
                    )
                else:
                    self.claim(claimed, centre, centre.department, "department")
            for index, key in enumerate(centre.routing_keys):
                if ROUTING_KEY_PATTERN.fullmatch(key) is None:
                    self.problem(
                        place,
                        f"routing_keys[{index}]",
                        f"the routing key {key!r} must be 1 to 32 characters without spaces.",
                    )
                    continue
                self.claim(claimed, centre, key, f"routing_keys[{index}]")

    def claim(self, claimed: dict[str, str], centre: Centre, key: str, where: str) -> None:
        normal = normalise_routing_key(key)
        owner = claimed.setdefault(normal, centre.id)
        if owner == centre.id:
            return
        self.problem(
            f"centres.{centre.id}",
            where,
            f"the routing key {normal!r} already belongs to {owner} "
            "(a listed key or its department): a key routes to one centre.",
        )

    def positions(self) -> None:
        position_owner: dict[str, str] = {}
        endpoint_owner: dict[str, tuple[str, str]] = {}
        for centre in self.topology.centres:
            place = f"centres.{centre.id}"
            seen_here: set[str] = set()
            for index, position in enumerate(centre.positions):
                key = f"positions[{index}]"
                if ID_PATTERN.fullmatch(position.id) is None:
                    self.problem(
                        place,
                        key,
                        f"the position id {position.id!r} must be lower-case letters, digits "
                        "and dashes (such as sdis77-op1).",
                    )
                if ENDPOINT_PATTERN.fullmatch(position.endpoint) is None:
                    self.problem(
                        place,
                        key,
                        f"{position.endpoint!r} is not an endpoint: write TECHNOLOGY/resource, "
                        "such as PJSIP/sdis77-op1.",
                    )
                owner = position_owner.setdefault(position.id, centre.id)
                if position.id in seen_here:
                    self.problem(place, key, f"position {position.id} is listed twice.")
                elif owner != centre.id:
                    self.problem(
                        place,
                        key,
                        f"position {position.id} is already a position of {owner}: a position "
                        "belongs to one centre.",
                    )
                seen_here.add(position.id)
                first = endpoint_owner.setdefault(position.endpoint, (centre.id, position.id))
                if first != (centre.id, position.id):
                    self.problem(
                        place,
                        key,
                        f"endpoint {position.endpoint} is already used by position {first[1]} "
                        f"of {first[0]}: an endpoint rings one position.",
                    )

    def centre(self, centre: Centre) -> None:
        place = f"centres.{centre.id}"
        count = len(centre.positions)
        if not centre.name.strip():
            self.problem(place, "name", "the name is empty.")
        if count == 0:
            self.problem(place, "positions", f"{centre.id} has no position.")
        self.in_range(place, "max_queue", centre.max_queue, *MAX_QUEUE_RANGE, unit=" calls")
        self.in_range(place, "max_wait", centre.max_wait, *MAX_WAIT_RANGE, unit=" seconds")
        self.in_range(
            place, "overflow_cap", centre.overflow_cap, *OVERFLOW_CAP_RANGE, unit=" calls"
        )
        if count and not 0 <= centre.reserve < count:
            self.problem(
                place,
                "reserve",
                f"reserve must be between 0 and {count - 1} (the centre has {count} positions), "
                f"not {centre.reserve}; to refuse all overflow, set "
                "modes.incoming_mutual_aid = false.",
            )
        elif centre.reserve < 0:
            self.problem(place, "reserve", f"reserve cannot be negative ({centre.reserve}).")
        self.sounds(centre.announcements, f"{place}.announcements")
        self.neighbours(centre)

    def neighbours(self, centre: Centre) -> None:
        place = f"centres.{centre.id}"
        seen: set[str] = set()
        for index, rank in enumerate(centre.neighbours):
            for neighbour in rank:
                key = f"neighbours[{index}]"
                if neighbour == centre.id:
                    self.problem(place, key, f"{centre.id} cannot be its own neighbour.")
                elif (
                    neighbour in self.topology.vcta_by_id
                    and neighbour not in self.topology.centre_by_id
                ):
                    # An id that names both a centre and a virtual CTA is reported once, at
                    # the virtual CTA: the neighbours naming the centre are not wrong.
                    self.problem(
                        place,
                        key,
                        f"{neighbour} is a virtual CTA; list its member centres as neighbours.",
                    )
                elif neighbour not in self.topology.centre_by_id:
                    self.problem(
                        place, key, f"the neighbour {neighbour!r} is not a centre of this topology."
                    )
                elif neighbour in seen:
                    self.problem(place, key, f"the neighbour {neighbour} is listed twice.")
                seen.add(neighbour)

    def vcta(self, vcta: VirtualCta) -> None:
        place = f"virtual_ctas.{vcta.id}"
        centres = self.topology.centre_by_id
        if not vcta.name.strip():
            self.problem(place, "name", "the name is empty.")
        if len(vcta.members) < 2:
            self.problem(place, "members", "a virtual CTA pools at least two centres.")
        seen: set[str] = set()
        for index, member in enumerate(vcta.members):
            key = f"members[{index}]"
            if member not in centres:
                self.problem(place, key, f"the member {member!r} is not a centre of this topology.")
            elif member in seen:
                self.problem(place, key, f"the member {member} is listed twice.")
            seen.add(member)
        if vcta.active:
            for other in self.topology.virtual_ctas:
                if other.id == vcta.id:
                    break
                shared = [m for m in vcta.members if other.active and m in other.members]
                if shared:
                    self.problem(
                        place,
                        "active",
                        f"{', '.join(shared)} would be pooled in two active virtual CTAs "
                        f"({other.id} and {vcta.id}); activate only one of them.",
                    )
        positions = sum(len(centres[m].positions) for m in set(vcta.members) if m in centres)
        self.in_range(place, "max_queue", vcta.max_queue, *MAX_QUEUE_RANGE, unit=" calls")
        self.in_range(place, "max_wait", vcta.max_wait, *MAX_WAIT_RANGE, unit=" seconds")
        self.in_range(place, "overflow_cap", vcta.overflow_cap, *OVERFLOW_CAP_RANGE, unit=" calls")
        if positions and not 0 <= vcta.reserve < positions:
            self.problem(
                place,
                "reserve",
                f"reserve must be between 0 and {positions - 1} (the members have {positions} "
                f"positions), not {vcta.reserve}.",
            )
        self.sounds(vcta.announcements, f"{place}.announcements")

    def sounds(self, sounds: Announcements, place: str) -> None:
        if any(sounds is seen for seen in self.sounds_checked):
            return
        self.sounds_checked.append(sounds)
        for key in ("welcome", "reminder"):
            value: str = getattr(sounds, key)
            if not value.startswith(SOUND_SCHEMES) or value in SOUND_SCHEMES:
                self.problem(
                    place,
                    key,
                    f"{value!r} is not a media Asterisk can play: write sound:NAME "
                    "(such as sound:vcta/welcome) or recording:NAME.",
                )
        self.in_range(
            place, "reminder_every", sounds.reminder_every, *REMINDER_RANGE, unit=" seconds"
        )
        if not sounds.music_on_hold.strip():
            self.problem(place, "music_on_hold", "the music-on-hold class is empty.")

    def policy(self) -> None:
        topology = self.topology
        units = set(topology.centre_by_id) | set(topology.vcta_by_id)
        for key, value, what in (
            ("default_unit", topology.default_unit, "calls with an unknown routing key"),
            ("backup_unit", topology.backup_unit, "calls waiting past last_resort_after"),
        ):
            if value and value not in units:
                self.problem(
                    "policy",
                    key,
                    f"{key} {value!r} is not a centre or virtual CTA of this topology; "
                    f"it must name the unit for {what}.",
                )
            elif not value:
                self.problem("policy", key, f"{key} is missing: name the unit for {what}.")
        self.in_range(
            "policy",
            "last_resort_after",
            topology.last_resort_after,
            *LAST_RESORT_RANGE,
            unit=" seconds",
        )
        self.in_range(
            "policy",
            "skip_failed_position_for",
            topology.skip_failed_position_for,
            *SKIP_RANGE,
            unit=" seconds",
        )

    def diversions(self) -> None:
        topology = self.topology
        centres = topology.centre_by_id
        for centre in topology.centres:
            place = f"centres.{centre.id}.modes"
            target = centre.modes.diverted_to
            if target is not None:
                if target == centre.id:
                    self.problem(place, "diverted_to", f"{centre.id} cannot be diverted to itself.")
                elif target not in centres:
                    self.problem(
                        place,
                        "diverted_to",
                        f"{target!r} is not a centre of this topology (a diversion targets a "
                        "centre).",
                    )
            message = centre.modes.crisis_message
            if message is not None:
                problem = crisis_message_problem(message)
                if problem is not None:
                    self.problem(place, "crisis_message", problem[0].upper() + problem[1:] + ".")
        reported: set[frozenset[str]] = set()
        for centre in topology.centres:
            chain = [centre.id]
            current = centre.id
            while True:
                target = centres[current].modes.diverted_to
                if target is None or target not in centres or target == current:
                    break
                if target in chain:
                    cycle = [*chain[chain.index(target) :], target]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.problem(
                            f"centres.{cycle[-2]}.modes",
                            "diverted_to",
                            f"diversions make a loop: {' -> '.join(cycle)}; calls would never "
                            "reach an operator.",
                        )
                    break
                chain.append(target)
                current = target
