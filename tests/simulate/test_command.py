"""``ari-app simulate``: JSON for scripts, a text report, CSV and plots, and staffing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ari_app.cli import main
from ari_app.simulate.progress import ProgressBar
from tests.simulate.helpers import SCENARIOS


def _short_storm(tmp_path: Path) -> Path:
    """storm-77.toml cut to one hour with the storm in its middle, to keep the test quick."""
    text = (SCENARIOS / "storm-77.toml").read_text(encoding="utf-8")
    text = text.replace(
        'topology = "../sdis77.toml"', f'topology = "{SCENARIOS.parent}/sdis77.toml"'
    )
    text = text.replace("duration = 10800", "duration = 3600").replace(
        "warmup = 1800", "warmup = 600"
    )
    text = text.replace("start = 1800\nend = 9000", "start = 900\nend = 2700")
    path = tmp_path / "storm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_json_has_surged_centres_and_paired_differences_with_intervals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = _short_storm(tmp_path)
    status = main(["simulate", str(scenario), "--json", "--replications", "3", "--no-plots"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert report["surged"] == ["sdis77"]
    assert report["replications"] == 3
    figures = report["centres"]["sdis91"]
    for name in (
        "answered_within_10s",
        "answered_within_15s",
        "answered_within_20s",
        "abandon_rate",
        "mean_answer_s",
        "wait_p90_s",
        "overflowed_in",
        "overflowed_out",
        "occupancy",
    ):
        value = figures[name]
        low, high = value["ci95"]
        assert low <= value["mean"] <= high, name
    assert 0 <= figures["answered_within_15s"]["mean"] <= 1
    storm = report["difference"]["sdis77"]["answered_within_15s"]
    assert storm["ci95"][1] < 0  # the storm clearly hurts the stormed department
    assert set(report["difference"]) == set(report["centres"])
    assert any(flow["from"] == "sdis77" for flow in report["flows"])


def test_text_report_csv_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    scenario = _short_storm(tmp_path)
    series = tmp_path / "series.csv"
    plots = tmp_path / "plots"
    argv = ["simulate", str(scenario), "--replications", "2", "--csv", str(series)]
    assert main([*argv, "--plots", str(plots)]) == 0
    out = capsys.readouterr().out
    assert "paired difference" in out
    assert "worst centre not surged" in out
    with series.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    storm_77 = [
        r for r in rows if r["centre"] == "sdis77" and 900 <= float(r["bin_start_s"]) < 2700
    ]
    assert storm_77
    assert all(int(r["calls"]) > 0 for r in storm_77)
    for name in ("service-level.png", "flows.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_policy_comparison_runs_the_four_policies_on_the_same_callers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = _short_storm(tmp_path)
    argv = ["simulate", str(scenario), "--compare-policies", "--json", "--replications", "2"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == ["off", "reserve_only", "spare_helpers", "national_queue"]
    calls = {name: r["centres"]["sdis91"]["calls"]["mean"] for name, r in report.items()}
    assert len(set(calls.values())) == 1  # the same callers under every policy


def test_staffing_sizes_every_centre_and_the_national_platform(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "staffing", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    platform = rows[-1]
    assert platform["centre"] == "national platform"
    assert platform["load_erlangs"] == 2000
    assert 2000 < platform["positions_needed"] < 2100
    assert platform["erlang_c"] >= 0.9
    assert all(r["erlang_c"] >= 0.9 for r in rows)


def test_the_progress_bar_counts_runs_and_ends_its_line() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "simulating")
    bar(1, 4)
    bar(4, 4)
    text = stream.getvalue()
    assert "\rsimulating [" in text
    assert "1/4 runs" in text
    assert "4/4 runs" in text
    assert text.endswith("\n")


def test_a_surge_that_lowers_the_load_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        (SCENARIOS / "storm-77.toml")
        .read_text(encoding="utf-8")
        .replace("factor = 5", "factor = 0.5")
    )
    text = text.replace('"../sdis77.toml"', f'"{SCENARIOS.parent}/sdis77.toml"')
    path = tmp_path / "lull.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[surges][0] factor must be at least 1, not 0.5" in err
