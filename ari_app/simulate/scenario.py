"""A simulation scenario: which topology, how long, how many callers, surges, duty-officer
changes, callers' and operators' behaviour, and the mutual-aid rules in force.

Read from TOML (``examples/scenarios/*.toml``; the format is in docs/simulator.md). Every
mistake is reported as one ``ScenarioError`` sentence naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ari_app.simulate.distributions import (
    NEVER,
    Distribution,
    constant,
    lognormal,
    parse_distribution,
)
from ari_app.simulate.errors import ScenarioError
from ari_app.simulate.policies import POLICIES
from ari_app.vcta import (
    ModeChange,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    Topology,
    TopologyError,
    load_topology,
)


@dataclass(frozen=True, slots=True)
class Surge:
    """Calls of ``centre`` arrive ``factor`` times as fast between ``start`` and ``end``."""

    centre: str
    factor: float
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class TimedChange:
    """A duty officer's change applied at ``at`` seconds into the run."""

    at: float
    change: ModeChange


@dataclass(frozen=True, slots=True)
class Callers:
    """How callers behave: how long they wait before hanging up, and whether they call back."""

    patience: Distribution = field(default_factory=lambda: lognormal(120.0, 90.0))
    callback_share: float = 0.3
    callback_delay: Distribution = field(default_factory=lambda: lognormal(60.0, 40.0))


@dataclass(frozen=True, slots=True)
class Operators:
    """How operators work: ringing before they pick up, talk, paperwork, missed rings."""

    answer_delay: Distribution = field(default_factory=lambda: lognormal(3.0, 1.5))
    handling: Distribution = field(default_factory=lambda: lognormal(90.0, 45.0))
    wrap_up: Distribution = field(default_factory=lambda: constant(10.0))
    no_answer_share: float = 0.02
    ring_timeout: float = 20.0

    @property
    def work_mean(self) -> float:
        """Mean time a position gives one answered call: ringing, talk and paperwork."""
        return self.answer_delay.mean + self.handling.mean + self.wrap_up.mean


@dataclass(frozen=True)
class Scenario:
    """Everything one simulated run needs; times in seconds from the start of the run.

    Calls arriving in ``[warmup, duration)`` are counted; arrivals stop at ``duration`` and
    the calls still in progress are played to their end.
    """

    name: str
    topology: Topology
    topology_path: Path
    duration: float
    warmup: float
    replications: int
    seed: int
    calls_per_hour: Mapping[str, float]
    start_hour: float = 0.0
    profile: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    surges: tuple[Surge, ...] = ()
    changes: tuple[TimedChange, ...] = ()
    callers: Callers = field(default_factory=Callers)
    operators: Operators = field(default_factory=Operators)
    policy: str = "spare_helpers"
    tick: float = 1.0

    @property
    def surged(self) -> tuple[str, ...]:
        """Centres whose load the scenario raises, in topology order."""
        ids = {s.centre for s in self.surges if s.factor > 1}
        return tuple(c.id for c in self.topology.centres if c.id in ids)

    def without_surges(self) -> Scenario:
        return replace(self, surges=())

    def expected_calls(self) -> float:
        """Expected number of first calls (call-backs aside) arriving during the run."""
        total = 0.0
        for centre, rate in self.calls_per_hour.items():
            total += rate * self.profile_hours(0.0, self.duration)
            for surge in self.surges:
                if surge.centre == centre:
                    start, end = max(0.0, surge.start), min(self.duration, surge.end)
                    if end > start:
                        total += rate * (surge.factor - 1) * self.profile_hours(start, end)
        return total

    def profile_factor(self, t: float) -> float:
        """The time-of-day factor at ``t`` seconds into the run."""
        hour = (self.start_hour + t / 3600.0) % 24.0
        factor = self.profile[0][1]
        for start, value in self.profile:
            if hour >= start:
                factor = value
        return factor

    def profile_hours(self, start: float, end: float) -> float:
        """Integral of the profile factor over ``[start, end)``, in hours."""
        total = 0.0
        t = start
        while t < end:
            step = min(end, _next_profile_change(self, t)) - t
            total += self.profile_factor(t) * step / 3600.0
            t += step
        return total


def _next_profile_change(scenario: Scenario, t: float) -> float:
    """The first time after ``t`` where the profile factor may change (an hour boundary)."""
    hour = scenario.start_hour + t / 3600.0
    return (math.floor(hour + 1e-9) + 1 - scenario.start_hour) * 3600.0


POLICY_NAMES = tuple(POLICIES)


