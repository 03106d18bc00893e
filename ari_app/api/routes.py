"""Every route of the API, in one table (see ``framework``): the application and its OpenAPI
document are both built from it."""

from __future__ import annotations

from ari_app.api import board, changes, probes, records, state
from ari_app.api.framework import Access, Route
from ari_app.api.models import (
    ActivityQuery,
    Board,
    CallbackDone,
    Callbacks,
    CallbacksQuery,
    CallbackState,
    ChangeResult,
    CrisisMessageChange,
    DiversionChange,
    Health,
    ModeChanges,
    ModeChangesQuery,
    MutualAidChange,
    PickRequest,
    PickResult,
    PositionChange,
    Positions,
    PositionsQuery,
    Readiness,
    UnitActivity,
    Units,
    UnitState,
    VctaActivation,
    WaitingCalls,
)

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"

UNIT_ID = {"unit_id": "A centre or virtual CTA id, e.g. sdis77."}
CENTRE_ID = {"centre_id": "A centre id, e.g. sdis77."}
POSITION_ID = {"position_id": "A position id, e.g. sdis77-op1."}

_CHANGE_ERRORS = (403, 404, 400, 413, 422, 503)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET", "/healthz", "healthz", "The process is alive", Access.PUBLIC, probes.healthz,
        Health, tag="operations",
    ),
    Route(
        "GET", "/readyz", "readyz",
        "Ready: connected to Asterisk and resynchronised (503 until then)",
        Access.PUBLIC, probes.readyz, Readiness, tag="operations", errors=(503,),
    ),
    Route(
        "GET", "/metrics", "metrics", "Prometheus metrics", Access.PUBLIC, probes.metrics,
        None, tag="operations", media_type="text/plain",
    ),
    Route(
        "GET", OPENAPI_PATH, "openapi", "This OpenAPI document", Access.PUBLIC, probes.openapi,
        None, tag="operations",
    ),
    Route(
        "GET", f"{PREFIX}/units", "list_units",
        "Every unit: queue, positions, saturation, modes, overflow, NENA queue state",
        Access.READ, state.list_units, Units, tag="state",
    ),
    Route(
        "GET", f"{PREFIX}/units/{{unit_id}}", "get_unit", "One unit", Access.READ,
        state.get_unit, UnitState, tag="state", errors=(404,), path_parameters=UNIT_ID,
    ),
    Route(
        "GET", f"{PREFIX}/units/{{unit_id}}/waiting-calls", "waiting_calls",
        "Calls waiting at a unit, oldest first (what an operator picks from)",
        Access.READ, state.waiting_calls, WaitingCalls, tag="state", errors=(404,),
        path_parameters=UNIT_ID,
    ),
    Route(
        "GET", f"{PREFIX}/units/{{unit_id}}/activity", "unit_activity",
        "A unit's last hour minute by minute: calls, answered within 15 s, waiting, mutual aid",
        Access.READ, board.unit_activity, UnitActivity, tag="state", query=ActivityQuery,
        errors=(404, 422), path_parameters=UNIT_ID,
    ),
    Route(
        "GET", f"{PREFIX}/board", "board",
        "The dashboard's board: every unit with its last hour, positions, waiting calls, flows",
        Access.READ, board.get_board, Board, tag="state",
        description="What the dashboard's live feed (/dashboard/events, server-sent events) "
        "sends first; it then sends only what changed, at most once a second.",
    ),
    Route(
        "GET", f"{PREFIX}/positions", "list_positions", "Positions and what they are doing",
        Access.READ, state.list_positions, Positions, tag="state", query=PositionsQuery,
        errors=(404, 422),
    ),
    Route(
        "GET", f"{PREFIX}/mode-changes", "recent_mode_changes",
        "Recent duty-officer changes, newest first (the audit trail)",
        Access.READ, records.recent_mode_changes, ModeChanges, tag="records",
        query=ModeChangesQuery, errors=(404, 422, 503),
    ),
    Route(
        "GET", f"{PREFIX}/callbacks", "list_callbacks",
        "Abandoned callers to call back, oldest hang-up first",
        Access.READ, records.list_callbacks, Callbacks, tag="records", query=CallbacksQuery,
        errors=(404, 422, 503),
    ),
    Route(
        "POST", f"{PREFIX}/callbacks/{{call_id}}/done", "mark_callback_done",
        "Record that an abandoned caller was called back",
        Access.CHANGE, records.mark_callback_done, CallbackState, tag="records",
        body=CallbackDone, errors=(*_CHANGE_ERRORS, 409),
        path_parameters={"call_id": "The abandoned call's id."},
        description="A centre's duty officer may mark the callbacks of that centre's callers; "
        "a national token any. The token's name is recorded as who called back.",
    ),
    Route(
        "PUT", f"{PREFIX}/centres/{{centre_id}}/mutual-aid", "set_mutual_aid",
        "Switch a centre's outgoing and incoming mutual aid",
        Access.CHANGE, changes.set_mutual_aid, ChangeResult, tag="changes",
        body=MutualAidChange, errors=(*_CHANGE_ERRORS, 409), path_parameters=CENTRE_ID,
    ),
    Route(
        "PUT", f"{PREFIX}/centres/{{centre_id}}/diversion", "set_diversion",
        "Divert a centre's new calls to another centre, or end the diversion",
        Access.CHANGE, changes.set_diversion, ChangeResult, tag="changes",
        body=DiversionChange, errors=(*_CHANGE_ERRORS, 409), path_parameters=CENTRE_ID,
        description="Refused with 409 and the policy's sentence when it would make a loop; "
        "422 when the target is not another centre. Calls waiting at the centre move too.",
    ),
    Route(
        "PUT", f"{PREFIX}/centres/{{centre_id}}/crisis-message", "set_crisis_message",
        "Set or clear the message played to a centre's waiting callers",
        Access.CHANGE, changes.set_crisis_message, ChangeResult, tag="changes",
        body=CrisisMessageChange, errors=(*_CHANGE_ERRORS, 409), path_parameters=CENTRE_ID,
        description="422 (unknown_media) when Asterisk has no such sound (GET /sounds) or "
        "stored recording; accepted unchecked when Asterisk cannot be asked.",
    ),
    Route(
        "PUT", f"{PREFIX}/virtual-ctas/{{vcta_id}}/active", "set_vcta_active",
        "Activate or deactivate a virtual CTA",
        Access.CHANGE, changes.set_vcta_active, ChangeResult, tag="changes",
        body=VctaActivation, errors=(*_CHANGE_ERRORS, 409),
        path_parameters={"vcta_id": "A virtual CTA id."},
        description="Needs the scope national, or a centre scope for every member.",
    ),
    Route(
        "POST", f"{PREFIX}/positions/{{position_id}}/pause", "pause_position",
        "Stop offering calls to a position", Access.CHANGE, changes.pause_position,
        ChangeResult, tag="changes", body=PositionChange, errors=(*_CHANGE_ERRORS, 409),
        path_parameters=POSITION_ID,
    ),
    Route(
        "POST", f"{PREFIX}/positions/{{position_id}}/resume", "resume_position",
        "Offer calls to a position again", Access.CHANGE, changes.resume_position,
        ChangeResult, tag="changes", body=PositionChange, errors=(*_CHANGE_ERRORS, 409),
        path_parameters=POSITION_ID,
    ),
    Route(
        "POST", f"{PREFIX}/positions/{{position_id}}/pick", "pick_call",
        "Ring a position for a call waiting at its unit",
        Access.CHANGE, changes.pick_call, PickResult, tag="changes", body=PickRequest,
        errors=(*_CHANGE_ERRORS, 409), path_parameters=POSITION_ID,
        description="Refused with 409 and the policy's reason when the call is not waiting "
        "at the position's unit or the position is ringing, busy or offline.",
    ),
)  # fmt: skip
