"""Routing a new call: routing key -> home centre -> diversions -> unit."""

from __future__ import annotations

from ari_app.vcta import CentreModes, KeyMatch, PolicyState, SetVctaActive, route_call
from ari_app.vcta.mode_changes import change_modes

from .builders import centre, topology, vcta


def _seine_et_marne() -> PolicyState:
    return PolicyState(
        topology(
            centre("sdis77", department="77", routing_keys=["18", "0160000018"]),
            centre("sdis91", department="91"),
            centre("sdis89", department="89"),
            centre("sdis10", department="10"),
            centre("bspp", department="75", routing_keys=["92", "93", "94"]),
            vctas=[vcta("vcta-89-10", ["sdis89", "sdis10"], active=False)],
        )
    )


def test_listed_routing_key_goes_to_its_centre() -> None:
    state = _seine_et_marne()
    decision = route_call(state.topology, state, "0160000018", 0.0)
    assert (decision.home_centre, decision.unit, decision.match) == (
        "sdis77",
        "sdis77",
        KeyMatch.EXACT,
    )
    assert "belongs to sdis77" in decision.reason


def test_department_code_goes_to_the_centre_of_that_department() -> None:
    state = _seine_et_marne()
    assert route_call(state.topology, state, "91", 0.0).unit == "sdis91"


def test_commune_code_goes_to_the_centre_of_its_department() -> None:
    state = _seine_et_marne()
    decision = route_call(state.topology, state, "77288", 0.0)
    assert decision.unit == "sdis77"
    assert decision.match is KeyMatch.COMMUNE
    assert "commune of department 77" in decision.reason


def test_commune_of_a_department_listed_as_a_key_goes_to_that_centre() -> None:
    # Boulogne-Billancourt (92012) is answered by the BSPP, which lists 92 as a routing key.
    state = _seine_et_marne()
    assert route_call(state.topology, state, "92012", 0.0).unit == "bspp"


def test_routing_key_is_compared_without_spaces_or_case() -> None:
    state = PolicyState(
        topology(centre("sdis2a", department="2A"), centre("sdis77", department="77"))
    )
    assert route_call(state.topology, state, " 2a004 ", 0.0).unit == "sdis2a"


def test_unknown_routing_key_goes_to_the_default_unit_and_says_so() -> None:
    state = _seine_et_marne()
    decision = route_call(state.topology, state, "no-such-key", 0.0)
    assert decision.unit == "sdis77"
    assert decision.match is KeyMatch.DEFAULT
    assert "unknown routing key 'no-such-key'" in decision.reason


def test_commune_of_a_department_without_centre_goes_to_the_default_unit() -> None:
    state = _seine_et_marne()
    assert route_call(state.topology, state, "13055", 0.0).match is KeyMatch.DEFAULT


def test_diverted_centre_sends_its_new_calls_to_the_target() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", department="77", modes=CentreModes(diverted_to="sdis91")),
            centre("sdis91", department="91"),
        )
    )
    decision = route_call(state.topology, state, "77288", 0.0)
    assert decision.unit == "sdis91"
    assert decision.home_centre == "sdis77"
    assert decision.diverted_via == ("sdis77",)
    assert "diverted sdis77 -> sdis91" in decision.reason


def test_diversion_chain_is_followed_to_the_end() -> None:
    state = PolicyState(
        topology(
            centre("a", department="01", modes=CentreModes(diverted_to="b")),
            centre("b", modes=CentreModes(diverted_to="c")),
            centre("c"),
        )
    )
    decision = route_call(state.topology, state, "01053", 0.0)
    assert decision.unit == "c"
    assert decision.diverted_via == ("a", "b")


def test_centre_in_an_active_virtual_cta_queues_at_the_virtual_cta() -> None:
    state = _seine_et_marne()
    state.apply_modes(
        change_modes(state.topology, state.modes, SetVctaActive("vcta-89-10", True)).modes, 0.0
    )
    decision = route_call(state.topology, state, "89024", 0.0)
    assert (decision.home_centre, decision.unit) == ("sdis89", "vcta-89-10")
    assert "pooled in virtual CTA vcta-89-10" in decision.reason


def test_centre_of_an_inactive_virtual_cta_queues_at_itself() -> None:
    state = _seine_et_marne()
    assert route_call(state.topology, state, "89024", 0.0).unit == "sdis89"


def test_diversion_to_a_pooled_centre_ends_at_its_virtual_cta() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", department="77", modes=CentreModes(diverted_to="sdis89")),
            centre("sdis89"),
            centre("sdis10"),
            vctas=[vcta("vcta-89-10", ["sdis89", "sdis10"])],
        )
    )
    assert route_call(state.topology, state, "77", 0.0).unit == "vcta-89-10"


def test_default_unit_may_be_an_active_virtual_cta() -> None:
    state = PolicyState(
        topology(
            centre("sdis89"),
            centre("sdis10"),
            vctas=[vcta("vcta-89-10", ["sdis89", "sdis10"])],
            default_unit="vcta-89-10",
        )
    )
    decision = route_call(state.topology, state, "unknown", 0.0)
    assert (decision.unit, decision.home_centre) == ("vcta-89-10", "sdis89")


def test_default_virtual_cta_not_active_sends_to_its_first_member() -> None:
    state = PolicyState(
        topology(
            centre("sdis89"),
            centre("sdis10"),
            vctas=[vcta("vcta-89-10", ["sdis10", "sdis89"], active=False)],
            default_unit="vcta-89-10",
        )
    )
    assert route_call(state.topology, state, "unknown", 0.0).unit == "sdis10"
