"""The ``ari-app`` entry point and its settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ari_app.cli import main


def test_settings_command_masks_the_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARI_APP_ARI_PASSWORD", "s3cret-value")
    monkeypatch.setenv("ARI_APP_DATABASE_DSN", "postgresql://u:dbpass@db/x")
    assert main(["settings", "--json"]) == 0
    out = capsys.readouterr().out
    values = json.loads(out)
    assert values["ari_password"] == "**********"
    assert "s3cret-value" not in out
    assert "dbpass" not in out


def test_invalid_setting_stops_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARI_APP_API_PORT", "not-a-port")
    assert main(["settings"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "ARI_APP_API_PORT" in err


def test_module_entry_point_prints_help_without_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ari_app"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "commands" in done.stdout
