"""Routes events to the applications that should see them, as Asterisk's topics do.

Channel events reach an application once for its subscription to the channel and
once more per matching endpoint subscription (trace f: identical duplicates). Bridge
events reach the applications subscribed to the bridge; endpoint and device-state
events their subscribers; ``StasisStart``/``StasisEnd`` go straight to one
application. Each event is serialised once per receiving connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ari_app.clock import Clock
from ari_app.sim.apps import Application, Applications
from ari_app.sim.model import Bridge, Channel
from ari_app.sim.wire import ari_timestamp

Recipients = list[tuple[Application, int]]


class EventBus:
    def __init__(self, apps: Applications, clock: Clock, asterisk_id: str) -> None:
        self._apps = apps
        self._clock = clock
        self.asterisk_id = asterisk_id
        self.sent = 0  # events pushed to websockets, for benchmarks

    # Who receives what ------------------------------------------------------------------

    def channel_recipients(self, channel: Channel) -> Recipients:
        result: Recipients = []
        endpoint = channel.endpoint
        for app in self._apps.view():
            if app.sink is None:
                continue
            copies = 1 if channel.id in app.channels else 0
            if endpoint is not None:
                copies += app.endpoint_copies(endpoint.tech, endpoint.resource)
            if copies:
                result.append((app, copies))
        return result

    def bridge_recipients(self, bridge: Bridge) -> Recipients:
        return [(a, 1) for a in self._apps.view() if a.sink is not None and bridge.id in a.bridges]

    def endpoint_recipients(self, tech: str, resource: str) -> Recipients:
        result: Recipients = []
        for app in self._apps.view():
            if app.sink is not None:
                copies = app.endpoint_copies(tech, resource)
                if copies:
                    result.append((app, copies))
        return result

    def device_recipients(self, device: str) -> Recipients:
        return [(a, 1) for a in self._apps.view() if a.sink is not None and device in a.devices]

    def app_recipients(self, name: str) -> Recipients:
        app = self._apps.get(name)
        return [(app, 1)] if app is not None and app.sink is not None else []

    # Publishing --------------------------------------------------------------------------

    def publish(
        self,
        recipients: Recipients,
        event_type: str,
        body: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    ) -> None:
        """Send one event to ``recipients``; ``body`` may be a function, built only if needed."""
        if not recipients:
            return
        fields = body() if callable(body) else body
        timestamp = ari_timestamp(self._clock.now())
        for app, copies in recipients:
            if not app.accepts(event_type) or app.sink is None:
                continue
            message = {"type": event_type, "timestamp": timestamp, **fields}
            message["asterisk_id"] = self.asterisk_id
            message["application"] = app.name
            text = json.dumps(message, separators=(",", ":"))
            for _ in range(copies):
                app.sink.push(text)
            self.sent += copies

    def channel_event(
        self, channel: Channel, event_type: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        self.publish(
            self.channel_recipients(channel),
            event_type,
            lambda: {**(extra or {}), "channel": channel.snapshot()},
        )

    def bridge_event(self, bridge: Bridge, event_type: str, channel: Channel | None = None) -> None:
        def body() -> dict[str, Any]:
            fields: dict[str, Any] = {"bridge": bridge.snapshot(with_internal=True)}
            if channel is not None:
                fields["channel"] = channel.snapshot()
            return fields

        self.publish(self.bridge_recipients(bridge), event_type, body)

    def stasis_event(
        self, app_name: str, channel: Channel, event_type: str, args: list[str] | None = None
    ) -> None:
        def body() -> dict[str, Any]:
            if args is None:
                return {"channel": channel.snapshot()}
            return {"args": list(args), "channel": channel.snapshot()}

        self.publish(self.app_recipients(app_name), event_type, body)
