"""Where Asterisk's reference data is: ``$ARI_REFERENCE_DIR`` when set (to check against
another recording), else the copy kept in the repository, ``tests/ari-reference/``, so that
the conformance tests always run and fail when the client or the emulator drifts."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ARI_REFERENCE_DIR"
VENDORED = Path(__file__).resolve().parent / "ari-reference"


def reference_dir() -> Path:
    configured = os.environ.get(ENV_VAR)
    if not configured:
        return VENDORED
    path = Path(configured)
    if not (path / "api-docs").is_dir() or not (path / "traces").is_dir():
        raise RuntimeError(
            f"{ENV_VAR}={configured} has no api-docs/ and traces/ directories; "
            "point it at an ari-reference directory or unset it"
        )
    return path
