"""What a call's session needs from the call service around it, as protocols: the session
and its executor know the service only through these (no import ring inside ``calls``)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol

from ari_app.calls.config import CallSettings
from ari_app.calls.ids import CallNames
from ari_app.calls.journal import Journal
from ari_app.clock import Clock
from ari_app.stasis import AriClient, Event
from ari_app.vcta import PolicyState


class EventSink(Protocol):
    """Whoever takes the events of a resource (a call's session)."""

    def on_event(self, event: Event) -> None: ...


class SessionHost(Protocol):
    """The call service, as a session sees it."""

    ari: AriClient
    names: CallNames
    settings: CallSettings
    journal: Journal
    clock: Clock

    @property
    def policy(self) -> PolicyState: ...

    def register(self, resource_id: str, sink: EventSink) -> None:
        """Route the events of ``resource_id`` (an operator leg, a playback) to ``sink``."""
        ...

    def forget(self, resource_id: str) -> None: ...

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run a clean-up task the service keeps track of."""
        ...

    def policy_changed(self) -> None:
        """Something changed that may allow an offer: run the distribution."""
        ...

    def session_ended(self, call_id: str, wrap_up: str | None) -> None:
        """The call is over; ``wrap_up``: the position that talked, now in wrap-up."""
        ...
