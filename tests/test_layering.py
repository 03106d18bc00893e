"""The layers of docs/calls.md and docs/store.md, as a test: which part of ``ari_app`` may
import which, and which libraries the pure parts stay clear of.

``tests/stasis/test_package_boundary.py`` holds ``stasis`` alone; this holds every part.
A new package must be given its row here, which is the point: the arrows are chosen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ari_app

ROOT = Path(ari_app.__file__).parent

# What each part of the application may import of the others. A module of the package root
# (app.py, clock.py ...) is a part of its own name.
MAY_IMPORT: dict[str, set[str]] = {
    "vcta": set(),  # pure policy
    "stasis": set(),  # could be published alone
    "clock": set(),
    "logs": set(),
    "supervision": set(),
    # The crisis simulator drives the very policy functions the product runs, nothing else.
    "simulate": {"vcta"},
    "jsonhttp": set(),  # JSON errors for any aiohttp server (the API's, the emulator's)
    "diagnosis": set(),  # what keeps an instance from working, said once
    "roles": set(),  # an instance's role among those sharing the database
    # Which instance commands Asterisk: the store's lease, kept.
    "leadership": {"roles", "store"},
    # What the API serves while this instance stands by.
    "standby": {"api", "calls", "clock", "store", "vcta"},
    # Glue of the composition root: a topology imported into the store, applied to the calls.
    "topology_reload": {"calls", "diagnosis", "store", "vcta"},
    "media_check": {"stasis"},  # asks Asterisk whether a crisis message's sound exists
    "calls": {"stasis", "vcta", "clock"},
    # The store implements the protocols of calls.ports, and knows the policy's modes.
    "store": {"calls.ports", "vcta"},
    # Known exception: the emulator times itself on the application's Clock (reported).
    "sim": {"clock", "jsonhttp"},
    "settings": {"calls"},
    "api": {"calls", "clock", "diagnosis", "jsonhttp", "roles", "store", "vcta"},
    "demo": {"api", "calls", "clock", "sim", "stasis", "vcta"},
    "app": {
        "api",
        "calls",
        "clock",
        "diagnosis",
        "leadership",
        "media_check",
        "roles",
        "settings",
        "standby",
        "stasis",
        "store",
        "supervision",
        "topology_reload",
        "vcta",
    },
    "cli": {
        "api",
        "app",
        "clock",
        "demo",
        "logs",
        "settings",
        "sim",
        "simulate",
        "store",
        "supervision",
        "vcta",
        "__main__",
    },
    "__main__": {"cli"},
    "__init__": set(),
}

# Libraries a part must not import.
MUST_NOT_IMPORT: dict[str, set[str]] = {
    "vcta": {"asyncio", "psycopg", "psycopg_pool", "aiohttp"},
    "simulate": {"asyncio", "psycopg", "psycopg_pool", "aiohttp"},
    "stasis": {"psycopg", "psycopg_pool"},
    "calls": {"psycopg", "psycopg_pool", "aiohttp"},
    "store": {"aiohttp"},
    "sim": {"psycopg", "psycopg_pool"},
}


def part_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def allowed(name: str, part: str) -> bool:
    inside = name.removeprefix("ari_app.")
    target = inside.split(".")[0]
    if target == part:
        return True
    return any(inside == rule or inside.startswith(rule + ".") for rule in MAY_IMPORT[part])


def test_every_part_of_the_application_has_its_row() -> None:
    parts = {part_of(path) for path in modules()}
    assert parts - MAY_IMPORT.keys() == set()


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_each_part_imports_only_the_parts_drawn_below_it(part: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules()
        if part_of(path) == part
        for name in imports(path)
        if name.startswith("ari_app.") and not allowed(name, part)
    }
    assert wrong == set()


@pytest.mark.parametrize("part", sorted(MUST_NOT_IMPORT))
def test_pure_parts_stay_clear_of_io_libraries(part: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules()
        if part_of(path) == part
        for name in imports(path)
        if name.split(".")[0] in MUST_NOT_IMPORT[part]
    }
    assert wrong == set()


def test_the_rule_catches_a_forbidden_arrow() -> None:
    # The test of the test: store importing the API, or calls the store, is refused.
    assert not allowed("ari_app.api.app", "store")
    assert not allowed("ari_app.cli.store_commands", "store")
    assert not allowed("ari_app.calls.session", "store")
    assert not allowed("ari_app.store.journal", "calls")
    assert not allowed("ari_app.calls", "sim")
    assert allowed("ari_app.calls.ports", "store")


# The call's machine decides and nothing else: it knows neither Asterisk's client nor time.
PURE_MODULES = (
    "calls/machine.py",
    "calls/step.py",
    "calls/arriving.py",
    "calls/holding.py",
    "calls/offering.py",
    "calls/endings.py",
    "calls/inputs.py",
    "calls/commands.py",
    "calls/states.py",
)
PURE_MAY_IMPORT = {
    *(f"ari_app.{module.removesuffix('.py').replace('/', '.')}" for module in PURE_MODULES),
    # names, settings, journal records and the hangup causes' table: data, no action
    "ari_app.calls.config",
    "ari_app.calls.ids",
    "ari_app.calls.journal",
    "ari_app.calls.outcomes",
    "ari_app.vcta",
}


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


MODULES = {module_name(path): path for path in modules()}


def imported_modules(path: Path) -> set[str]:
    """The application's modules ``path`` imports: ``from ari_app.calls import machine``
    is the module ``ari_app.calls.machine``, not the package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            named = submodules & MODULES.keys()
            found |= named or ({node.module} & MODULES.keys())
    return found


