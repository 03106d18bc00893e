"""``ari_app.stasis`` could be published alone: it imports nothing else of ``ari_app``."""

from __future__ import annotations

import ast
from pathlib import Path

import ari_app.stasis

PACKAGE_DIR = Path(ari_app.stasis.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_stasis_imports_nothing_else_of_the_application() -> None:
    modules = sorted(PACKAGE_DIR.glob("*.py"))
    assert len(modules) >= 8
    outside = {
        f"{path.name}: {name}"
        for path in modules
        for name in imported_modules(path)
        if name.startswith("ari_app") and not name.startswith("ari_app.stasis")
    }
    assert outside == set()
