"""What became of ringing a position, named once, from Asterisk's hangup causes.

A ringing position ends in one of the named outcomes; the Q.850 cause of the operator leg's
``ChannelDestroyed`` says which (``ChannelHangupRequest.cause`` is not reliable for this,
see the reference traces). One table, here, so the mapping is read and changed in one place.
"""

from __future__ import annotations

from ari_app.vcta import OfferFailure

# Q.850 cause -> why the position did not take the call.
_FAILURE_BY_CAUSE: dict[int, OfferFailure] = {
    1: OfferFailure.UNREACHABLE,  # unallocated number
    3: OfferFailure.UNREACHABLE,  # no route to destination
    16: OfferFailure.NO_ANSWER,  # normal clearing before answer: the phone gave up ringing
    17: OfferFailure.BUSY,  # user busy (486)
    18: OfferFailure.NO_ANSWER,  # no user responding
    19: OfferFailure.NO_ANSWER,  # user alerting, no answer (ring timeout, 480)
    20: OfferFailure.UNREACHABLE,  # subscriber absent (not registered)
    21: OfferFailure.REJECTED,  # call rejected (603 Decline: the operator refused)
    27: OfferFailure.UNREACHABLE,  # destination out of order
    31: OfferFailure.NO_ANSWER,  # normal, unspecified
    34: OfferFailure.UNREACHABLE,  # no circuit available
    38: OfferFailure.UNREACHABLE,  # network out of order
    41: OfferFailure.UNREACHABLE,  # temporary failure
    42: OfferFailure.UNREACHABLE,  # switching equipment congestion
}


def failure_of_cause(cause: int) -> OfferFailure:
    """Why a position that was rung did not answer, from the leg's hangup cause.

    Causes not in the table count as unreachable: the position is not tried again until its
    endpoint is reported online, which is the safe side for a caller waiting.
    """
    return _FAILURE_BY_CAUSE.get(cause, OfferFailure.UNREACHABLE)