@pytest.mark.parametrize("module", PURE_MODULES)
def test_the_call_machine_imports_nothing_that_acts(module: str) -> None:
    path = ROOT / module
    assert imported_modules(path) - PURE_MAY_IMPORT == set()
    libraries = {name.split(".")[0] for name in imports(path)}
    assert libraries & {"asyncio", "aiohttp", "psycopg", "logging"} == set()


# Known exception, reported: the emulator's model, event bus and endpoints refer to each other.
KNOWN_RINGS = {"sim"}


@pytest.mark.parametrize("part", sorted(MAY_IMPORT.keys() - KNOWN_RINGS))
def test_no_two_modules_of_a_part_import_each_other_even_in_a_ring(part: str) -> None:
    # Imports made only for type checking count too: a ring is a knot to untie when reading.
    graph = {
        name: {target for target in imported_modules(path) if part_of(MODULES[target]) == part}
        - {name}
        for name, path in MODULES.items()
        if part_of(path) == part
    }
    rings: set[tuple[str, ...]] = set()

    def visit(name: str, trail: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in trail:
                ring = trail[trail.index(target) :]
                start = ring.index(min(ring))
                rings.add(tuple(ring[start:] + ring[:start]))
            else:
                visit(target, [*trail, target])

    for name in sorted(graph):
        visit(name, [name])
    assert sorted(rings) == []


def test_the_ring_rule_sees_a_ring() -> None:
    # The test of the test: a node imports the resynchronisation, which must not import it
    # back (it knows the node through a protocol); the service imports the node, which knows
    # the service through a protocol.
    node = imported_modules(ROOT / "calls" / "node.py")
    recovery = imported_modules(ROOT / "calls" / "recovery.py")
    service = imported_modules(ROOT / "calls" / "service.py")
    assert "ari_app.calls.recovery" in node
    assert "ari_app.calls.node" not in recovery
    assert "ari_app.calls.node" in service
    assert "ari_app.calls.service" not in node


CALL_CHANGES = {
    "call_arrived",
    "restore_call",
    "call_waiting",
    "offer_made",
    "offer_failed",
    "call_connected",
    "call_ended",
    "move_call",
}
# The policy itself, and the crisis simulator, which drives the policy with calls of its own.
CHANGES_ELSEWHERE = {"vcta", "simulate"}


def test_only_the_call_executor_changes_a_calls_status_in_the_policy() -> None:
    # One owner of a call's status: the machine's commands, carried out by the executor.
    callers = {
        str(path.relative_to(ROOT))
        for path in modules()
        if part_of(path) not in CHANGES_ELSEWHERE
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Attribute) and node.attr in CALL_CHANGES
    }
    assert callers == {"calls/executor.py"}
