"""Where the reference traces are: ``$ARI_REFERENCE_DIR``, else ``../shared/ari-reference``
next to the repository (for a git worktree, next to its main checkout too)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACE_LETTERS = "abcdefghijklmn"


def _checkout_roots() -> list[Path]:
    roots = [REPO_ROOT]
    dot_git = REPO_ROOT / ".git"
    if dot_git.is_file():
        # A worktree: ".git" names its private git dir, whose "commondir" leads to the main one.
        gitdir = Path(dot_git.read_text().split(":", 1)[1].strip())
        commondir = gitdir / "commondir"
        if commondir.is_file():
            main_git = (gitdir / commondir.read_text().strip()).resolve()
            roots.append(main_git.parent)
    return roots


def reference_dir() -> Path | None:
    explicit = os.environ.get("ARI_REFERENCE_DIR")
    if explicit:
        return Path(explicit)
    for root in _checkout_roots():
        candidate = (root / ".." / "shared" / "ari-reference").resolve()
        if (candidate / "traces").is_dir():
            return candidate
    return None


def trace_path(letter: str) -> Path:
    base = reference_dir()
    if base is None:
        raise FileNotFoundError(
            "the ARI reference traces were not found: set ARI_REFERENCE_DIR or place them in "
            "../shared/ari-reference next to the repository"
        )
    matches = sorted((base / "traces").glob(f"{letter}-*.jsonl"))
    if not matches:
        raise FileNotFoundError(f"no trace {letter}-*.jsonl in {base / 'traces'}")
    return matches[0]


def load_trace(letter: str) -> list[dict[str, Any]]:
    with trace_path(letter).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
