"""Callers arriving on the carrier trunk: ``PJSIP/carrier-…`` in state Ring, context from-carrier.

A call runs the lab dialplan: ``Stasis(<app>,<routing key>)`` at priority 2, so the
application sees ``StasisStart`` with ``args [routing_key]``; when the application
does not exist the dialplan goes on to ``Hangup()`` and nothing reaches ARI
(trace h, part 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.sim.model import Channel, ChannelKind, Location, Party
from ari_app.sim.wire import NORMAL_CLEARING

if TYPE_CHECKING:
    from ari_app.sim.pbx import Pbx

DTMF_DIGITS = set("0123456789*#ABCD")


class Carrier:
    """The emergency trunk: places calls and plays the callers' side of them."""

    def __init__(self, pbx: Pbx) -> None:
        self._pbx = pbx

    def place_call(
        self,
        *,
        routing_key: str,
        number: str,
        app: str,
        caller_name: str = "",
        patience_s: float | None = None,
    ) -> Channel:
        if not routing_key or any(c.isspace() or c in ",/@" for c in routing_key):
            raise ValueError(f"routing key {routing_key!r} must be a non-empty word")
        if patience_s is not None and patience_s < 0:
            raise ValueError(f"caller patience must be zero or more seconds, not {patience_s}")
        pbx = self._pbx
        trunk = pbx.trunk
        channel = pbx.new_channel(
            channel_id=pbx.ids.unique_id(),
            name=pbx.ids.channel_name("PJSIP", trunk.resource),
            tech="PJSIP",
            resource=trunk.resource,
            kind=ChannelKind.CALLER,
            state="Ring",
            caller=Party(caller_name, number),
            connected=Party(),
            location=Location("from-carrier", routing_key, 1),
            home_app=app,
            protocol_id=pbx.ids.sip_call_id(),
        )
        pbx.open_record(channel, routing_key=routing_key, app=app)
        pbx.bus.channel_event(channel, "ChannelCreated")
        if patience_s is not None:
            channel.timers.append(
                pbx.timers.after(
                    patience_s, lambda: self._patience_over(channel), f"patience-{channel.id}"
                )
            )
        pbx.run_dialplan(channel, "from-carrier", routing_key, 1)
        return channel

    def _patience_over(self, channel: Channel) -> None:
        record = channel.record
        if channel.gone or record is None or record.talked:
            return
        record.abandoned_by_patience = True
        self.hang_up(channel)

    def hang_up(self, channel: Channel) -> None:
        """The caller hangs up (BYE): ``ChannelHangupRequest`` without cause, then ``StasisEnd``."""
        self._pbx.hangup(channel, cause=NORMAL_CLEARING, request={}, ended_by="caller")

    async def send_dtmf(
        self, channel: Channel, digits: str, *, duration_ms: int = 160, between_s: float = 0.52
    ) -> None:
        """RFC 4733 digits from the caller: one ``ChannelDtmfReceived`` each (trace j)."""
        bad = sorted(set(digits) - DTMF_DIGITS)
        if not digits or bad:
            raise ValueError(f"DTMF digits {digits!r} must be among 0-9, *, #, A-D")
        pbx = self._pbx
        for index, digit in enumerate(digits):
            if index:
                await pbx.clock.sleep(between_s)
            if channel.gone:
                return
            pbx.bus.channel_event(
                channel, "ChannelDtmfReceived", {"digit": digit, "duration_ms": duration_ms}
            )
            pbx.media.dtmf_received(channel, digit)
