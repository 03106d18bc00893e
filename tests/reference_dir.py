"""Where Asterisk's reference data is: ``$ARI_REFERENCE_DIR`` when set (to check against
another recording), else the copies kept in the repository, so that the conformance tests
always run and fail when the client or the emulator drifts: ``tests/ari-reference/``
(Asterisk master) and ``tests/ari-reference/asterisk-22/`` (Asterisk 22, Debian)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ARI_REFERENCE_DIR"
VENDORED = Path(__file__).resolve().parent / "ari-reference"
ASTERISK_22 = VENDORED / "asterisk-22"


def _checked(path: Path, configured: str) -> Path:
    if not (path / "api-docs").is_dir() or not (path / "traces").is_dir():
        raise RuntimeError(
            f"{ENV_VAR}={configured} has no api-docs/ and traces/ directories; "
            "point it at an ari-reference directory or unset it"
        )
    return path


def reference_dirs() -> list[Path]:
    """Every recording the tests check against, each with api-docs/ and traces/."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return [_checked(Path(configured), configured)]
    return [VENDORED, ASTERISK_22]


def reference_dir() -> Path:
    """The first recording (the master one unless ``$ARI_REFERENCE_DIR`` says otherwise)."""
    return reference_dirs()[0]


def recording_name(base: Path) -> str:
    """A short name for a recording, for test ids: ``master``, ``asterisk-22``."""
    return "master" if base == VENDORED else base.name
