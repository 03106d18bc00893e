"""Every operation of the ARI Swagger specs has a route in the emulator (implemented or 501)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reference_dir import recording_name, reference_dirs
from tests.sim.lab import lab_emulator


def spec_operations(base: Path) -> list[tuple[str, str]]:
    operations = []
    for path in sorted((base / "api-docs").glob("*.json")):
        spec = json.loads(path.read_text())
        for api in spec.get("apis", []):
            for operation in api.get("operations", []):
                operations.append((operation["httpMethod"], api["path"]))
    return operations


@pytest.mark.parametrize(
    "base", [pytest.param(base, id=recording_name(base)) for base in reference_dirs()]
)
def test_every_operation_of_the_specs_is_routed(base: Path) -> None:
    router = lab_emulator()._ari.router
    missing = []
    for method, path in spec_operations(base):
        segments = [s if not s.startswith("{") else "x" for s in path.strip("/").split("/")]
        node, _ = router.resolve(segments)
        if node is None or method not in node.methods:
            missing.append(f"{method} {path}")
    assert missing == []
    assert len(spec_operations(base)) > 90
