"""PJSIP endpoints: operator positions and the carrier trunk, registration and device state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ari_app.sim.bus import EventBus
from ari_app.sim.model import Party
from ari_app.sim.scripts import NoAnswer, PositionScript

PJSIP = "PJSIP"
# Technologies Asterisk knows; only PJSIP has endpoints to list.
KNOWN_TECHS: Mapping[str, str] = MappingProxyType({"pjsip": PJSIP, "local": "Local"})


@dataclass(eq=False)
class Endpoint:
    tech: str
    resource: str
    online: bool
    script: PositionScript
    callerid: Party
    context: str
    contact_uri: str
    channel_ids: dict[str, None] = field(default_factory=dict)
    alerting: int = 0  # channels in state Ring or Ringing
    up: int = 0
    device_state: str = ""  # last state published

    @property
    def device_name(self) -> str:
        return f"{self.tech}/{self.resource}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "technology": self.tech,
            "resource": self.resource,
            "state": "online" if self.online else "offline",
            "channel_ids": list(self.channel_ids),
        }

    def current_device_state(self) -> str:
        if not self.online:
            return "UNAVAILABLE"
        if self.up and self.alerting:
            return "RINGINUSE"
        if self.up:
            return "INUSE"
        if self.alerting:
            return "RINGING"
        return "NOT_INUSE"


class Endpoints:
    """The endpoint registry; publishes what trace f shows on (un)registration and calls."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._by_resource: dict[str, Endpoint] = {}
        self._next_port = 5081

    def add(
        self,
        resource: str,
        *,
        script: PositionScript,
        online: bool,
        callerid: Party | None = None,
        context: str = "operators",
        port: int | None = None,
    ) -> Endpoint:
        if not resource or "/" in resource or any(c.isspace() for c in resource):
            raise ValueError(f"endpoint name {resource!r} must be a non-empty word without '/'")
        if resource in self._by_resource:
            raise ValueError(f"endpoint {resource!r} already exists")
        if port is None:
            port, self._next_port = self._next_port, self._next_port + 1
        endpoint = Endpoint(
            tech=PJSIP,
            resource=resource,
            online=online,
            script=script,
            callerid=callerid or Party(),
            context=context,
            contact_uri=f"sip:{resource}@127.0.0.1:{port}",
        )
        endpoint.device_state = endpoint.current_device_state()
        self._by_resource[resource] = endpoint
        return endpoint

    def add_trunk(self, resource: str) -> Endpoint:
        return self.add(resource, script=NoAnswer(), online=True, context="from-carrier", port=5070)

    def get(self, resource: str) -> Endpoint | None:
        return self._by_resource.get(resource)

    def require(self, resource: str) -> Endpoint:
        endpoint = self._by_resource.get(resource)
        if endpoint is None:
            known = ", ".join(sorted(self._by_resource)) or "none"
            raise KeyError(f"no endpoint named {resource!r} (known: {known})")
        return endpoint

    def all(self) -> list[Endpoint]:
        return list(self._by_resource.values())

    # Registration -----------------------------------------------------------------------

    def set_online(self, endpoint: Endpoint, online: bool) -> None:
        """Register or unregister the position's contact, with the four events of trace f."""
        if endpoint.online == online:
            return
        endpoint.online = online
        self._endpoint_event(endpoint, "EndpointStateChange")
        status = "Reachable" if online else "Unreachable"
        self._endpoint_event(endpoint, "PeerStatusChange", {"peer": {"peer_status": status}})
        contact = {
            "uri": endpoint.contact_uri,
            "contact_status": "NonQualified" if online else "Removed",
            "aor": endpoint.resource,
            "roundtrip_usec": "0",
        }
        if online:
            # Registration reports the device before the contact, unregistration after (trace f).
            self.refresh_device(endpoint)
            self._endpoint_event(endpoint, "ContactStatusChange", {"contact_info": contact})
        else:
            self._endpoint_event(endpoint, "ContactStatusChange", {"contact_info": contact})
            self.refresh_device(endpoint)

    # Channels on the endpoint --------------------------------------------------------------

    def channel_added(self, endpoint: Endpoint, channel_id: str, state: str) -> None:
        endpoint.channel_ids[channel_id] = None
        self.count_state(endpoint, state, +1)
        self._endpoint_event(endpoint, "EndpointStateChange")

    def channel_removed(self, endpoint: Endpoint, channel_id: str, state: str) -> None:
        endpoint.channel_ids.pop(channel_id, None)
        self.count_state(endpoint, state, -1)
        self._endpoint_event(endpoint, "EndpointStateChange")
        self.refresh_device(endpoint)

    def state_changed(self, endpoint: Endpoint, old: str, new: str) -> None:
        self.count_state(endpoint, old, -1)
        self.count_state(endpoint, new, +1)

    @staticmethod
    def count_state(endpoint: Endpoint, state: str, delta: int) -> None:
        if state in ("Ring", "Ringing"):
            endpoint.alerting += delta
        elif state == "Up":
            endpoint.up += delta

    def refresh_device(self, endpoint: Endpoint) -> None:
        """Publish ``DeviceStateChanged`` if the position's device state moved."""
        state = endpoint.current_device_state()
        if state == endpoint.device_state:
            return
        endpoint.device_state = state
        name = endpoint.device_name
        self._bus.publish(
            self._bus.device_recipients(name),
            "DeviceStateChanged",
            {"device_state": {"name": name, "state": state}},
        )

    def _endpoint_event(
        self, endpoint: Endpoint, event_type: str, extra: dict[str, Any] | None = None
    ) -> None:
        self._bus.publish(
            self._bus.endpoint_recipients(endpoint.tech, endpoint.resource),
            event_type,
            lambda: {"endpoint": endpoint.snapshot(), **(extra or {})},
        )
