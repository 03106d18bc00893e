"""The Asterisk configuration in asterisk/etc matches the example topology and the settings."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from ari_app.calls.config import RECORD_VARIABLE
from ari_app.settings import Settings
from ari_app.vcta import load_topology

ROOT = Path(__file__).resolve().parents[1]
ETC = ROOT / "asterisk" / "etc"
TOPOLOGY = load_topology(ROOT / "ari_app" / "examples" / "sdis77.toml")


def sections(path: Path) -> dict[str, list[str]]:
    """Section name -> its header lines (Asterisk allows the same name several times)."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^\[([^\]]+)\](.*)$", line.strip())
        if match:
            found.setdefault(match.group(1), []).append(match.group(2).strip())
    return found


def test_every_position_of_the_example_has_a_pjsip_endpoint_auth_and_aor() -> None:
    pjsip = sections(ETC / "pjsip.conf")
    for position in TOPOLOGY.position_by_id.values():
        tech, resource = position.endpoint.split("/", 1)
        assert tech == "PJSIP"
        assert sorted(pjsip.get(resource, [])) == [
            "(position-aor)",
            "(position-auth)",
            "(position-endpoint)",
        ], f"{resource} is not fully declared in pjsip.conf"


def test_pjsip_declares_no_position_the_topology_does_not_know() -> None:
    pjsip = sections(ETC / "pjsip.conf")
    declared = {name for name, templates in pjsip.items() if "(position-endpoint)" in templates}
    expected = {p.endpoint.split("/", 1)[1] for p in TOPOLOGY.position_by_id.values()}
    assert declared == expected


def test_carrier_calls_enter_the_application_named_in_the_settings() -> None:
    dialplan = (ETC / "extensions.conf").read_text()
    app = Settings.model_fields["app_name"].default
    assert f"Stasis({app},${{ROUTING_KEY}})" in dialplan


def test_dialplan_has_a_fallback_for_every_centre_ringing_its_positions() -> None:
    dialplan = (ETC / "extensions.conf").read_text()
    for centre in TOPOLOGY.centres:
        block = dialplan.split(f"[fallback-{centre.id}]", 1)
        assert len(block) == 2, f"no fallback context for {centre.id}"
        body = block[1].split("\n[", 1)[0]
        for position in centre.positions:
            assert position.endpoint in body, f"{position.endpoint} not rung by fallback"
        assert "Goto(s,1)" in body, f"fallback of {centre.id} does not keep trying"
        assert "Hangup()" in body.split("(done)", 1)[1]


def test_ari_keeps_a_busy_event_stream_instead_of_dropping_it() -> None:
    ari = configparser.ConfigParser(strict=False, inline_comment_prefixes=(";",))
    ari.read_string((ETC / "ari.conf").read_text())
    assert int(ari["general"]["websocket_write_timeout"]) >= 1000
    assert ari["ari-app"]["type"] == "user"


def test_fallback_rings_positions_only_through_the_free_seat_check() -> None:
    dialplan = (ETC / "extensions.conf").read_text()
    for centre in TOPOLOGY.centres:
        body = dialplan.split(f"[fallback-{centre.id}]", 1)[1].split("\n[", 1)[0]
        assert "Dial(" not in body, f"fallback of {centre.id} dials without checking seats"
        assert "Gosub(fallback-ring,s,1(" in body
    ring = dialplan.split("[fallback-ring]", 1)[1].split("\n[", 1)[0]
    assert '"${DEVICE_STATE(${seat})}" != "NOT_INUSE"' in ring


def test_every_caller_carries_the_hangup_handler_before_entering_the_application() -> None:
    carrier = (ETC / "extensions.conf").read_text().split("[from-carrier]", 1)[1]
    carrier = carrier.split("\n[", 1)[0]
    app = Settings.model_fields["app_name"].default
    assert carrier.index("hangup_handler_push)=vcta-hangup,s,1") < carrier.index(f"Stasis({app},")


def test_the_application_opens_fewer_ari_connections_than_asterisk_accepts() -> None:
    http = (ETC / "http.conf").read_text()
    found = re.search(r"^sessionlimit = (\d+)$", http, re.MULTILINE)
    assert found is not None, "http.conf sets no sessionlimit"
    limit = int(found.group(1))
    # The event websocket and an administrator's requests count against the same limit.
    assert Settings.model_fields["ari_max_connections"].default < min(limit, 100) - 1


def test_every_caller_is_recorded_by_the_dialplan_while_the_application_says_so() -> None:
    dialplan = (ETC / "extensions.conf").read_text()
    carrier = dialplan.split("[from-carrier]", 1)[1].split("\n[", 1)[0]
    app = Settings.model_fields["app_name"].default
    record = carrier.index(f'ExecIf($["${{{RECORD_VARIABLE}}}" != "no"]?MixMonitor(')
    assert record < carrier.index(f"Stasis({app},")
    # Named by the call id, among ARI's stored recordings.
    assert "MixMonitor(${ASTSPOOLDIR}/recording/${UNIQUEID}.wav)" in carrier
    assert re.search(rf"^{RECORD_VARIABLE} = yes$", dialplan, re.MULTILINE)
    assert "require = app_mixmonitor.so" in (ETC / "modules.conf").read_text()
