"""How Asterisk writes things on the wire: timestamps, caller ids and hangup causes."""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Mapping
from types import MappingProxyType

# Q.850 causes as Asterisk names them in ``ChannelDestroyed.cause_txt`` (main/channel.c).
CAUSE_TEXTS: Mapping[int, str] = MappingProxyType(
    {
        0: "Unknown",
        1: "Unallocated (unassigned) number",
        3: "No route to destination",
        16: "Normal Clearing",
        17: "User busy",
        18: "No user responding",
        19: "User alerting, no answer",
        20: "Subscriber absent",
        21: "Call Rejected",
        26: "Answered elsewhere",
        27: "Destination out of order",
        28: "Invalid number format (incomplete number)",
        31: "Normal, unspecified",
        34: "Circuit/channel congestion",
        38: "Network out of order",
        41: "Temporary failure",
        58: "Bearer capability not available",
        127: "Interworking, unspecified",
    }
)

NORMAL_CLEARING = 16
USER_BUSY = 17
NO_ANSWER = 19
CALL_REJECTED = 21

# ``DELETE /channels/{id}?reason=...`` (res/ari/resource_channels.c).
HANGUP_REASONS: Mapping[str, int] = MappingProxyType(
    {
        "normal": 16,
        "busy": 17,
        "congestion": 34,
        "no_answer": 19,
        "timeout": 18,
        "rejected": 21,
        "unallocated": 1,
        "normal_unspecified": 31,
        "number_incomplete": 28,
        "codec_mismatch": 58,
        "interworking": 127,
        "failure": 38,
        "answered_elsewhere": 26,
    }
)


def cause_text(cause: int) -> str:
    return CAUSE_TEXTS.get(cause, "Unknown")


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def ari_timestamp(epoch_s: float) -> str:
    """``2026-11-28T17:41:11.334+0000``: UTC, milliseconds, offset without a colon."""
    second = math.floor(epoch_s)
    millis = min(999, int((epoch_s - second) * 1000))
    return f"{_utc_second(second)}.{millis:03d}+0000"


_NAME_AND_NUMBER = re.compile(
    r'^\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[^<]*?))\s*<(?P<number>[^>]*)>\s*$'
)
_SHRINKABLE = re.compile(r"^[0-9+()\-. ]*$")


def parse_callerid(text: str) -> tuple[str, str]:
    """Split ``"Name" <number>`` the way ``ast_callerid_parse`` does: ``(name, number)``."""
    match = _NAME_AND_NUMBER.match(text)
    if match:
        name = match.group("quoted")
        if name is None:
            name = (match.group("bare") or "").strip()
        return name, _shrink(match.group("number").strip())
    stripped = text.strip().strip('"')
    if stripped and _SHRINKABLE.match(stripped) and any(c.isdigit() for c in stripped):
        return "", _shrink(stripped)
    return stripped, ""


def _shrink(number: str) -> str:
    # ast_shrink_phone_number: drop the punctuation of a plain phone number.
    if _SHRINKABLE.match(number):
        return re.sub(r"[()\-. ]", "", number)
    return number
