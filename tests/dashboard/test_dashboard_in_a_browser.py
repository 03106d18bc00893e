"""The dashboard in a real browser, against the call handling on the emulator.

Each test waits for a state with a timeout (Playwright's ``expect``), never for a fixed time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Locator, Page, expect

from ari_app.api import serve_api
from ari_app.calls.journal import JournalKind
from ari_app.vcta import SetIncomingMutualAid
from tests.api.world import ROLES, World, api_world, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

TIMEOUT_MS = 5000


@asynccontextmanager
async def signed_in(browser: Browser, world: World, role: str) -> AsyncIterator[Page]:
    """A page of the dashboard, signed in with the token of ``role``."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await page.goto(f"{world.url}/dashboard/")
        await page.fill("#token", world.tokens[role])
        await page.click("#sign-in button[type=submit]")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        await expect(page.locator("#who-name")).to_contain_text(ROLES[role][0])
        yield page
        assert errors == [], errors
    finally:
        await context.close()


def unit_row(page: Page, unit_id: str) -> Locator:
    return page.locator(f'#units tr[data-unit="{unit_id}"]')


async def test_storm_shows_live_and_switching_mutual_aid_off_keeps_calls_home(
    pg_dsn: str, browser: Browser, screenshots: Path
) -> None:
    async with (
        api_world(pg_dsn, offline=("alpha-op2",)) as world,
        signed_in(browser, world, "national") as page,
    ):
        # alpha's only position answers one caller; the next goes to beta by mutual aid.
        first = await world.calls.call("18", number="0611111111")
        await world.calls.until_talking(first)
        second = await world.calls.call("18", number="0622222222")
        await world.calls.until_journal(second, JournalKind.MOVED)
        await expect(page.locator('#flows li[data-flow="alpha>beta"]')).to_contain_text(
            "1 en cours"
        )
        await expect(page.locator('#map path[data-flow="alpha>beta"]')).to_have_count(1)
        await expect(unit_row(page, "alpha").locator(".badge.helped")).to_contain_text("aidé")
        await expect(unit_row(page, "beta").locator(".badge.helping")).to_contain_text("aidant")
        await page.screenshot(path=str(screenshots / "board.png"), full_page=True)

        await unit_row(page, "alpha").locator("a").click()
        await expect(page.locator("#centre-title")).to_contain_text("alpha")
        await page.click('[data-action="outgoing:alpha"]')
        dialog = page.locator("#confirm")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#confirm-consequence")).to_contain_text(
            "ne partiront plus vers les centres voisins"
        )
        await page.click("#confirm-ok")  # no reason: refused on the page, nothing sent
        await expect(page.locator("#confirm-error")).to_contain_text("motif")
        assert world.calls.recorder.changes == []
        await page.fill("#confirm-reason", "tempête : on garde nos appels")
        await page.click("#confirm-ok")
        await expect(dialog).to_be_hidden()

        # The audit line on the page, and the change in the journal of changes.
        audit = page.locator('#changes tr[data-change="outgoing_mutual_aid"]')
        await expect(audit).to_contain_text("tempête : on garde nos appels")
        await expect(audit.locator(".actor")).to_have_text(ROLES["national"][0])
        [change] = world.calls.recorder.changes
        assert (change.actor, change.reason) == (
            ROLES["national"][0],
            "tempête : on garde nos appels",
        )
        assert world.service.policy.modes.of("alpha").outgoing_mutual_aid is False

        # The next call waits at home, and alpha turns saturated on the page.
        third = await world.calls.call("18", number="0633333333")
        await world.calls.until_journal(third, JournalKind.WAITING)
        assert world.calls.entries(third, JournalKind.MOVED) == []
        await expect(page.locator(f'#waiting tr[data-call="{third}"]')).to_be_visible()
        await expect(page.locator("#centre-badges .badge.saturated")).to_have_text("saturé")
        await page.screenshot(path=str(screenshots / "centre.png"), full_page=True)


async def test_a_change_made_by_another_client_appears_within_a_second(
    pg_dsn: str, browser: Browser
) -> None:
    async with api_world(pg_dsn) as world, signed_in(browser, world, "read") as page:
        modes = unit_row(page, "alpha").locator('[data-mode="aid:alpha"]')
        await expect(modes).to_have_text("entraide active")
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await world.put(
            "/api/v1/centres/alpha/mutual-aid", {"incoming": False, "reason": "drill"}, "alpha"
        )
        assert reply.status == 200
        await expect(modes).to_have_text("entraide entrante coupée", timeout=1000)
        assert loop.time() - started < 1.0


async def test_a_centre_scoped_token_is_offered_no_action_on_other_centres(
    pg_dsn: str, browser: Browser
) -> None:
    async with api_world(pg_dsn) as world, signed_in(browser, world, "alpha") as page:
        await page.goto(f"{world.url}/dashboard/#/centre/beta")
        await expect(page.locator("#centre-title")).to_contain_text("beta")
        await expect(page.locator("#centre-actions")).to_contain_text("ne permet pas d'agir")
        await expect(page.locator("#centre-actions button")).to_have_count(0)
        await expect(page.locator("#positions tbody tr")).to_have_count(2)
        await expect(page.locator("#positions button")).to_have_count(0)

        await page.goto(f"{world.url}/dashboard/#/centre/alpha")
        await expect(page.locator('[data-action="outgoing:alpha"]')).to_be_visible()
        await expect(page.locator("#positions button")).to_have_count(2)


async def test_a_forged_cross_site_post_is_refused(pg_dsn: str, browser: Browser) -> None:
    async with api_world(pg_dsn) as world, signed_in(browser, world, "national") as page:
        target = f"{world.url}/api/v1/positions/alpha-op1/pause"
        # A page elsewhere that posts a JSON-looking form to the API with the officer's
        # cookie (another port of 127.0.0.1 is the same site: SameSite alone is no defence).
        forged = (
            "<!doctype html><form id=f method=post enctype=text/plain "
            f'action=\'{target}\'><input name=\'{{"reason":"x","pad":"\' value=\'"}}\'>'
            "</form><script>document.getElementById('f').submit()</script>"
        )

        async def evil(_request: web.Request) -> web.Response:
            return web.Response(text=forged, content_type="text/html")

        other = web.Application()
        other.router.add_get("/", evil)
        async with serve_api(other, "127.0.0.1", 0) as elsewhere:
            await page.goto(f"{elsewhere.url}/")
            await expect(page.locator("body")).to_contain_text("cross_site_request")
        assert world.calls.recorder.changes == []
        paused = world.service.policy.modes.paused_positions
        assert "alpha-op1" not in paused


async def test_the_page_survives_the_application_restarting(pg_dsn: str, browser: Browser) -> None:
    async with api_world(pg_dsn) as world, signed_in(browser, world, "read") as page:
        connection = page.locator("#connection")
        await world.stop_api()
        await expect(connection).to_have_attribute("data-state", "lost")
        await expect(connection).to_contain_text("connexion perdue")
        # Meanwhile beta's duty officer changes a mode: the page must catch up on return.
        world.service.change_modes(
            SetIncomingMutualAid("beta", False), actor="officer beta", reason="outage"
        )
        await world.start_api()
        await expect(connection).to_have_attribute("data-state", "live", timeout=10000)
        await expect(unit_row(page, "beta").locator('[data-mode="aid:beta"]')).to_have_text(
            "entraide entrante coupée"
        )
        await wait_until(lambda: world.calls.recorder.changes != [], what="the change")
