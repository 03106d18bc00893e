"""Scenario files: the examples read, and every mistake is one sentence naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.cli import main
from ari_app.simulate import ScenarioError, read_scenario
from ari_app.simulate.distributions import parse_distribution
from tests.simulate.helpers import SCENARIOS


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_scenario_reads(path: Path) -> None:
    scenario = read_scenario(path)
    assert scenario.expected_calls() > 0


def test_the_storm_scenarios_surge_seine_et_marne_five_and_ten_times_for_two_hours() -> None:
    for name, factor in (("storm-77.toml", 5), ("storm-77-x10.toml", 10)):
        scenario = read_scenario(SCENARIOS / name)
        (surge,) = scenario.surges
        assert (surge.centre, surge.factor, surge.end - surge.start) == ("sdis77", factor, 7200)
        assert scenario.surged == ("sdis77",)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


_TOPOLOGY = f'topology = "{SCENARIOS.parent / "sdis77.toml"}"\nduration = 3600\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("duration = [", "not valid TOML"),
        ("duration = 10\n", "topology is missing: give it as a string"),
        (_TOPOLOGY + '[[surges]]\ncentre = "sdis99"\nfactor = 5\nstart = 0\nend = 10\n',
         "[surges][0] centre: 'sdis99' is not a centre of the topology"),
        (_TOPOLOGY + '[operators]\nhandling = { distribution = "lognormal", mean = 90 }\n',
         "[operators] handling: a lognormal distribution needs sd as a number"),
        (_TOPOLOGY + '[operators]\nhandling = { distribution = "gamma", mean = 90 }\n',
         "[operators] handling: distribution must be one of constant, exponential"),
        (_TOPOLOGY + '[callers]\npatience = { distribution = "exponential", mean = -3 }\n',
         "[callers] patience: mean must be more than 0 seconds, not -3"),
        (_TOPOLOGY + "[callers]\ncallback_share = 1.5\n",
         "[callers] callback_share is a share from 0 to 1"),
        (_TOPOLOGY + "warmup = 7200\n", "warmup must be shorter than duration"),
        (_TOPOLOGY + "replicatoins = 3\n", "replicatoins is not a key this scenario format"),
        ('topology = "nowhere.toml"\nduration = 10\n', "cannot read: there is no such file"),
        (_TOPOLOGY + '[policy]\nmutual_aid = "sometimes"\n', "[policy] mutual_aid must be one of"),
        (_TOPOLOGY + '[[changes]]\nat = 5\nchange = "diversion"\ncentre = "sdis91"\nto = "x"\n',
         "[changes][0] to: 'x' is not a centre"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_sentence_naming_the_file_and_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as raised:
        read_scenario(path)
    message = str(raised.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_the_command_reports_a_bad_scenario_in_one_line_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _TOPOLOGY + "[load]\nutilisation = 'half'\n")
    assert main(["simulate", str(path), "--no-plots"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ari-app simulate: {path}: [load] utilisation must be a number, not 'half'"


def test_a_missing_scenario_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "no/such/scenario.toml"]) == 2
    assert "no/such/scenario.toml: there is no such scenario file" in capsys.readouterr().err


def test_a_constant_distribution_may_be_zero_but_a_mean_may_not() -> None:
    assert parse_distribution({"distribution": "constant", "value": 0}, "x").mean == 0
    with pytest.raises(ScenarioError, match="x: mean must be more than 0"):
        parse_distribution({"distribution": "exponential", "mean": 0}, "x")