def read_scenario(path: str | Path) -> Scenario:
    """The scenario in the TOML file ``path``; raises ``ScenarioError`` on any mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: there is no such scenario file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: the scenario file cannot be read ({error})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML ({error})") from None
    return parse_scenario(raw, path)


class _Table:
    """Typed reads from one TOML table, with errors that say ``file: [table] key: ...``."""

    def __init__(self, raw: Any, file: Path, name: str) -> None:
        if not isinstance(raw, Mapping):
            raise ScenarioError(f"{file}: [{name}] must be a table")
        self.raw = raw
        self.file = file
        self.name = name
        self.used: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.file}: [{self.name}] {key}" if self.name else f"{self.file}: {key}"

    def number(self, key: str, default: float | None = None, *, minimum: float = 0.0) -> float:
        self.used.add(key)
        value = self.raw.get(key, default)
        if value is None:
            raise ScenarioError(f"{self.where(key)} is missing: give a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{self.where(key)} must be a number, not {value!r}")
        if not math.isfinite(value) or value < minimum:
            raise ScenarioError(f"{self.where(key)} must be at least {minimum:g}, not {value!r}")
        return float(value)

    def share(self, key: str, default: float) -> float:
        value = self.number(key, default)
        if value > 1:
            raise ScenarioError(f"{self.where(key)} is a share from 0 to 1, not {value!r}")
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        self.used.add(key)
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ScenarioError(
                f"{self.where(key)} must be a whole number of at least {minimum}, not {value!r}"
            )
        return value

    def text(self, key: str, default: str | None = None) -> str:
        self.used.add(key)
        value = self.raw.get(key, default)
        if value is None:
            raise ScenarioError(f"{self.where(key)} is missing: give it as a string")
        if not isinstance(value, str) or not value:
            raise ScenarioError(f"{self.where(key)} must be a non-empty string, not {value!r}")
        return value

    def distribution(self, key: str, default: Distribution) -> Distribution:
        self.used.add(key)
        if key not in self.raw:
            return default
        return parse_distribution(self.raw[key], self.where(key))

    def sub(self, key: str) -> _Table:
        self.used.add(key)
        name = f"{self.name}.{key}" if self.name else key
        return _Table(self.raw.get(key, {}), self.file, name)

    def tables(self, key: str) -> list[_Table]:
        self.used.add(key)
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise ScenarioError(f"{self.where(key)} must be an array of tables ([[{key}]])")
        return [_Table(item, self.file, f"{key}][{index}") for index, item in enumerate(value)]

    def finish(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise ScenarioError(f"{self.where(unknown[0])} is not a key this scenario format knows")


def parse_scenario(raw: Mapping[str, Any], path: Path) -> Scenario:
    """The scenario a parsed TOML document describes (``path`` locates the topology)."""
    top = _Table(raw, path, "")
    name = top.text("name", path.stem)
    topology_path = (path.parent / top.text("topology")).resolve()
    try:
        topology = load_topology(topology_path)
    except TopologyError as error:
        raise ScenarioError(f"{top.where('topology')}: {error}") from None
    duration = top.number("duration", minimum=1.0)
    warmup = top.number("warmup", 0.0)
    if warmup >= duration:
        raise ScenarioError(f"{top.where('warmup')} must be shorter than duration ({duration:g})")
    replications = top.integer("replications", 10, minimum=2)
    seed = top.integer("seed", 1)
    start_hour = top.number("start_hour", 0.0)
    if start_hour >= 24:
        raise ScenarioError(f"{top.where('start_hour')} must be an hour from 0 to 24")
    tick = top.number("policy_interval", 1.0, minimum=0.01)

    callers_table = top.sub("callers")
    callers = Callers(
        patience=callers_table.distribution("patience", Callers().patience),
        callback_share=callers_table.share("callback_share", Callers().callback_share),
        callback_delay=callers_table.distribution("callback_delay", Callers().callback_delay),
    )
    callers_table.finish()
    ops = top.sub("operators")
    base = Operators()
    operators = Operators(
        answer_delay=ops.distribution("answer_delay", base.answer_delay),
        handling=ops.distribution("handling", base.handling),
        wrap_up=ops.distribution("wrap_up", base.wrap_up),
        no_answer_share=ops.share("no_answer_share", base.no_answer_share),
        ring_timeout=ops.number("ring_timeout", base.ring_timeout, minimum=1.0),
    )
    ops.finish()
    for key, dist in (("handling", operators.handling), ("answer_delay", operators.answer_delay)):
        if dist is NEVER:
            raise ScenarioError(f"{ops.where(key)} cannot be 'never': every call ends")

    load = top.sub("load")
    calls_per_hour, profile = _load(load, topology, operators)
    load.finish()

    surges = tuple(_surge(t, topology) for t in top.tables("surges"))
    changes = tuple(_change(t, topology) for t in top.tables("changes"))
    policy_table = top.sub("policy")
    policy = policy_table.text("mutual_aid", "spare_helpers")
    if policy not in POLICIES:
        raise ScenarioError(
            f"{policy_table.where('mutual_aid')} must be one of {', '.join(POLICIES)}, "
            f"not {policy!r}"
        )
    policy_table.finish()
    top.finish()
    return Scenario(
        name=name,
        topology=topology,
        topology_path=topology_path,
        duration=duration,
        warmup=warmup,
        replications=replications,
        seed=seed,
        calls_per_hour=calls_per_hour,
        start_hour=start_hour,
        profile=profile,
        surges=surges,
        changes=tuple(sorted(changes, key=lambda c: c.at)),
        callers=callers,
        operators=operators,
        policy=policy,
        tick=tick,
    )


def _centre(table: _Table, key: str, topology: Topology) -> str:
    centre = table.text(key)
    if centre not in topology.centre_by_id:
        known = ", ".join(c.id for c in topology.centres[:8])
        more = ", ..." if len(topology.centres) > 8 else ""
        raise ScenarioError(
            f"{table.where(key)}: {centre!r} is not a centre of the topology (known: {known}{more})"
        )
    return centre


def _load(
    table: _Table, topology: Topology, operators: Operators
) -> tuple[dict[str, float], tuple[tuple[float, float], ...]]:
    """Calls per hour per centre (at profile factor 1) and the time-of-day profile.

    Either ``utilisation`` (offered load per position), or ``offered_erlangs`` (the national
    offered load, shared in proportion to positions), then ``calls_per_hour`` per centre to
    override; centres without a department (the national backup) have no callers of their own.
    """
    with_callers = [c for c in topology.centres if c.department is not None]
    positions = sum(len(c.positions) for c in with_callers) or 1
    work = operators.work_mean
    if "offered_erlangs" in table.raw:
        erlangs = table.number("offered_erlangs")
        per_position = erlangs / positions
    else:
        per_position = table.number("utilisation", 0.5)
    rates = {c.id: per_position * len(c.positions) * 3600.0 / work for c in with_callers}
    overrides = table.sub("calls_per_hour")
    for centre in list(overrides.raw):
        _centre(overrides, centre, topology)
        rates[centre] = overrides.number(centre)
    overrides.finish()
    table.used.add("profile")
    raw_profile = table.raw.get("profile", [[0, 1.0]])
    profile: list[tuple[float, float]] = []
    if not isinstance(raw_profile, list) or not raw_profile:
        raise ScenarioError(f"{table.where('profile')} must be a list of [hour, factor] pairs")
    for index, item in enumerate(raw_profile):
        ok = (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)
            and 0 <= item[0] < 24
            and item[1] >= 0
        )
        if not ok:
            raise ScenarioError(
                f"{table.where(f'profile[{index}]')} must be [hour from 0 to 24, factor >= 0], "
                f"not {item!r}"
            )
        profile.append((float(item[0]), float(item[1])))
    if [h for h, _ in profile] != sorted(h for h, _ in profile) or profile[0][0] != 0:
        raise ScenarioError(f"{table.where('profile')} must start at hour 0, hours rising")
    return rates, tuple(profile)


def _surge(table: _Table, topology: Topology) -> Surge:
    centre = _centre(table, "centre", topology)
    factor = table.number("factor", minimum=1.0)  # a lull is a profile, not a surge
    start = table.number("start")
    end = table.number("end")
    if end <= start:
        raise ScenarioError(f"{table.where('end')} must come after start ({start:g})")
    table.finish()
    return Surge(centre, factor, start, end)


def _change(table: _Table, topology: Topology) -> TimedChange:
    """One of: outgoing_mutual_aid / incoming_mutual_aid (centre, enabled), diversion
    (centre, to; no ``to`` ends it), vcta (vcta, active), pause (position, paused)."""
    at = table.number("at")
    kind = table.text("change")
    change: ModeChange
    if kind in ("outgoing_mutual_aid", "incoming_mutual_aid"):
        centre = _centre(table, "centre", topology)
        enabled = _flag(table, "enabled")
        change = (
            SetOutgoingMutualAid(centre, enabled)
            if kind == "outgoing_mutual_aid"
            else SetIncomingMutualAid(centre, enabled)
        )
    elif kind == "diversion":
        centre = _centre(table, "centre", topology)
        target = _centre(table, "to", topology) if "to" in table.raw else None
        change = SetDiversion(centre, target)
    elif kind == "vcta":
        vcta = table.text("vcta")
        if vcta not in topology.vcta_by_id:
            raise ScenarioError(f"{table.where('vcta')}: {vcta!r} is not a virtual CTA")
        change = SetVctaActive(vcta, _flag(table, "active"))
    elif kind == "pause":
        position = table.text("position")
        if position not in topology.position_by_id:
            raise ScenarioError(f"{table.where('position')}: {position!r} is not a position")
        change = SetPositionPaused(position, _flag(table, "paused"))
    else:
        raise ScenarioError(
            f"{table.where('change')} must be outgoing_mutual_aid, incoming_mutual_aid, "
            f"diversion, vcta or pause, not {kind!r}"
        )
    table.finish()
    return TimedChange(at, change)


def _flag(table: _Table, key: str) -> bool:
    table.used.add(key)
    value = table.raw.get(key)
    if not isinstance(value, bool):
        raise ScenarioError(f"{table.where(key)} must be true or false, not {value!r}")
    return value
