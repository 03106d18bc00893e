"""Every operation of the ARI Swagger specs has a route in the emulator (implemented or 501)."""

from __future__ import annotations

import json

from tests.reference_dir import reference_dir
from tests.sim.lab import lab_emulator


def spec_operations() -> list[tuple[str, str]]:
    base = reference_dir()
    operations = []
    for path in sorted((base / "api-docs").glob("*.json")):
        spec = json.loads(path.read_text())
        for api in spec.get("apis", []):
            for operation in api.get("operations", []):
                operations.append((operation["httpMethod"], api["path"]))
    return operations


def test_every_operation_of_the_specs_is_routed() -> None:
    router = lab_emulator()._ari.router
    missing = []
    for method, path in spec_operations():
        segments = [s if not s.startswith("{") else "x" for s in path.strip("/").split("/")]
        node, _ = router.resolve(segments)
        if node is None or method not in node.methods:
            missing.append(f"{method} {path}")
    assert missing == []
    assert len(spec_operations()) > 90
