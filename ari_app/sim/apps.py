"""Stasis applications: what each is subscribed to, and which websocket receives its events.

Subscriptions are counted as Asterisk counts them: originating a channel for an
application, the channel's ``StasisStart`` and an explicit subscription each add
one, ``StasisEnd`` and an explicit unsubscription remove one. ``addChannel`` adds
one on the bridge; ``removeChannel`` and moving the channel to another bridge remove
it; hanging up or continuing in the dialplan do not (trace l). An application whose
websocket is gone lives on while anything is subscribed and disappears with the last
subscription (trace h).
"""

from __future__ import annotations

from collections.abc import ValuesView
from dataclasses import dataclass, field
from typing import Any, Protocol


class EventSink(Protocol):
    """Where an application's serialised events go: one websocket connection."""

    def push(self, text: str) -> None: ...


def _add(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _remove(counts: dict[str, int], key: str) -> bool:
    """Drop one reference; False when there was none."""
    n = counts.get(key, 0)
    if n == 0:
        return False
    if n == 1:
        del counts[key]
    else:
        counts[key] = n - 1
    return True


@dataclass(eq=False)
class Application:
    name: str
    sink: EventSink | None = None
    channels: dict[str, int] = field(default_factory=dict)
    bridges: dict[str, int] = field(default_factory=dict)
    endpoints: dict[str, int] = field(default_factory=dict)  # "PJSIP" or "PJSIP/sdis77-op1"
    devices: dict[str, int] = field(default_factory=dict)
    allowed: list[dict[str, Any]] = field(default_factory=list)
    disallowed: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "channel_ids": list(self.channels),
            "bridge_ids": list(self.bridges),
            "endpoint_ids": list(self.endpoints),
            "device_names": list(self.devices),
            "events_allowed": list(self.allowed),
            "events_disallowed": list(self.disallowed),
        }

    @property
    def has_subscriptions(self) -> bool:
        return bool(self.channels or self.bridges or self.endpoints or self.devices)

    def accepts(self, event_type: str) -> bool:
        """The event filter of ``PUT /applications/{app}/eventFilter``."""
        if self.allowed and not any(f.get("type") == event_type for f in self.allowed):
            return False
        return not any(f.get("type") == event_type for f in self.disallowed)

    def endpoint_copies(self, tech: str, resource: str) -> int:
        """How many of this application's endpoint subscriptions match (each delivers a copy)."""
        if not self.endpoints:
            return 0
        return (tech in self.endpoints) + (f"{tech}/{resource}" in self.endpoints)


class Applications:
    """The registry of applications, keyed by name."""

    def __init__(self) -> None:
        self._apps: dict[str, Application] = {}

    def get(self, name: str) -> Application | None:
        return self._apps.get(name)

    def all(self) -> list[Application]:
        return list(self._apps.values())

    def view(self) -> ValuesView[Application]:
        """The applications, without a copy (do not change the registry while iterating)."""
        return self._apps.values()

    def attach(self, name: str, sink: EventSink) -> EventSink | None:
        """Bind ``name`` to ``sink``, creating it if needed; return the sink it replaced."""
        app = self._apps.get(name)
        if app is None:
            app = self._apps[name] = Application(name)
        previous, app.sink = app.sink, sink
        return previous if previous is not sink else None

    def detach(self, sink: EventSink) -> list[str]:
        """The websocket ``sink`` closed: deactivate its applications, drop finished ones."""
        names = [app.name for app in self._apps.values() if app.sink is sink]
        for name in names:
            self._apps[name].sink = None
            self.forget_if_finished(name)
        return names

    def forget_if_finished(self, name: str) -> None:
        app = self._apps.get(name)
        if app is not None and app.sink is None and not app.has_subscriptions:
            del self._apps[name]

    # Channel and bridge subscriptions -------------------------------------------------

    def subscribe_channel(self, name: str, channel_id: str) -> None:
        app = self._apps.get(name)
        if app is not None:
            _add(app.channels, channel_id)

    def unsubscribe_channel(self, name: str, channel_id: str) -> bool:
        app = self._apps.get(name)
        if app is None:
            return False
        removed = _remove(app.channels, channel_id)
        self.forget_if_finished(name)
        return removed

    def subscribe_bridge(self, name: str, bridge_id: str) -> None:
        app = self._apps.get(name)
        if app is not None:
            _add(app.bridges, bridge_id)

    def unsubscribe_bridge(self, name: str, bridge_id: str) -> bool:
        app = self._apps.get(name)
        if app is None:
            return False
        removed = _remove(app.bridges, bridge_id)
        self.forget_if_finished(name)
        return removed

    def subscribe_endpoint(self, name: str, key: str) -> None:
        app = self._apps.get(name)
        if app is not None:
            _add(app.endpoints, key)

    def unsubscribe_endpoint(self, name: str, key: str) -> bool:
        app = self._apps.get(name)
        if app is None:
            return False
        removed = _remove(app.endpoints, key)
        self.forget_if_finished(name)
        return removed

    def subscribe_device(self, name: str, device: str) -> None:
        app = self._apps.get(name)
        if app is not None:
            _add(app.devices, device)

    def unsubscribe_device(self, name: str, device: str) -> bool:
        app = self._apps.get(name)
        if app is None:
            return False
        removed = _remove(app.devices, device)
        self.forget_if_finished(name)
        return removed

    def forget_channel(self, channel_id: str) -> None:
        """A destroyed channel: every subscription to it ends."""
        for app in list(self._apps.values()):
            if app.channels.pop(channel_id, None) is not None:
                self.forget_if_finished(app.name)

    def forget_bridge(self, bridge_id: str) -> None:
        for app in list(self._apps.values()):
            if app.bridges.pop(bridge_id, None) is not None:
                self.forget_if_finished(app.name)
