"""Parsing websocket messages: known types into their models, unknown ones kept raw,
broken ones refused with a sentence saying what is wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ari_app.stasis import (
    ChannelHangupRequest,
    Dial,
    MalformedEvent,
    StasisStart,
    UnknownEvent,
    parse_event,
)

CHANNEL = {
    "id": "1795887671.0",
    "name": "PJSIP/carrier-00000000",
    "state": "Ring",
    "protocol_id": "1-11470@127.0.0.1",
    "caller": {"name": "Appelant 0612345678", "number": "0612345678"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {
        "context": "from-carrier",
        "exten": "18",
        "priority": 2,
        "app_name": "Stasis",
        "app_data": "vcta-test,18",
    },
    "creationtime": "2026-11-28T17:41:11.334+0000",
    "language": "en",
}
STASIS_START = {
    "type": "StasisStart",
    "timestamp": "2026-11-28T17:41:11.334+0000",
    "args": ["18"],
    "channel": CHANNEL,
    "asterisk_id": "02:fc:00:00:00:01",
    "application": "vcta-test",
}


def test_stasis_start_keeps_routing_key_and_envelope() -> None:
    event = parse_event(json.dumps(STASIS_START))
    assert isinstance(event, StasisStart)
    assert event.args == ["18"]
    assert event.channel.dialplan.exten == "18"
    assert event.channel.caller.number == "0612345678"
    assert event.application == "vcta-test"
    assert event.asterisk_id == "02:fc:00:00:00:01"
    assert event.timestamp == datetime(2026, 11, 28, 17, 41, 11, 334000, tzinfo=UTC)


def test_fields_unknown_to_the_model_are_kept() -> None:
    newer = dict(STASIS_START, future_field={"x": 1})
    newer["channel"] = dict(CHANNEL, tenantid="t1", brand_new="yes")
    event = parse_event(json.dumps(newer))
    assert isinstance(event, StasisStart)
    assert event.model_extra == {"future_field": {"x": 1}}
    assert event.channel.tenantid == "t1"
    assert event.channel.model_extra == {"brand_new": "yes"}


def test_unknown_event_type_is_kept_with_its_raw_json() -> None:
    raw = {"type": "ChannelRinging42", "application": "vcta-test", "foo": [1, 2]}
    event = parse_event(json.dumps(raw).encode())
    assert isinstance(event, UnknownEvent)
    assert event.type == "ChannelRinging42"
    assert event.raw == raw
    assert event.application == "vcta-test"


def test_hangup_request_of_a_remote_bye_has_no_cause() -> None:
    raw = {k: v for k, v in STASIS_START.items() if k != "args"}
    event = parse_event(json.dumps(dict(raw, type="ChannelHangupRequest")))
    assert isinstance(event, ChannelHangupRequest)
    assert (event.cause, event.soft) == (None, None)


def test_dial_without_caller_is_accepted() -> None:
    raw = {
        "type": "Dial",
        "timestamp": "2026-11-28T17:41:12.746+0000",
        "dialstatus": "",
        "forward": "",
        "dialstring": "sdis77-op1",
        "peer": CHANNEL,
        "application": "vcta-test",
    }
    event = parse_event(json.dumps(raw))
    assert isinstance(event, Dial)
    assert event.caller is None
    assert event.peer.id == "1795887671.0"


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"application": "vcta-test"}', "no 'type'"),
        ('{"type": ""}', "no 'type'"),
    ],
)
def test_message_that_is_not_an_event_is_refused_clearly(message: str | bytes, says: str) -> None:
    with pytest.raises(MalformedEvent, match=says):
        parse_event(message)


def test_known_type_with_a_broken_shape_names_the_field() -> None:
    broken = dict(STASIS_START)
    del broken["channel"]
    with pytest.raises(MalformedEvent, match=r"StasisStart event does not match.*channel"):
        parse_event(json.dumps(broken))


def test_events_are_immutable() -> None:
    event = parse_event(json.dumps(STASIS_START))
    with pytest.raises(ValueError, match="frozen"):
        event.type = "StasisEnd"  # type: ignore[misc]
