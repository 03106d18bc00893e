"""``ari-app topology check``: both examples pass; each kind of problem is named with its place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ari_app.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "ari_app" / "examples"

VALID = """
[policy]
default_unit = "sdis77"
backup_unit = "sdis91"
last_resort_after = 120

[announcements]
welcome = "sound:welcome"
reminder = "sound:reminder"
reminder_every = 30
music_on_hold = "default"

[centres.sdis77]
name = "CTA 77"
department = "77"
positions = ["PJSIP/sdis77-op1", "PJSIP/sdis77-op2"]
max_queue = 5
max_wait = 30
reserve = 1
overflow_cap = 2
neighbours = ["sdis91"]

[centres.sdis91]
name = "CTA 91"
department = "91"
positions = ["PJSIP/sdis91-op1", { id = "sdis91-op2", endpoint = "PJSIP/sdis91-op2" }]
max_queue = 5
max_wait = 30
reserve = 0
overflow_cap = 2
neighbours = ["sdis77"]
"""


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, list[str]]:
    path = tmp_path / "topology.toml"
    path.write_text(text, encoding="utf-8")
    status = main(["topology", "check", str(path)])
    err = capsys.readouterr().err
    lines = [line.replace(f"{path}", "topology.toml") for line in err.splitlines()]
    return status, lines


def _only_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    status, lines = _check(tmp_path, capsys, text)
    assert status == 1
    assert lines[-1] == "topology.toml: 1 problem; the topology was not accepted."
    assert len(lines) == 2, lines
    return lines[0]


@pytest.mark.parametrize("name", ["sdis77.toml", "national.toml"])
def test_shipped_examples_are_valid(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", "check", str(EXAMPLES / name)]) == 0
    out = capsys.readouterr().out
    assert "valid topology" in out


def test_valid_file_prints_a_short_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(VALID, encoding="utf-8")
    assert main(["topology", "check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  2 centres, 4 positions, 0 virtual CTAs (0 active)."


def test_syntax_error_gives_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace('name = "CTA 77"', 'name = "CTA 77')
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml:14:15: TOML syntax error: Illegal character '\\n'."
    )


def test_missing_file_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topology", "check", str(tmp_path / "absent.toml")]) == 1
    err = capsys.readouterr().err
    assert "absent.toml: cannot read: there is no such file." in err


def test_directory_is_reported_as_unreadable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topology", "check", str(tmp_path)]) == 1
    assert "this is a directory" in capsys.readouterr().err


def test_file_that_is_not_text_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["topology", "check", str(path)]) == 1
    assert "not UTF-8 text" in capsys.readouterr().err


def test_unknown_neighbour_is_named_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace('neighbours = ["sdis91"]', 'neighbours = ["sdis91", "sdis99"]')
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis77] neighbours[1]: the neighbour 'sdis99' is not a centre "
        "of this topology."
    )


def test_unknown_virtual_cta_member_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID + '\n[virtual_ctas.pool]\nname = "Pool"\nmembers = ["sdis77", "sdis12"]\n'
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [virtual_ctas.pool] members[1]: the member 'sdis12' is not a centre of "
        "this topology."
    )


def test_position_in_two_centres_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace(
        '{ id = "sdis91-op2", endpoint = "PJSIP/sdis91-op2" }',
        '{ id = "sdis77-op2", endpoint = "PJSIP/sdis91-op2" }',
    )
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis91] positions[1]: position sdis77-op2 is already a position "
        "of sdis77: a position belongs to one centre."
    )


def test_endpoint_used_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace(
        '{ id = "sdis91-op2", endpoint = "PJSIP/sdis91-op2" }',
        '{ id = "sdis91-op2", endpoint = "PJSIP/sdis77-op1" }',
    )
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis91] positions[1]: endpoint PJSIP/sdis77-op1 is already used "
        "by position sdis77-op1 of sdis77: an endpoint rings one position."
    )


def test_diversion_loop_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        VALID
        + '\n[centres.sdis77.modes]\ndiverted_to = "sdis91"\n'
        + '\n[centres.sdis91.modes]\ndiverted_to = "sdis77"\n'
    )
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis91.modes] diverted_to: diversions make a loop: "
        "sdis77 -> sdis91 -> sdis77; calls would never reach an operator."
    )


def test_diversion_to_an_unknown_centre_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID + '\n[centres.sdis77.modes]\ndiverted_to = "sdis45"\n'
    assert "[centres.sdis77.modes] diverted_to: 'sdis45' is not a centre" in _only_problem(
        tmp_path, capsys, text
    )


def test_limit_out_of_range_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace(
        "max_queue = 5\nmax_wait = 30\nreserve = 1", "max_queue = 0\nmax_wait = 30\nreserve = 1"
    )
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis77] max_queue: max_queue must be between 1 and 10000 calls, "
        "not 0."
    )


def test_reserve_as_large_as_the_centre_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace("reserve = 1", "reserve = 2")
    assert "reserve must be between 0 and 1 (the centre has 2 positions), not 2" in (
        _only_problem(tmp_path, capsys, text)
    )


def test_missing_default_unit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace('default_unit = "sdis77"\n', "")
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [policy] default_unit: default_unit is missing."
    )


def test_unknown_default_unit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace('default_unit = "sdis77"', 'default_unit = "cta-nowhere"')
    assert "[policy] default_unit: default_unit 'cta-nowhere' is not a centre" in (
        _only_problem(tmp_path, capsys, text)
    )


def test_misspelt_key_gets_a_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace(
        'overflow_cap = 2\nneighbours = ["sdis91"]', 'overflow_cap = 2\nneighbors = ["sdis91"]'
    )
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis77] neighbors: unknown key 'neighbors'. Did you mean "
        "neighbours?"
    )


def test_value_of_the_wrong_type_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace("max_wait = 30\nreserve = 1", 'max_wait = "thirty"\nreserve = 1')
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [centres.sdis77] max_wait: max_wait must be a number of seconds, not text."
    )


def test_routing_key_claimed_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace('department = "91"', 'department = "91"\nrouting_keys = ["77"]')
    assert "the routing key '77' already belongs to sdis77" in _only_problem(tmp_path, capsys, text)


def test_every_problem_is_listed_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.replace("max_queue = 5", "max_queue = 0").replace(
        'backup_unit = "sdis91"', 'backup_unit = "nowhere"'
    )
    status, lines = _check(tmp_path, capsys, text)
    assert status == 1
    assert len(lines) == 4  # two max_queue, one backup_unit, one summary line


def test_bad_file_gives_a_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[policy]\ndefault_unit = \n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ari_app", "topology", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{path}:2:16: TOML syntax error: Invalid value." in done.stderr


@pytest.mark.parametrize(("written", "shown"), [("5.5", "5.5"), ("1e9", "1000000000.0")])
def test_decimal_where_a_whole_number_is_needed_is_shown_with_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, shown: str
) -> None:
    text = VALID.replace("max_queue = 5\nmax_wait = 30\nreserve = 1", f"max_queue = {written}\n"
                         "max_wait = 30\nreserve = 1")  # fmt: skip
    assert _only_problem(tmp_path, capsys, text) == (
        f"topology.toml: [centres.sdis77] max_queue: max_queue must be a whole number, not "
        f"{shown}: write it without a decimal point or an exponent (such as 8)."
    )


def test_virtual_cta_named_like_a_centre_is_one_problem_not_one_per_neighbour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # sdis77 is every other centre's neighbour: each used to be told it lists a virtual CTA.
    text = VALID + '\n[virtual_ctas.sdis77]\nname = "Pool"\nmembers = ["sdis77", "sdis91"]\n'
    assert _only_problem(tmp_path, capsys, text) == (
        "topology.toml: [virtual_ctas] sdis77: sdis77 is already the id of a centre; a unit id "
        "names one thing."
    )
