"""Reading the records: recent mode changes (audit) and the abandoned-callers callback list."""

from __future__ import annotations

from ari_app.api.errors import ApiError, not_found
from ari_app.api.framework import RequestContext, from_store
from ari_app.api.models import (
    CallbackDone,
    Callbacks,
    CallbacksQuery,
    CallbackState,
    ModeChanges,
    ModeChangesQuery,
)
from ari_app.api.ports import CallbackList
from ari_app.api.presenters import audit_record, callback_state
from ari_app.store.errors import CallbackAlreadyDone, CallbackNotFound


def _known(context: RequestContext, unit_id: str | None, *, centre: bool) -> None:
    """An unknown id is refused: an empty list would read as "nothing happened there"."""
    if unit_id is None:
        return
    topology = context.deps.calls.topology
    if centre and unit_id not in topology.centre_by_id:
        raise not_found(
            f"there is no centre {unit_id!r} in the topology (see /api/v1/units)", "unknown_centre"
        )
    if not centre and unit_id not in topology.unit_ids:
        raise not_found(
            f"there is no unit {unit_id!r}: units are the centres and virtual CTAs of the "
            "topology (see /api/v1/units)",
            "unknown_unit",
        )


async def recent_mode_changes(context: RequestContext) -> ModeChanges:
    query = context.query_as(ModeChangesQuery)
    _known(context, query.unit, centre=False)
    entries = await from_store(
        context.deps,
        context.deps.history.recent(limit=query.limit, unit_id=query.unit),
        "the recent mode changes",
    )
    return ModeChanges(changes=[audit_record(e) for e in entries])


def _callbacks(context: RequestContext) -> CallbackList:
    callbacks = context.deps.callbacks
    if callbacks is None:
        raise ApiError(
            503,
            "callbacks_unavailable",
            "the callback list is kept in the database, and this server runs without one",
        )
    return callbacks


async def list_callbacks(context: RequestContext) -> Callbacks:
    query = context.query_as(CallbacksQuery)
    _known(context, query.centre, centre=True)
    found = await from_store(
        context.deps,
        _callbacks(context).list(
            pending_only=query.pending, centre_id=query.centre, limit=query.limit
        ),
        "the callback list",
    )
    return Callbacks(callbacks=[callback_state(c) for c in found])


async def mark_callback_done(context: RequestContext) -> CallbackState:
    callbacks = _callbacks(context)
    call_id = context.path_parameter("call_id")
    callback = await from_store(context.deps, callbacks.find(call_id), "the callback list")
    if callback is None:
        raise not_found(
            f"call {call_id!r} is not on the callback list: only abandoned calls are",
            "unknown_callback",
        )
    if callback.home_centre is not None:
        context.require_change(callback.home_centre, f"the callbacks of {callback.home_centre}")
    elif context.grant is not None and not context.grant.may_change(""):
        raise ApiError(
            403,
            "forbidden",
            f"call {call_id} has no home centre: only a token with the scope national may "
            "mark its callback done",
        )
    body = await context.body(CallbackDone)
    try:
        done = await from_store(
            context.deps,
            callbacks.mark_done(call_id, body.outcome, by=context.actor, note=body.note),
            "the callback list",
        )
    except CallbackNotFound as error:
        raise not_found(str(error), "unknown_callback") from None
    except CallbackAlreadyDone as error:
        raise ApiError(409, "callback_already_done", str(error)) from None
    return callback_state(done)
