"""The API's request and response bodies.

The same models validate requests, serialise answers and describe both in the OpenAPI
document, so the document cannot drift from what the handlers accept. Request bodies are
strict (JSON types must match; unknown fields are refused); query strings are lax (``"50"``
is the number 50) and unknown query parameters are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ari_app.store.callbacks import CallbackOutcome
from ari_app.vcta import CallStatus, PositionStatus, QueueState, UnitKind

# Text reaches the audit trail and PostgreSQL, which cannot store NUL: control characters are
# refused in ids and one-line texts (a note may have line breaks and tabs).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
LINES = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=ONE_LINE),
    Field(description="Why the change is made: kept in the audit trail with the actor."),
]
OptionalReason = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=500, pattern=ONE_LINE),
    Field(description="Why, for the audit trail (optional)."),
]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- requests ------------------------------------------------------------------------------


class MutualAidChange(RequestBody):
    """Switch a centre's outgoing and/or incoming mutual aid."""

    outgoing: bool | None = Field(
        default=None,
        description="Its waiting calls may go to neighbours when it is saturated.",
    )
    incoming: bool | None = Field(
        default=None, description="It takes neighbours' calls when it has room."
    )
    reason: Reason

    @model_validator(mode="after")
    def _something_to_change(self) -> MutualAidChange:
        if self.outgoing is None and self.incoming is None:
            raise ValueError("give 'outgoing', 'incoming' or both (true or false)")
        return self


class DiversionChange(RequestBody):
    """Send every new call of the centre to another centre (``to``), or stop (``null``)."""

    to: Id | None = Field(description="Id of the centre that takes the calls; null ends it.")
    reason: Reason


class CrisisMessageChange(RequestBody):
    """Play a message to the centre's waiting callers, or stop (``null``)."""

    message: (
        Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=ONE_LINE)] | None
    ) = Field(
        description="A media Asterisk can play: 'sound:crisis/flood' or 'recording:crisis-77'; "
        "null clears it."
    )
    reason: Reason


class VctaActivation(RequestBody):
    """Pool the virtual CTA's members into one unit (true), or split them again (false)."""

    active: bool
    reason: Reason


class PositionChange(RequestBody):
    """Pause or resume a position."""

    reason: OptionalReason = None


class PickRequest(RequestBody):
    """Ring this position for a call waiting at its unit."""

    call_id: Id


class CallbackDone(RequestBody):
    """The abandoned caller was called back."""

    outcome: CallbackOutcome
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=LINES)]
        | None
    ) = None


class ModeChangesQuery(Query):
    limit: int = Field(default=50, ge=1, le=500, description="How many changes, newest first.")
    unit: Id | None = Field(default=None, description="Only changes of this unit.")


class PositionsQuery(Query):
    unit: Id | None = Field(default=None, description="Only positions serving this unit.")


class CallbacksQuery(Query):
    pending: bool = Field(default=True, description="Only callbacks not yet done.")
    centre: Id | None = Field(default=None, description="Only callers of this home centre.")
    limit: int = Field(default=500, ge=1, le=5000)


# -- answers -------------------------------------------------------------------------------


class Health(Answer):
    status: str = Field(description="'alive'.")


class Readiness(Answer):
    ready: bool
    message: str
    role: str = Field(
        default="single",
        description="single (the only instance), active, standby or fenced (docs/failover.md).",
    )
    instance: str = Field(default="", description="This instance's name (ARI_APP_INSTANCE_NAME).")
    problems: dict[str, str] = Field(
        default_factory=dict,
        description="What works only in part, by dependency ('database', 'asterisk'): a "
        "sentence saying why and what to do (calls are taken without PostgreSQL).",
    )
    nodes: dict[str, str] = Field(
        default_factory=dict,
        description="Each Asterisk node's state by name: up (offers are made through it), "
        "connecting (its event stream is lost or resynchronising), down (lost past "
        "ARI_APP_NODE_DOWN_AFTER_S: its calls ended). Ready while one node is up.",
    )


class CentreModesState(Answer):
    centre: str
    outgoing_mutual_aid: bool
    incoming_mutual_aid: bool
    diverted_to: str | None
    crisis_message: str | None


class NenaQueueState(Answer):
    """The unit in the terms of the NG112 / NENA i3 QueueState event (NENA-STA-010)."""

    queueState: QueueState  # NENA's field names, as they are
    queueLength: int
    queueMaxLength: int


class PositionState(Answer):
    id: str
    endpoint: str
    centre: str
    unit: str = Field(description="The unit the position serves now.")
    status: PositionStatus
    idle_for_s: float | None = Field(description="Seconds since it became free (available only).")
    call_id: str | None


class CallState(Answer):
    call_id: str
    routing_key: str
    home_centre: str
    unit: str
    status: CallStatus
    arrived_at: datetime
    waited_s: float
    hops: int = Field(description="How many times it moved to another unit.")
    overflow: bool = Field(description="It came to this unit by mutual aid or last resort.")
    position: str | None


