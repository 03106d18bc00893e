"""The reference traces (see tests/reference_dir.py for where they are)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.reference_dir import reference_dir

TRACE_LETTERS = "abcdefghijklmn"


def trace_path(letter: str, base: Path | None = None) -> Path:
    base = base or reference_dir()
    matches = sorted((base / "traces").glob(f"{letter}-*.jsonl"))
    if not matches:
        raise FileNotFoundError(f"no trace {letter}-*.jsonl in {base / 'traces'}")
    return matches[0]


def load_trace(letter: str, base: Path | None = None) -> list[dict[str, Any]]:
    with trace_path(letter, base).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
