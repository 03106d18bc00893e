"""Subscribing the application to an endpoint technology makes Asterisk deliver each event
of a channel on it once per matching subscription: identical copies, side by side."""

from __future__ import annotations

from ari_app.sim import Emulator
from ari_app.stasis import AriClient, ChannelDestroyed, StreamItem
from tests.integration.flows import operator_in_stasis, sentinel_call
from tests.integration.recorder import EventRecorder
from tests.integration.world import APP

ENDPOINT_ONLY = ("ChannelCreated", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine")
DUPLICATED = ("Dial", "ChannelStateChange", "ChannelHangupRequest", "ChannelDestroyed")


async def operator_call_events(
    emu: Emulator, ari: AriClient, events: EventRecorder, channel_id: str
) -> list[StreamItem]:
    """Originate to a position, answer, hang up; every event received about that channel."""
    await operator_in_stasis(ari, events, channel_id=channel_id)
    await ari.channels.hangup(channel_id)
    await events.wait_for(ChannelDestroyed, lambda e: e.channel.id == channel_id)
    await sentinel_call(emu, events)  # any copy still to come arrived before this
    return events.about_channel(channel_id)


def types(items: list[StreamItem]) -> list[str]:
    return [str(getattr(item, "type", "")) for item in items]


async def test_endpoint_subscription_delivers_identical_duplicates_of_channel_events(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    app = await ari.applications.subscribe(APP, "endpoint:PJSIP")
    assert app.endpoint_ids == ["PJSIP"]
    received = await operator_call_events(emu, ari, events, "vcta-op-dup")
    for kind in DUPLICATED:
        copies = [item for item in received if getattr(item, "type", None) == kind]
        assert copies, f"no {kind} received"
        assert len(copies) % 2 == 0, f"{kind} not delivered twice: {types(received)}"
        for first, second in zip(copies[0::2], copies[1::2], strict=True):
            assert first == second  # same content, timestamps included: de-duplicate on it
            assert events.position(second) == events.position(first) + 1
    # Application events are not multiplied by the endpoint subscription.
    assert types(received).count("StasisStart") == 1
    assert types(received).count("StasisEnd") == 1

    await ari.applications.unsubscribe(APP, "endpoint:PJSIP")
    single = await operator_call_events(emu, ari, events, "vcta-op-single")
    assert types(single) == [
        "Dial",
        "ChannelStateChange",
        "Dial",
        "ChannelStateChange",
        "Dial",
        "StasisStart",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    # Without the copies, and without the creation events only the endpoint subscription
    # delivers, the subscribed call's events are those of a plain call.
    unique = [item for i, item in enumerate(received) if i == 0 or item != received[i - 1]]
    assert [kind for kind in types(unique) if kind not in ENDPOINT_ONLY] == types(single)
