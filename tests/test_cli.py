"""The ``ari-app`` entry point and its settings."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ari_app.cli import build_parser, main
from ari_app.settings import load_settings
from ari_app.vcta import load_topology


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


def test_misspelt_variable_is_named_with_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARI_APP_LOGLEVEL", "DEBUG")
    monkeypatch.setenv("ARI_APP_TEST_DSN", "postgresql://127.0.0.1/x")  # the tests', not a typo
    assert main(["settings"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "ari-app: warning: ARI_APP_LOGLEVEL is not a setting of ari-app and is ignored: did "
        "you mean ARI_APP_LOG_LEVEL?"
    ]


def test_invalid_log_level_lists_the_levels_not_a_pattern(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARI_APP_LOG_LEVEL", "verbose")
    assert main(["settings"]) == 2
    assert capsys.readouterr().err.strip() == (
        "ari-app: invalid setting ARI_APP_LOG_LEVEL: Input should be 'DEBUG', 'INFO', "
        "'WARNING' or 'ERROR'"
    )


def test_module_entry_point_prints_help_without_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ari_app"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "commands" in done.stdout


def test_the_default_topology_is_the_packaged_example_wherever_the_command_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ARI_APP_TOPOLOGY_PATH", raising=False)
    monkeypatch.chdir(tmp_path)  # not the repository: a relative default would not be found
    path = load_settings().topology_path
    assert path.is_absolute()
    assert "sdis77-op1" in load_topology(path).position_by_id  # readable: the example


def test_readme_officer_commands_run_as_pasted() -> None:
    """Every ``ari-app`` line of README's officers' block parses (none is two commands)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("ari-app status ", 1)[1].split("```", 1)[0]
    lines = ["ari-app status " + block.splitlines()[0], *block.splitlines()[1:]]
    parser = build_parser()
    for line in lines:
        command = shlex.split(line.split("#", 1)[0])
        if not command:
            continue
        assert command[0] == "ari-app", line
        parser.parse_args(command[1:])


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


def test_every_command_says_what_it_does_and_every_argument_has_help() -> None:
    missing = []
    for path, parser in _commands(build_parser())[1:]:
        if not parser.description:
            missing.append(f"ari-app {' '.join(path)}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not action.help:
                missing.append(f"ari-app {' '.join(path)} {action.dest}: no help")
    assert not missing, "\n".join(missing)


def test_log_level_options_list_their_choices() -> None:
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if "--log-level" in action.option_strings:
                assert action.choices is not None, f"ari-app {' '.join(path)} --log-level"
