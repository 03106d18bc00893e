"""What a waiting caller hears: the unit's announcements and the home centre's crisis message."""

from __future__ import annotations

from dataclasses import dataclass

from ari_app.vcta.state import PolicyState


@dataclass(frozen=True, slots=True)
class WaitingMedia:
    """Play ``crisis_message`` if any, then ``welcome``, then music on hold of class
    ``music_on_hold`` with ``reminder`` every ``reminder_every`` seconds."""

    welcome: str
    crisis_message: str | None
    reminder: str
    reminder_every: float
    music_on_hold: str


def waiting_media(state: PolicyState, unit_id: str, home_centre: str) -> WaitingMedia:
    """The media for a caller of ``home_centre`` waiting at ``unit_id``.

    The sounds are the unit's (a virtual CTA's own); the crisis message is the home centre's,
    since a crisis is about the caller's area, wherever the call waits.
    """
    sounds = state.units[unit_id].announcements
    return WaitingMedia(
        welcome=sounds.welcome,
        crisis_message=state.modes.of(home_centre).crisis_message,
        reminder=sounds.reminder,
        reminder_every=sounds.reminder_every,
        music_on_hold=sounds.music_on_hold,
    )
