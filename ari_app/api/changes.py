"""Duty officers' changes: mutual aid, diversion, crisis message, virtual CTA, pauses, picking.

Each goes through the call handling (``change_modes`` / ``pick``), so it applies to the next
decision and is audited with the token's name as the actor. Order of the checks: the thing
changed exists (404), the token may change it (403), the body is valid (400/413/422), the call
handling is ready (503), the policy accepts it (409 with the policy's sentence otherwise).
"""

from __future__ import annotations

from ari_app.api.errors import ApiError, not_found
from ari_app.api.framework import RequestContext
from ari_app.api.models import (
    ChangeResult,
    CrisisMessageChange,
    DiversionChange,
    MutualAidChange,
    PickRequest,
    PickResult,
    PositionChange,
    VctaActivation,
)
from ari_app.vcta import (
    ModeChange,
    ModeChangeResult,
    Position,
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
)
from ari_app.vcta.mode_changes import crisis_message_problem


def _centre(context: RequestContext) -> str:
    centre_id = context.path_parameter("centre_id")
    if centre_id not in context.deps.calls.topology.centre_by_id:
        raise not_found(
            f"there is no centre {centre_id!r} in the topology (see /api/v1/units)",
            "unknown_centre",
        )
    return centre_id


def _position(context: RequestContext) -> Position:
    position_id = context.path_parameter("position_id")
    position = context.deps.calls.topology.position_by_id.get(position_id)
    if position is None:
        raise not_found(
            f"there is no position {position_id!r} in the topology (see /api/v1/positions)",
            "unknown_position",
        )
    return position


def _apply(context: RequestContext, change: ModeChange, reason: str) -> ModeChangeResult:
    context.require_ready()
    result = context.deps.calls.change_modes(change, actor=context.actor, reason=reason)
    if not result.accepted:
        raise ApiError(409, "change_refused", result.reason)
    return result


def _result(context: RequestContext, *results: ModeChangeResult) -> ChangeResult:
    return ChangeResult(
        changed=any(r.changed for r in results),
        decision="; ".join(r.reason for r in results),
        actor=context.actor,
    )


async def set_mutual_aid(context: RequestContext) -> ChangeResult:
    centre = _centre(context)
    context.require_change(centre, f"the mutual aid of {centre}")
    body = await context.body(MutualAidChange)
    results = []
    if body.outgoing is not None:
        results.append(_apply(context, SetOutgoingMutualAid(centre, body.outgoing), body.reason))
    if body.incoming is not None:
        results.append(_apply(context, SetIncomingMutualAid(centre, body.incoming), body.reason))
    return _result(context, *results)


async def set_diversion(context: RequestContext) -> ChangeResult:
    centre = _centre(context)
    context.require_change(centre, f"the diversion of {centre}")
    body = await context.body(DiversionChange)
    topology = context.deps.calls.topology
    if body.to is not None and (body.to == centre or body.to not in topology.centre_by_id):
        # The policy's own sentence; a wrong target is a wrong request, not a conflict.
        refusal = context.deps.calls.change_modes(
            SetDiversion(centre, body.to), actor=context.actor, reason=body.reason
        )
        raise ApiError(422, "invalid_diversion", refusal.reason)
    return _result(context, _apply(context, SetDiversion(centre, body.to), body.reason))


async def set_crisis_message(context: RequestContext) -> ChangeResult:
    centre = _centre(context)
    context.require_change(centre, f"the crisis message of {centre}")
    body = await context.body(CrisisMessageChange)
    if body.message is not None:
        problem = crisis_message_problem(body.message)
        if problem is not None:
            raise ApiError(422, "invalid_crisis_message", problem)
        media = context.deps.media
        missing = await media.problem(body.message) if media is not None else None
        if missing is not None:
            raise ApiError(422, "unknown_media", f"{centre}: {missing}")
    return _result(context, _apply(context, SetCrisisMessage(centre, body.message), body.reason))


async def set_vcta_active(context: RequestContext) -> ChangeResult:
    vcta_id = context.path_parameter("vcta_id")
    vcta = context.deps.calls.topology.vcta_by_id.get(vcta_id)
    if vcta is None:
        raise not_found(
            f"there is no virtual CTA {vcta_id!r} in the topology (see /api/v1/units)",
            "unknown_virtual_cta",
        )
    for member in vcta.members:
        context.require_change(member, f"virtual CTA {vcta_id}, which pools {member}")
    body = await context.body(VctaActivation)
    return _result(context, _apply(context, SetVctaActive(vcta_id, body.active), body.reason))


async def _pause(context: RequestContext, paused: bool) -> ChangeResult:
    position = _position(context)
    context.require_change(position.centre, f"position {position.id} of {position.centre}")
    body = await context.body(PositionChange)
    result = _apply(context, SetPositionPaused(position.id, paused), body.reason or "")
    return _result(context, result)


async def pause_position(context: RequestContext) -> ChangeResult:
    return await _pause(context, True)


async def resume_position(context: RequestContext) -> ChangeResult:
    return await _pause(context, False)


async def pick_call(context: RequestContext) -> PickResult:
    position = _position(context)
    context.require_change(position.centre, f"position {position.id} of {position.centre}")
    body = await context.body(PickRequest)
    calls = context.deps.calls
    if body.call_id not in calls.policy.calls:
        raise not_found(
            f"there is no call {body.call_id!r} in progress (see the unit's waiting calls)",
            "unknown_call",
        )
    context.require_ready()
    decision = calls.pick(position.id, body.call_id)
    if not decision.allowed:
        raise ApiError(409, "pick_refused", decision.reason)
    return PickResult(call_id=body.call_id, position=position.id, decision=decision.reason)
