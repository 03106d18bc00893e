"""The emulator's ARI resources about Asterisk itself: info, modules, global variables,
endpoints, applications and their subscriptions, device states, user events."""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import web

from ari_app.sim.endpoints import KNOWN_TECHS, PJSIP
from ari_app.sim.errors import AriError
from ari_app.sim.httpkit import Call, Reply
from ari_app.sim.rest_base import ResourceBase
from ari_app.sim.wire import ari_timestamp

EMULATED_VERSION = "GIT-master-f0c1c1a7b7"
DEVICE_STATES = frozenset(
    {
        "NOT_INUSE",
        "INUSE",
        "BUSY",
        "INVALID",
        "UNAVAILABLE",
        "RINGING",
        "RINGINUSE",
        "ONHOLD",
    }
)
MODULES: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "res_ari.so": ("Asterisk RESTful Interface", 11),
        "res_stasis.so": ("Stasis application support", 14),
        "app_stasis.so": ("Stasis dialplan application", 0),
        "res_pjsip.so": ("Basic SIP resource", 48),
        "chan_pjsip.so": ("PJSIP Channel Driver", 0),
        "res_stasis_playback.so": ("Stasis application playback support", 2),
        "res_stasis_recording.so": ("Stasis application recording support", 2),
        "res_musiconhold.so": ("Music On Hold Resource", 2),
    }
)


