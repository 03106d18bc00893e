"""Tunables of the call handling, with the values an emergency centre would start from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Recording(StrEnum):
    """Who records each call (docs/calls.md, "Recording")."""

    DIALPLAN = "dialplan"  # MixMonitor on the caller's channel, started by the dialplan
    BRIDGE = "bridge"  # the application records the talk bridge over ARI
    OFF = "off"  # the centre's own recorder takes every call


RECORD_VARIABLE = "VCTA_RECORD"
"""The dialplan global telling extensions.conf to start MixMonitor ("yes") or not ("no");
the application sets it at each connection to Asterisk."""


@dataclass(frozen=True, slots=True)
class CallSettings:
    """How calls are handled; durations in (clock) seconds."""

    app_name: str
    ring_timeout_s: float = 20.0  # a position rings this long before the next one is tried
    wrap_up_s: float = 10.0  # after a call, before the position is offered again
    # Margin past the ring timeout after which we stop waiting for Asterisk's verdict.
    ring_guard_s: float = 5.0
    # Longest announcement; a playback that never reports its end is stopped after this.
    playback_guard_s: float = 60.0
    # A new caller not in their waiting bridge this long after arriving is handed back to the
    # dialplan, whose fallback rings positions directly: under overload a caller must not
    # wait in silence behind our requests, nor fail at SIP. None: never (the emulator, whose
    # dialplan has no fallback).
    setup_guard_s: float | None = 5.0
    recording_format: str = "wav"
    # HTTP connections to ARI at most: Asterisk refuses those past http.conf's sessionlimit
    # (100 unless set, the event websocket included), and a refused request is a retry.
    ari_connections: int = 50
    # The emulator has no MixMonitor: recording over ARI is what works everywhere.
    recording: Recording = Recording.BRIDGE
    policy_interval_s: float = 1.0  # how often waiting calls are considered for mutual aid
    # How often calls the dialplan fallback handled alone are looked for in AstDB.
    dialplan_sweep_s: float = 10.0
    # Real seconds a node's event stream may stay lost before the node is counted down and
    # its calls ended (a reconnection within it costs nothing).
    node_down_after_s: float = 5.0
    # A session whose queue grows past this is falling behind: warn.
    backlog_warning: int = 50
