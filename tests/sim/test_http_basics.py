"""Authentication, routing errors and request validation, as Asterisk answers them."""

from __future__ import annotations

import aiohttp
import pytest

from tests.sim.lab import LAB_APP, LAB_PASSWORD, LAB_USER, basic_auth

REALM = 'Basic realm="Asterisk REST Interface"'


@pytest.mark.parametrize(
    "headers",
    [{}, basic_auth(LAB_USER, "wrong"), basic_auth("nobody", LAB_PASSWORD)],
    ids=["no credentials", "wrong password", "unknown user"],
)
async def test_requests_without_valid_credentials_are_refused(emu, headers):
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{emu.base_url}/asterisk/info") as response,
    ):
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == REALM
        assert await response.json() == {"message": "Authentication required"}


async def test_api_key_query_parameter_authenticates(emu):
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{emu.base_url}/channels", params={"api_key": f"{LAB_USER}:{LAB_PASSWORD}"}
        ) as response,
    ):
        assert response.status == 200
        assert await response.json() == []


async def test_event_websocket_needs_credentials_too(emu):
    root = emu.base_url.replace("http://", "ws://")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{root}/events?app={LAB_APP}")
    assert refused.value.status == 401


async def test_unknown_resource_is_404_and_wrong_method_405_with_allow(emu, http):
    async with http.get(f"{emu.base_url}/no/such/resource") as response:
        assert (response.status, await response.json()) == (404, {"message": "Resource not found"})
    async with http.put(f"{emu.base_url}/channels") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "OPTIONS,GET,POST"
        assert await response.json() == {"message": "Invalid method"}
    # A literal path segment wins over a parameter: /channels/create only takes POST.
    async with http.get(f"{emu.base_url}/channels/create") as response:
        assert (response.status, response.headers["Allow"]) == (405, "OPTIONS,POST")
    async with http.options(f"{emu.base_url}/bridges/some-id") as response:
        assert (response.status, response.headers["Allow"]) == (204, "OPTIONS,GET,POST,DELETE")


async def test_bad_parameters_get_a_sentence_naming_them(emu, http):
    query = {"endpoint": "PJSIP/sdis77-op1", "app": LAB_APP, "timeout": "soon"}
    async with http.post(f"{emu.base_url}/channels", params=query) as response:
        assert response.status == 400
        assert (await response.json())["message"] == (
            "Parameter timeout must be an integer, not 'soon'"
        )
    async with http.post(
        f"{emu.base_url}/channels", data="{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["message"]


async def test_parameters_may_come_in_a_json_body(emu, http, connect):
    log = await connect()
    body = {
        "endpoint": "PJSIP/sdis77-op1",
        "app": LAB_APP,
        "appArgs": "operator",
        "variables": {"VCTA_CALL": "c-1"},
    }
    async with http.post(f"{emu.base_url}/channels", json=body) as response:
        assert response.status == 200
        channel = await response.json()
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == channel["id"])
    url = f"{emu.base_url}/channels/{channel['id']}/variable"
    async with http.get(url, params={"variable": "VCTA_CALL"}) as response:
        assert await response.json() == {"value": "c-1"}
    bad = {**body, "variables": {"VCTA_CALL": 1}}
    async with http.post(f"{emu.base_url}/channels", json=bad) as response:
        assert response.status == 400


async def test_operations_the_emulator_lacks_say_so(emu, http):
    async with http.post(f"{emu.base_url}/channels/x/snoop", params={"app": LAB_APP}) as response:
        assert response.status == 501
        assert "does not implement POST /ari/channels/x/snoop" in (await response.json())["message"]


async def test_asterisk_resources_describe_the_emulated_version(emu, http):
    async with http.get(f"{emu.base_url}/asterisk/info") as response:
        info = await response.json()
    assert info["system"]["version"] == "GIT-master-f0c1c1a7b7"
    async with http.get(f"{emu.base_url}/asterisk/info", params={"only": "status"}) as response:
        assert list(await response.json()) == ["status"]
    async with http.get(f"{emu.base_url}/asterisk/ping") as response:
        assert (await response.json())["ping"] == "pong"
    async with http.get(f"{emu.base_url}/sounds") as response:
        assert "hello-world" in {s["id"] for s in await response.json()}


async def test_oversized_body_is_a_clear_413_not_a_500(emu):
    huge = b'{"routing_key": "' + b"7" * (10 * 1024 * 1024) + b'"}'
    async with (
        aiohttp.ClientSession(headers=basic_auth(LAB_USER, LAB_PASSWORD)) as session,
        session.post(
            f"{emu.control_url}/calls", data=huge, headers={"Content-Type": "application/json"}
        ) as response,
    ):
        assert response.status == 413
        assert await response.json() == {"message": "The request body is larger than 1048576 bytes"}


@pytest.mark.parametrize("where", ["url", "header"])
async def test_url_or_header_over_8_kib_is_answered_in_json(emu, where):
    long = "x" * 9000
    url = f"{emu.base_url}/channels" + (f"?junk={long}" if where == "url" else "")
    headers = {"X-Junk": long} if where == "header" else {}
    async with (
        aiohttp.ClientSession(headers=basic_auth(LAB_USER, LAB_PASSWORD)) as session,
        session.get(url, headers=headers) as response,
    ):
        assert (response.status, response.content_type) == (400, "application/json")
        body = await response.json()
    assert body == {
        "message": "the request line or a header is longer than 8190 bytes: send a shorter URL "
        "or header"
    }