class SystemResources(ResourceBase):
    """/asterisk, /endpoints, /applications, /deviceStates, /events/user."""

    def asterisk_info(self, call: Call) -> Reply:
        pbx = self._pbx
        started = ari_timestamp(pbx.started_at)
        info: dict[str, Any] = {
            "build": {
                "os": platform.system(),
                "kernel": platform.release(),
                "machine": platform.machine(),
                "options": "OPTIONAL_API",
                "date": started[:10],
                "user": "ari-app-emulator",
            },
            "system": {"version": EMULATED_VERSION, "entity_id": pbx.bus.asterisk_id},
            "config": {
                "name": "",
                "default_language": "en",
                "setid": {"user": "", "group": ""},
            },
            "status": {"startup_time": started, "last_reload_time": started},
        }
        only = call.listing("only")
        if only:
            info = {k: v for k, v in info.items() if k in only}
        return Reply(200, info)

    def asterisk_ping(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "ping": "pong",
                "timestamp": ari_timestamp(self._pbx.now()),
                "asterisk_id": self._pbx.bus.asterisk_id,
            },
        )

    @staticmethod
    def _module(name: str) -> dict[str, Any]:
        description, use_count = MODULES[name]
        return {
            "name": name,
            "description": description,
            "use_count": use_count,
            "status": "Running",
            "support_level": "core",
        }

    def modules(self, call: Call) -> Reply:
        return Reply(200, [self._module(name) for name in MODULES])

    def module(self, call: Call) -> Reply:
        name = call.path["moduleName"]
        if name not in MODULES:
            raise AriError(404, "Module could not be found in running modules")
        return Reply(200, self._module(name))

    def global_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        return Reply(200, {"value": self._pbx.global_variables.get(name, "")})

    def set_global_variable(self, call: Call) -> Reply:
        name = call.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        self._pbx.global_variables[name] = call.text("value") or ""
        return Reply(204)

    # endpoints ------------------------------------------------------------------------------

    def endpoints(self, call: Call) -> Reply:
        return Reply(200, [e.snapshot() for e in self._pbx.endpoints.all()])

    def endpoints_by_tech(self, call: Call) -> Reply:
        tech = call.path["tech"]
        known = KNOWN_TECHS.get(tech.lower())
        if known is None:
            raise AriError(404, f"No Endpoints found - invalid tech {tech}")
        endpoints = self._pbx.endpoints.all() if known == PJSIP else []
        return Reply(200, [e.snapshot() for e in endpoints])

    def endpoint(self, call: Call) -> Reply:
        tech, resource = call.path["tech"], call.path["resource"]
        endpoint = self._pbx.endpoints.get(resource)
        if KNOWN_TECHS.get(tech.lower()) != PJSIP or endpoint is None:
            raise AriError(404, "Endpoint not found")
        return Reply(200, endpoint.snapshot())

    # channels -------------------------------------------------------------------------------

    def applications(self, call: Call) -> Reply:
        return Reply(200, [app.to_json() for app in self._pbx.apps.all()])

    def _application(self, call: Call) -> Any:
        app = self._pbx.apps.get(call.path["applicationName"])
        if app is None:
            raise AriError(404, "Application not found")
        return app

    def application(self, call: Call) -> Reply:
        return Reply(200, self._application(call).to_json())

    def subscribe(self, call: Call) -> Reply:
        """``eventSource`` is ``channel:``, ``bridge:``, ``endpoint:`` or ``deviceState:``."""
        pbx = self._pbx
        app = self._application(call)
        sources = call.listing("eventSource")
        if not sources:
            raise AriError(400, "Missing parameter eventSource")
        subscribing = call.method == "POST"
        actions: list[tuple[Callable[[str, str], object], str]] = []
        do: Callable[[str, str], object]
        undo: Callable[[str, str], object]
        for source in sources:
            scheme, _, target = source.partition(":")
            if scheme == "channel":
                exists, counts = target in pbx.channels, app.channels
                do, undo = pbx.apps.subscribe_channel, pbx.apps.unsubscribe_channel
            elif scheme == "bridge":
                exists, counts = target in pbx.bridges, app.bridges
                do, undo = pbx.apps.subscribe_bridge, pbx.apps.unsubscribe_bridge
            elif scheme == "endpoint":
                target, exists = self._endpoint_key(target)
                counts = app.endpoints
                do, undo = pbx.apps.subscribe_endpoint, pbx.apps.unsubscribe_endpoint
            elif scheme == "deviceState":
                exists, counts = bool(target), app.devices
                do, undo = pbx.apps.subscribe_device, pbx.apps.unsubscribe_device
            else:
                raise AriError(400, "Invalid event source URI scheme")
            if not exists:
                raise AriError(422, "Event source does not exist")
            if not subscribing and target not in counts:
                raise AriError(409, "Application not subscribed to event source")
            actions.append((do if subscribing else undo, target))
        for action, target in actions:
            action(app.name, target)
        current = pbx.apps.get(app.name)
        return Reply(200, (current or app).to_json())

    def _endpoint_key(self, target: str) -> tuple[str, bool]:
        tech_given, _, resource = target.partition("/")
        tech = KNOWN_TECHS.get(tech_given.lower())
        if tech is None:
            return target, False
        if not resource:
            return tech, True
        exists = tech == PJSIP and self._pbx.endpoints.get(resource) is not None
        return f"{tech}/{resource}", exists

    def event_filter(self, call: Call) -> Reply:
        app = self._application(call)
        body = call.body if isinstance(call.body, dict) else {}
        allowed, disallowed = body.get("allowed", []), body.get("disallowed", [])
        for rules in (allowed, disallowed):
            if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
                raise AriError(400, "Invalid event filter: 'allowed' and 'disallowed' are lists")
        app.allowed, app.disallowed = list(allowed), list(disallowed)
        return Reply(200, app.to_json())

    # device states, events ------------------------------------------------------------------

    def device_states(self, call: Call) -> Reply:
        devices = self._pbx.custom_devices
        return Reply(200, [{"name": n, "state": s} for n, s in devices.items()])

    def device_state(self, call: Call) -> Reply:
        name = call.path["deviceName"]
        if name in self._pbx.custom_devices:
            state = self._pbx.custom_devices[name]
        elif name.startswith(f"{PJSIP}/"):
            endpoint = self._pbx.endpoints.get(name.partition("/")[2])
            state = endpoint.current_device_state() if endpoint else "INVALID"
        else:
            state = "UNKNOWN"
        return Reply(200, {"name": name, "state": state})

    def set_device_state(self, call: Call) -> Reply:
        name = call.path["deviceName"]
        if not name.startswith("Stasis:"):
            raise AriError(409, "Uncontrolled device specified")
        state = call.required("deviceState")
        if state not in DEVICE_STATES:
            raise AriError(400, f"Invalid device state {state!r}")
        self._pbx.custom_devices[name] = state
        bus = self._pbx.bus
        bus.publish(
            bus.device_recipients(name),
            "DeviceStateChanged",
            {"device_state": {"name": name, "state": state}},
        )
        return Reply(204)

    def delete_device_state(self, call: Call) -> Reply:
        name = call.path["deviceName"]
        if not name.startswith("Stasis:"):
            raise AriError(409, "Uncontrolled device specified")
        if self._pbx.custom_devices.pop(name, None) is None:
            raise AriError(404, "Device name is missing")
        return Reply(204)

    async def events(self, call: Call) -> web.StreamResponse:
        apps = call.listing("app")
        if not apps:
            raise AriError(400, "Missing parameter app")
        ws_ready = web.WebSocketResponse().can_prepare(call.http)
        if not ws_ready.ok:
            raise AriError(400, "The events resource expects a websocket upgrade")
        return await self._streams.serve(call.http, apps, self._pbx.now())

    def user_event(self, call: Call) -> Reply:
        app_name = call.required("application")
        if self._pbx.apps.get(app_name) is None:
            raise AriError(404, "Application not found")
        body = call.body if isinstance(call.body, dict) else {}
        variables = body.get("variables", {})
        bus = self._pbx.bus
        bus.publish(
            bus.app_recipients(app_name),
            "ChannelUserevent",
            {"eventname": call.path["eventName"], "userevent": variables},
        )
        return Reply(204)
