"""scripts/setup says what it does before the silent install, and nothing when all is done."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "setup"


def test_setup_says_it_installs_then_stays_quiet_once_installed(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    # A stand-in interpreter: the script's own steps run, pip's install does not.
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 0\n")
    python.chmod(0o755)
    env = {**os.environ, "ARI_APP_VENV": str(venv)}
    first = subprocess.run(
        [str(SETUP)], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert first.stderr.strip() == f"installing ari-app into {venv}..."
    again = subprocess.run(
        [str(SETUP)], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert (again.stdout, again.stderr) == ("", "")