class UnitState(Answer):
    id: str
    kind: UnitKind
    name: str
    members: list[str]
    in_service: bool = Field(description="False for a pooled centre or an inactive virtual CTA.")
    served_by: str = Field(description="The unit that takes its calls now ('' when none).")
    queue_length: int
    oldest_wait_s: float | None
    free_positions: int
    busy_positions: int
    positions: int
    saturated: bool
    saturation_reason: str
    modes: list[CentreModesState]
    overflow_held: int
    overflow_cap: int
    reserve: int
    max_queue: int
    max_wait_s: float
    queue_state: NenaQueueState


class Units(Answer):
    units: list[UnitState]


class WaitingCalls(Answer):
    unit: str
    calls: list[CallState] = Field(description="Oldest first: what a picking operator sees.")


class Positions(Answer):
    positions: list[PositionState]


class AuditRecord(Answer):
    at: datetime
    actor: str
    unit: str
    position: str | None
    what: str
    before: dict[str, str | bool | None] | None
    after: dict[str, str | bool | None]
    reason: str | None
    decision: str | None


class ModeChanges(Answer):
    changes: list[AuditRecord]


class ChangeResult(Answer):
    changed: bool = Field(description="False when the value was already in force.")
    decision: str = Field(description="The policy's sentence about the change.")
    actor: str


class PickResult(Answer):
    call_id: str
    position: str
    decision: str


class CallbackState(Answer):
    call_id: str
    caller: str | None
    home_centre: str | None
    arrived_at: datetime
    hung_up_at: datetime
    waited_s: float
    done: bool
    done_at: datetime | None
    done_by: str | None
    done_outcome: str | None
    note: str | None


class Callbacks(Answer):
    callbacks: list[CallbackState]


# -- the dashboard's board -----------------------------------------------------------------


class BoardUnit(Answer):
    """A unit as the national board shows it.

    Nothing here changes with the mere passing of time (ages are computed by the page from
    ``oldest_arrived_at`` and the board's ``at``), so the live feed sends a unit again only
    when something about it really changed.
    """

    id: str
    kind: UnitKind
    name: str
    members: list[str]
    departments: list[str] = Field(description="Departments of its centres (for the map).")
    in_service: bool
    served_by: str
    queue_length: int
    oldest_arrived_at: datetime | None = Field(description="Arrival of its oldest waiting call.")
    free_positions: int
    busy_positions: int
    positions: int
    saturated: bool
    saturation_reason: str
    modes: list[CentreModesState]
    overflow_held: int = Field(description="Calls it holds now for other units (helping).")
    overflow_cap: int
    reserve: int
    max_queue: int
    max_wait_s: float
    queue_state: QueueState
    helped_out_now: int = Field(description="Its callers held by other units now (helped).")
    helped_out_60min: int = Field(description="Calls moved away by mutual aid or last resort.")
    helped_in_60min: int = Field(description="Calls it took by mutual aid or last resort.")
    answered_15s_share_15min: float | None = Field(
        description="Share of its callers answered within 15 s (answered or abandoned in the "
        "last 15 minutes); null when there were none."
    )
    answered_15s_share_60min: float | None


class BoardPosition(Answer):
    id: str
    centre: str
    unit: str = Field(description="The unit the position serves now.")
    status: PositionStatus
    call_id: str | None


class BoardCall(Answer):
    """A waiting call as the centre page shows it."""

    call_id: str
    routing_key: str
    home_centre: str
    unit: str
    arrived_at: datetime
    hops: int
    overflow: bool
    came_from: str | None = Field(description="The unit it waited at before this one.")


class BoardFlow(Answer):
    """Calls between two units by mutual aid or last resort."""

    from_unit: str
    to_unit: str
    now: int = Field(description="Calls of from_unit's centres held by to_unit now.")
    last_15min: int = Field(description="Calls moved in the last 15 minutes.")


class Board(Answer):
    """Everything the dashboard shows live, in one document."""

    at: datetime = Field(description="The application's clock when the board was read.")
    clock_speed: float = Field(description="Clock seconds per real second (1 but in the demo).")
    units: list[BoardUnit] = Field(description="Centres in topology order, then virtual CTAs.")
    positions: list[BoardPosition]
    waiting: list[BoardCall] = Field(description="Waiting calls, oldest first per unit.")
    flows: list[BoardFlow]


class ActivityMinute(Answer):
    start: datetime
    calls: int
    answered: int
    answered_15s: int
    abandoned: int
    helped_out: int
    helped_in: int
    waiting: int = Field(description="The most calls waiting during the minute.")


class UnitActivity(Answer):
    """A unit's last hour, minute by minute, oldest first."""

    unit: str
    minutes: list[ActivityMinute]


class ActivityQuery(Query):
    minutes: int = Field(default=60, ge=1, le=60, description="How many minutes, up to now.")


class Session(Answer):
    """Who the dashboard is signed in as, and what that token may change."""

    name: str
    scopes: list[str]
    may_change: list[str] = Field(description="Centre ids the token may change.")
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change.")
