"""The national example: 96 departments, real land borders, symmetric and connected."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from ari_app.vcta import KeyMatch, Topology, load_topology
from bench.make_national import DEPARTMENTS, OUTPUT, land_borders, render

NATIONAL = Path(__file__).resolve().parents[2] / "ari_app" / "examples" / "national.toml"


def _neighbours(topology: Topology) -> dict[str, set[str]]:
    return {
        centre.id: {n for rank in centre.neighbours for n in rank}
        for centre in topology.centres
        if centre.department is not None
    }


def test_file_is_what_the_generator_writes() -> None:
    assert OUTPUT == NATIONAL
    assert NATIONAL.read_text(encoding="utf-8") == render()


def test_there_are_96_metropolitan_departments() -> None:
    assert len(DEPARTMENTS) == 96
    assert "20" not in DEPARTMENTS
    assert {"2A", "2B"} <= set(DEPARTMENTS)


def test_department_borders_are_symmetric() -> None:
    borders = land_borders()
    asymmetric = [(a, b) for a, others in borders.items() for b in others if a not in borders[b]]
    assert asymmetric == []


def test_centre_adjacency_is_symmetric() -> None:
    neighbours = _neighbours(load_topology(NATIONAL))
    asymmetric = [
        (a, b) for a, others in neighbours.items() for b in others if a not in neighbours[b]
    ]
    assert asymmetric == []


def test_centre_adjacency_is_connected() -> None:
    neighbours = _neighbours(load_topology(NATIONAL))
    start = next(iter(neighbours))
    seen = {start}
    todo = deque([start])
    while todo:
        for other in neighbours[todo.popleft()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    assert seen == set(neighbours)


def test_known_borders_are_present() -> None:
    neighbours = _neighbours(load_topology(NATIONAL))
    assert neighbours["sdis77"] == {
        "sdis02", "sdis10", "sdis45", "sdis51", "sdis60", "sdis89", "sdis91", "sdis95", "bspp",
    }  # fmt: skip
    assert neighbours["sdis2a"] == {"sdis2b", "sdis13"}  # Corsica: the deliberate sea link
    assert neighbours["sdis29"] == {"sdis22", "sdis56"}


def test_every_department_routes_to_its_own_centre() -> None:
    topology = load_topology(NATIONAL)
    for code in DEPARTMENTS:
        centre, match = topology.home_centre(f"{code}001")
        assert match is KeyMatch.COMMUNE, code
        assert centre is not None
        expected = "bspp" if code in ("75", "92", "93", "94") else f"sdis{code.lower()}"
        assert centre == expected


def test_positions_are_about_two_thousand() -> None:
    topology = load_topology(NATIONAL)
    assert 1900 <= topology.position_count <= 2100
    sizes = {c.id: len(c.positions) for c in topology.centres}
    assert sizes["sdis59"] > sizes["sdis48"]  # Nord is larger than Lozère
