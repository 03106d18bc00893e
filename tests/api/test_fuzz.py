"""Fuzzing the API from its own OpenAPI document (schemathesis): no input gets a 5xx, and
every answer is one the document describes (status, media type, schema).

The application runs on the emulator in a thread of its own (schemathesis calls are
blocking), with a national token so that changes are really tried. Valid and invalid
requests are generated deterministically, a bounded number of them; half use ids that exist
so that requests get past the 404 and reach the handlers.

Left out: schemathesis' "schema-valid request rejected" check. A schema-valid body may
still be refused 422 for its meaning (a diversion to a centre that does not exist, a crisis
message that is not a playable media): the document says so for each operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from ari_app.api import ROUTES
from ari_app.api.openapi import openapi_document
from tests.api.world import api_world
from tests.calls.topologies import pooled_at_night

EXAMPLES = 300
EXISTING = {
    "unit_id": "alpha",
    "centre_id": "alpha",
    "position_id": "alpha-op1",
    "vcta_id": "night",
    "call_id": "no-such-callback",
}


@dataclass(frozen=True)
class Served:
    url: str
    token: str


@contextlib.contextmanager
def served_in_a_thread(pg_dsn: str) -> Iterator[Served]:
    """The API world running in its own event loop and thread while in the block."""
    started = threading.Event()
    found: list[Served] = []
    errors: list[BaseException] = []
    control: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        control["stop"] = (asyncio.get_running_loop(), stop)
        async with api_world(pg_dsn, topology=pooled_at_night()) as world:
            found.append(Served(world.url, world.tokens["national"]))
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:
            errors.append(error)
        finally:
            started.set()

    thread = threading.Thread(target=run, name="api-under-fuzz")
    thread.start()
    try:
        assert started.wait(timeout=30), "the API did not start within 30 s"
        if errors:
            raise errors[0]
        yield found[0]
    finally:
        if "stop" in control:
            loop, stop = control["stop"]
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
    if errors:
        raise errors[0]


@pytest.mark.timeout(180)
# Schemathesis' own strategies draw from `random`; Hypothesis seeds it, so runs stay the same.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)
def test_fuzzing_from_the_openapi_document_never_gets_a_server_error(pg_dsn: str) -> None:
    schema = schemathesis.openapi.from_dict(openapi_document(ROUTES))
    with served_in_a_thread(pg_dsn) as served, requests.Session() as session:
        auth = {"Authorization": f"Bearer {served.token}"}
        strategy = st.one_of(
            [
                schema.as_strategy(mode, headers=auth, path_parameters=ids)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                for ids in (None, EXISTING)
            ]
        )
        excluded = [schemathesis.checks.positive_data_acceptance]
        seen: dict[int, int] = {}

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def request_never_fails_inside(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=served.url, session=session, timeout=10)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} {case.body!r} -> "
                f"{response.status_code} {response.text[:300]}"
            )
            case.validate_response(response, excluded_checks=excluded)

        request_never_fails_inside()
        # Both sides were exercised: accepted requests and refused ones.
        assert any(200 <= status < 300 for status in seen), seen
        assert any(400 <= status < 500 for status in seen), seen
