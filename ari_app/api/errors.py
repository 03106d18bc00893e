"""Errors the API answers with: JSON, a stable ``error_id`` and a sentence a person understands.

Handlers raise ``ApiError``; the middleware turns it, aiohttp's own HTTP errors (unknown path,
wrong method, oversized body) and any unexpected exception into such an answer. An unexpected
exception is logged with its traceback and answered 500 without internals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

BODY_LIMIT = web.AppKey("body_limit", int)  # largest request body accepted, in bytes


class ErrorDetail(BaseModel):
    """One problem of a request: where (``body.reason``, ``query.limit``) and what."""

    model_config = ConfigDict(frozen=True)

    location: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the API."""

    error_id: str
    message: str
    details: list[ErrorDetail] = []


class ApiError(Exception):
    """An answer other than success; ``message`` says what is wrong and what to do."""

    def __init__(
        self,
        status: int,
        error_id: str,
        message: str,
        *,
        details: Sequence[ErrorDetail] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = tuple(details)
        self.headers = dict(headers or {})


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        # ASCII with escapes: text echoed from a request (an unknown field's name) may hold
        # lone surrogates, which have no UTF-8 encoding.
        text=json.dumps(payload),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(error: ApiError) -> web.Response:
    body = ErrorBody(error_id=error.error_id, message=error.message, details=list(error.details))
    return json_response(body.model_dump(mode="json"), error.status, error.headers)


def not_found(what: str, error_id: str = "not_found") -> ApiError:
    return ApiError(404, error_id, what)


def validation_error(error: ValidationError, where: str) -> ApiError:
    """A 422 (or 400 for a body that is not JSON) naming each problem and its place."""
    problems = error.errors(include_url=False, include_input=False)
    if where == "body" and any(p["type"] == "json_invalid" for p in problems):
        first = next(p for p in problems if p["type"] == "json_invalid")
        detail = str(first.get("ctx", {}).get("error", "")) or first["msg"]
        return ApiError(
            400,
            "invalid_json",
            f"the request body is not valid JSON ({detail}): send a JSON object",
        )
    details = [
        ErrorDetail(location=_location(where, p["loc"]), message=_sentence(p)) for p in problems
    ]
    listed = "; ".join(f"{d.location}: {d.message}" for d in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return ApiError(422, "invalid_request", f"invalid request: {listed}{more}", details=details)


def _location(where: str, loc: Sequence[int | str]) -> str:
    return ".".join([where, *(str(part) for part in loc)]) if loc else where


def _sentence(problem: Mapping[str, Any]) -> str:
    kind = problem["type"]
    ctx = problem.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return "must not contain control characters"
    if kind in {"model_type", "model_attributes_type"}:
        return "must be a JSON object"
    # Pydantic's own wording ("Value error, ...", "Input should be less than or equal to")
    # reads like a stack trace to a duty officer: say the rule in plain words.
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind in {"less_than_equal", "less_than"} and "le" in ctx:
        return f"must be at most {ctx['le']}"
    if kind in {"greater_than_equal", "greater_than"} and "ge" in ctx:
        return f"must be at least {ctx['ge']}"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "must be a whole number"
    message = str(problem["msg"])
    return message[:1].lower() + message[1:]


def _http_error(error: web.HTTPException, request: web.Request) -> ApiError:
    status = error.status
    if status == 404:
        return ApiError(
            404, "not_found", f"there is no {request.path} here: see /api/v1/openapi.json"
        )
    if status == 405:
        allowed = ", ".join(sorted(getattr(error, "allowed_methods", ()) or ()))
        return ApiError(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}"
            + (f"; use {allowed}" if allowed else ""),
            headers={"Allow": allowed} if allowed else None,
        )
    if status == 413:
        return ApiError(
            413,
            "body_too_large",
            f"the request body is larger than this API accepts "
            f"({request.app[BODY_LIMIT]} bytes at most)",
        )
    return ApiError(status, f"http_{status}", error.reason or "the request cannot be handled")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as a JSON error; nothing of the internals leaks."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(_http_error(error, request))
    except Exception:
        log.exception("API request failed", extra={"method": request.method, "path": request.path})
        return error_response(
            ApiError(
                500,
                "internal_error",
                "the server failed to handle this request; the failure is logged",
            )
        )
