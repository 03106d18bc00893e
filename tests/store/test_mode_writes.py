"""Accepted changes as the store writes them: from records, through the spool, on top of modes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app.store.mode_writes import (
    CentreModesWrite,
    ModeChangeWrite,
    ModeSpool,
    PauseWrite,
    VctaWrite,
    apply_writes,
    mode_change_write,
    write_from_json,
    write_to_json,
)
from ari_app.store.spool import CorruptLine
from ari_app.vcta import (
    CentreModes,
    SetCrisisMessage,
    SetDiversion,
    SetPositionPaused,
    SetVctaActive,
    load_topology,
)
from tests.store.officer import DutyOfficer
from tests.store.topologies import EXAMPLES

TOPOLOGY = load_topology(EXAMPLES / "sdis77.toml")
texts = st.text(min_size=1, max_size=20)
changes = st.one_of(
    st.builds(
        CentreModesWrite,
        texts,
        st.builds(
            CentreModes,
            st.booleans(),
            st.booleans(),
            st.one_of(st.none(), texts),
            st.one_of(st.none(), texts),
        ),
    ),
    st.builds(PauseWrite, texts, st.booleans()),
    st.builds(VctaWrite, texts, st.booleans()),
)
writes = st.builds(
    ModeChangeWrite,
    change_id=texts,
    at=st.floats(min_value=0, max_value=4e9),
    actor=texts,
    reason=st.one_of(st.none(), st.text(max_size=30)),
    change=changes,
)


@settings(max_examples=200)
@given(writes)
def test_every_change_survives_the_spool_format_unchanged(write: ModeChangeWrite) -> None:
    line = write_to_json(write)
    assert "\n" not in line
    assert write_from_json(line) == write


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"v": 2}', "unknown format version"),
        ('{"v": 1, "at": "noon"}', "'at' is not a time"),
        ('{"v": 1, "at": 1, "change_id": "c", "actor": "a"}', "names no centre"),
        ('{"v": 1, "at": 1, "change_id": "c", "actor": "a", "position": "p"}', "'paused'"),
        ('{"v": 1, "at": 1, "actor": "a", "vcta": "v", "active": true}', "'change_id'"),
    ],
)
def test_unreadable_spool_lines_say_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(CorruptLine, match=problem):
        write_from_json(line)


def test_each_kind_of_change_becomes_the_state_it_put_in_force() -> None:
    officer = DutyOfficer(TOPOLOGY, start=1_800_000_000.0)
    divert = officer.change(SetDiversion("sdis77", "sdis91"), reason="evacuation")
    crisis = officer.change(SetCrisisMessage("sdis77", "sound:crisis/flood"), reason="")
    pause = officer.change(SetPositionPaused("sdis91-op1", True))
    vcta = officer.change(SetVctaActive("vcta-89-10", False))

    assert mode_change_write(divert, "c1") == ModeChangeWrite(
        "c1",
        divert.at,
        "officer77",
        "evacuation",
        CentreModesWrite("sdis77", CentreModes(diverted_to="sdis91")),
    )
    # The whole centre's modes, not only the switch changed: replaying it twice is harmless.
    assert mode_change_write(crisis, "c2").change == CentreModesWrite(
        "sdis77", CentreModes(diverted_to="sdis91", crisis_message="sound:crisis/flood")
    )
    assert mode_change_write(crisis, "c2").reason is None
    assert mode_change_write(pause, "c3").change == PauseWrite("sdis91-op1", True)
    assert mode_change_write(vcta, "c4").change == VctaWrite("vcta-89-10", False)


def test_writes_applied_on_top_of_modes_give_the_officers_modes() -> None:
    officer = DutyOfficer(TOPOLOGY, start=1_800_000_000.0)
    records = [
        officer.change(SetDiversion("sdis45", "sdis77")),
        officer.change(SetPositionPaused("sdis77-op1", True)),
        officer.change(SetVctaActive("vcta-89-10", False)),
        officer.change(SetDiversion("sdis45", None)),
    ]
    replayed = apply_writes(
        TOPOLOGY,
        TOPOLOGY.initial_modes(),
        [mode_change_write(r, str(i)) for i, r in enumerate(records)],
    )
    assert replayed == officer.modes


def test_write_the_topology_no_longer_allows_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unknown = ModeChangeWrite("c9", 1.0, "officer", None, PauseWrite("sdis99-op1", True))
    with caplog.at_level(logging.WARNING):
        modes = apply_writes(TOPOLOGY, TOPOLOGY.initial_modes(), [unknown])
    assert modes == TOPOLOGY.initial_modes()
    assert "'sdis99-op1' is not a position" in caplog.records[-1].__dict__["reason"]


def test_spool_gives_changes_back_in_order_and_skips_nothing_it_can_read(
    tmp_path: Path,
) -> None:
    spool = ModeSpool(tmp_path / "modes.spool")
    first = ModeChangeWrite("a", 1.0, "officer", None, VctaWrite("v", True))
    second = ModeChangeWrite("b", 2.0, "officer", "why", PauseWrite("p", False))
    spool.append([first])
    with spool.path.open("a") as file:
        file.write("half a line")  # a crash in the middle of an append
    spool.append([second])
    assert spool.read_all() == [first, second]
    assert not spool.corrupt_path.exists()  # reading for the start leaves the file alone
