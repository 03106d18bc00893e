"""``/sim/...``: the emulator's controls over HTTP, for programs driving a standalone emulator.

Same credentials as ARI. Parameters go in a JSON body or the query string. Errors
are ``{"message": ...}`` with 400 (bad value), 404 (unknown call, channel, endpoint).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ari_app.sim.ari_http import authenticated_user, unauthorized
from ari_app.sim.errors import AriError, EmulatorError
from ari_app.sim.history import record_to_json
from ari_app.sim.httpkit import Call, Reply, Router
from ari_app.sim.scripts import parse_script

if TYPE_CHECKING:
    from ari_app.sim.emulator import Emulator


class ControlResources:
    def __init__(self, emulator: Emulator, users: Mapping[str, str]) -> None:
        self._emu = emulator
        self._users = users
        self.router = Router()
        add = self.router.add
        add("GET", "/state", self.state)
        add("GET", "/endpoints", self.endpoints)
        add("PUT", "/endpoints/{name}", self.put_endpoint)
        add("GET", "/calls", self.calls)
        add("POST", "/calls", self.place_call)
        add("GET", "/calls/{channelId}", self.call)
        add("DELETE", "/calls/{channelId}", self.caller_hangs_up)
        add("POST", "/channels/{channelId}/hangup", self.remote_hangup)
        add("POST", "/channels/{channelId}/dtmf", self.dtmf)
        add("POST", "/event-streams/drop", self.drop_streams)
        add("POST", "/event-streams/freeze", self.freeze_streams)
        add("POST", "/event-streams/slow", self.slow_streams)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if authenticated_user(request, self._users) is None:
            return unauthorized()
        return await self.router.dispatch(request, "/sim")

    def _emulator_error(self, error: Exception) -> AriError:
        if isinstance(error, EmulatorError) and str(error).startswith("no "):
            return AriError(404, str(error))
        return AriError(400, str(error))

    @staticmethod
    def _float(call: Call, name: str) -> float | None:
        value = call.text(name)
        if value in (None, "", "null"):
            return None
        try:
            return float(value)
        except ValueError:
            raise AriError(400, f"{name} must be a number of seconds, not {value!r}") from None

    def state(self, call: Call) -> Reply:
        emu = self._emu
        return Reply(
            200,
            {
                **emu.stats(),
                "applications": emu.applications(),
                "endpoints": emu.endpoints(),
                "stored_recordings": emu.stored_recordings(),
            },
        )

    def endpoints(self, call: Call) -> Reply:
        return Reply(200, self._emu.endpoints())

    def put_endpoint(self, call: Call) -> Reply:
        """Create or update a position: ``script`` (``answer:2:60``), ``online``, ``callerid``."""
        name = call.path["name"]
        spec = call.text("script")
        try:
            script = parse_script(spec) if spec else None
            exists = self._emu.pbx.endpoints.get(name) is not None
            online = call.boolean("online", True)
            if not exists:
                self._emu.add_endpoint(name, script, online=online, callerid=call.text("callerid"))
            else:
                if script is not None:
                    self._emu.set_script(name, script)
                if call.text("online") is not None:
                    self._emu.set_online(name, online)
        except (ValueError, EmulatorError) as error:
            raise self._emulator_error(error) from None
        info = next(e for e in self._emu.endpoints() if e["resource"] == name)
        return Reply(200 if exists else 201, info)

    def calls(self, call: Call) -> Reply:
        return Reply(200, [record_to_json(r) for r in self._emu.history()])

    def call(self, call: Call) -> Reply:
        record = self._emu.call(call.path["channelId"])
        if record is None:
            raise AriError(404, f"no call on channel {call.path['channelId']!r}")
        return Reply(200, record_to_json(record))

    async def place_call(self, call: Call) -> Reply:
        try:
            handle = await self._emu.place_call(
                routing_key=call.required("routing_key"),
                number=call.required("number"),
                app=call.text("app"),
                patience_s=self._float(call, "patience_s"),
                caller_name=call.text("caller_name") or "",
            )
        except Exception as error:
            raise self._emulator_error(error) from None
        body: dict[str, Any] = {
            "channel_id": handle.channel_id,
            "entered_stasis": handle.entered_stasis,
        }
        return Reply(201, body)

    async def caller_hangs_up(self, call: Call) -> Reply:
        try:
            await self._emu.hang_up_caller(call.path["channelId"])
        except Exception as error:
            raise self._emulator_error(error) from None
        return Reply(204)

    async def remote_hangup(self, call: Call) -> Reply:
        try:
            await self._emu.hang_up_remote(call.path["channelId"])
        except Exception as error:
            raise self._emulator_error(error) from None
        return Reply(204)

    async def dtmf(self, call: Call) -> Reply:
        between = self._float(call, "between_s")
        try:
            await self._emu.send_dtmf(
                call.path["channelId"],
                call.required("digits"),
                between_s=0.52 if between is None else between,
            )
        except AriError:
            raise
        except Exception as error:
            raise self._emulator_error(error) from None
        return Reply(204)

    async def drop_streams(self, call: Call) -> Reply:
        dropped = await self._emu.drop_event_streams(call.text("app"))
        return Reply(200, {"dropped": dropped})

    def slow_streams(self, call: Call) -> Reply:
        """Pongs ``pong_delay_s`` late, or never (``"never"``), or at once again (null)."""
        if call.text("pong_delay_s") == "never":
            delay: float | None = math.inf
        else:
            delay = self._float(call, "pong_delay_s")
            if delay is not None and delay < 0:
                raise AriError(400, "pong_delay_s must not be negative")
        return Reply(200, {"slowed": self._emu.slow_event_streams(call.text("app"), delay)})

    def freeze_streams(self, call: Call) -> Reply:
        return Reply(200, {"frozen": self._emu.freeze_event_streams(call.text("app"))})
