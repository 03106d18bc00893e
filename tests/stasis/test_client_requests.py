"""What the REST client puts on the wire: query strings like Asterisk's own clients,
channel variables as a JSON body, escaped ids, one pooled connection."""

from __future__ import annotations

import pytest

from ari_app.stasis import AriClient, AriConfig, Channel
from ari_app.stasis.operations import CHANNELS_ORIGINATE, ENDPOINTS_GET, encode_value
from tests.stasis.conftest import StubAri

CHANNEL = {
    "id": "vcta-op-0001",
    "name": "PJSIP/sdis77-op1-00000012",
    "state": "Down",
    "protocol_id": "985aceb7",
    "caller": {"name": "Appel 18", "number": "0612345678"},
    "connected": {"name": "Appel 18", "number": "0612345678"},
    "accountcode": "",
    "dialplan": {
        "context": "operators",
        "exten": "s",
        "priority": 1,
        "app_name": "AppDial2",
        "app_data": "(Outgoing Line)",
    },
    "creationtime": "2026-11-28T17:43:36.900+0000",
    "language": "en",
}


async def test_originate_sends_our_ids_in_the_query_and_variables_as_json_body(
    stub_ari: StubAri, ari: AriClient
) -> None:
    stub_ari.answer(200, CHANNEL)
    channel = await ari.channels.originate(
        "PJSIP/sdis77-op1",
        app="vcta-test",
        app_args="operator",
        caller_id='"Appel 18" <0612345678>',
        ring_timeout=30,
        channel_id="vcta-op-0001",
        other_channel_id="vcta-op-0001-peer",
        variables={"VCTA_CALL": "call-42", "CALLERID(name)": "Appel 18"},
    )
    assert channel == Channel.model_validate(CHANNEL)
    sent = stub_ari.requests[0]
    assert (sent.method, sent.path) == ("POST", "/channels")
    assert sent.query == {
        "endpoint": "PJSIP/sdis77-op1",
        "app": "vcta-test",
        "appArgs": "operator",
        "callerId": '"Appel 18" <0612345678>',
        "timeout": "30",
        "channelId": "vcta-op-0001",
        "otherChannelId": "vcta-op-0001-peer",
    }
    assert sent.body == {"variables": {"VCTA_CALL": "call-42", "CALLERID(name)": "Appel 18"}}


async def test_record_sends_booleans_and_numbers_as_asterisk_reads_them(
    stub_ari: StubAri, ari: AriClient
) -> None:
    stub_ari.answer(
        201,
        {"name": "rec-1", "format": "wav", "state": "queued", "target_uri": "bridge:b1"},
    )
    recording = await ari.bridges.record(
        "b1",
        "rec-1",
        "wav",
        max_duration_seconds=60,
        if_exists="overwrite",
        beep=False,
        terminate_on="none",
    )
    assert recording.state == "queued"
    assert stub_ari.requests[0].query == {
        "name": "rec-1",
        "format": "wav",
        "maxDurationSeconds": "60",
        "ifExists": "overwrite",
        "beep": "false",
        "terminateOn": "none",
    }


async def test_several_values_are_sent_comma_separated(stub_ari: StubAri, ari: AriClient) -> None:
    await ari.bridges.add_channel("b1", ["c1", "c2"], role="participant")
    assert stub_ari.requests[0].query == {"channel": "c1,c2", "role": "participant"}


async def test_ids_are_escaped_in_the_path(stub_ari: StubAri, ari: AriClient) -> None:
    await ari.channels.answer("Local/18@test-callers-00000003;2")
    assert stub_ari.requests[0].path == "/channels/Local%2F18%40test-callers-00000003%3B2/answer"


async def test_omitted_options_are_not_sent(stub_ari: StubAri, ari: AriClient) -> None:
    await ari.channels.hangup("c1")
    await ari.channels.hangup("c2", reason="busy")
    assert [r.query for r in stub_ari.requests] == [{}, {"reason": "busy"}]


async def test_requests_share_one_pooled_connection(stub_ari: StubAri, ari: AriClient) -> None:
    for _ in range(5):
        await ari.channels.answer("c1")
    ports = {request.client_port for request in stub_ari.requests}
    assert len(ports) == 1


async def test_get_variable_returns_the_value(stub_ari: StubAri, ari: AriClient) -> None:
    stub_ari.answer(200, {"value": "0612345678"})
    assert await ari.channels.get_variable("c1", "CALLERID(num)") == "0612345678"
    assert stub_ari.requests[0].query == {"variable": "CALLERID(num)"}


def test_an_undeclared_parameter_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match=r"channels\.originate does not take .*ringTimeout"):
        CHANNELS_ORIGINATE.render({"endpoint": "PJSIP/x", "ringTimeout": 3})


def test_a_missing_path_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a non-empty resource"):
        ENDPOINTS_GET.render({"tech": "PJSIP", "resource": ""})


def test_values_are_encoded_as_asterisk_reads_them() -> None:
    assert encode_value(True) == "true"
    assert encode_value(False) == "false"
    assert encode_value(30) == "30"
    assert encode_value(("sound:a", "sound:b")) == "sound:a,sound:b"
    with pytest.raises(TypeError, match="float"):
        encode_value(1.5)


def test_config_rejects_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        AriConfig("127.0.0.1:8088/ari", "u", "p")
    with pytest.raises(ValueError, match="query string"):
        AriConfig("http://127.0.0.1:8088/ari?x=1", "u", "p")


def test_config_derives_the_websocket_url_and_hides_the_password() -> None:
    config = AriConfig("http://127.0.0.1:8088/ari/", "ariuser", "ari-secret")
    assert config.url == "http://127.0.0.1:8088/ari"
    assert (
        config.events_url("vcta-test")
        == "ws://127.0.0.1:8088/ari/events?app=vcta-test&api_key=ariuser:ari-secret"
    )
    assert "ari-secret" not in config.events_url_for_logs("vcta-test")
    assert "ari-secret" not in repr(config)
    secure = AriConfig("https://pbx.example:8089/ari", "u", "p&w")
    assert secure.events_url("a b", subscribe_all=True) == (
        "wss://pbx.example:8089/ari/events?app=a%20b&api_key=u:p%26w&subscribeAll=true"
    )
