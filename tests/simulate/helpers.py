"""Small scenarios for the simulator's tests: short runs on the example topologies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ari_app.simulate import Scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "ari_app" / "examples"
SCENARIOS = EXAMPLES / "scenarios"


def scenario(**overrides: Any) -> Scenario:
    """A one-hour run on the sdis77 topology at half load, changed by ``overrides``."""
    raw: dict[str, Any] = {
        "topology": "sdis77.toml",
        "duration": 3600.0,
        "warmup": 600.0,
        "replications": 3,
        "seed": 5,
        "load": {"utilisation": 0.5},
    }
    raw.update(overrides)
    return parse_scenario(raw, EXAMPLES / "test-scenario.toml")
