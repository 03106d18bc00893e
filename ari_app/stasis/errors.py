"""The one exception tree of the ARI client.

Everything the client raises is an ``AriError``; aiohttp, websockets and pydantic
exceptions are translated at the edge and never leak. Callers handle the races
a real Asterisk produces by status (``NotFound``: the channel is already gone;
``Conflict`` / ``Unprocessable``: it left Stasis) and by ``AllocationFailed``
(the position is unreachable).

    AriError
    ├── AriConnectionError        Asterisk could not be reached, or the connection broke
    │   └── AriTimeout            no complete answer within the request timeout
    ├── UnexpectedResponse        a success status whose body is not what the operation returns
    └── AriHttpError              Asterisk answered with an error status
        ├── BadRequest            400
        ├── Unauthorized          401
        ├── Forbidden             403
        ├── NotFound              404
        ├── MethodNotAllowed      405
        ├── Conflict              409
        ├── Unprocessable         422
        └── ServerError           5xx
            └── AllocationFailed  500 {"error": "Allocation failed"}: endpoint offline or unknown
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

NOT_IN_STASIS = "Channel not in Stasis application"
"""Asterisk's message (409 or 422) when a command targets a channel outside the application."""

ALLOCATION_FAILED = "Allocation failed"


class AriError(Exception):
    """Base of every error raised by the ARI client.

    ``status`` is the HTTP status (``None`` when no answer was received),
    ``message`` Asterisk's own text (or a description of the failure), and
    ``method`` / ``path`` the request, the path relative to the ARI base URL.
    """

    def __init__(
        self, message: str, *, status: int | None = None, method: str = "", path: str = ""
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        super().__init__(message)

    def __str__(self) -> str:
        request = f"{self.method} {self.path}".strip()
        status = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{request}: {status}{self.message}" if request else f"{status}{self.message}"

    @property
    def not_in_stasis(self) -> bool:
        """True when Asterisk says the channel is not (or no longer) in the application."""
        return self.message == NOT_IN_STASIS


class AriConnectionError(AriError):
    """Asterisk could not be reached (refused, unknown host) or the connection broke."""


class NotPermitted(AriConnectionError):
    """The request was not sent: this instance may not command Asterisk now (a standby, or
    an instance whose lease is not valid: docs/failover.md)."""


class AriTimeout(AriConnectionError):
    """No complete answer arrived within the request timeout."""


class SlotTimeout(AriTimeout):
    """The request was not sent: it waited too long for one of the requests Asterisk may
    have at once (the client's limit under pressure: docs/ari-client.md). Sending it again
    only adds to the backlog."""


class UnexpectedResponse(AriError):
    """Asterisk answered with a success status but a body the operation does not return."""


class AriHttpError(AriError):
    """Asterisk answered with an error status; ``message`` is its explanation."""

    status_code: ClassVar[int | None] = None


class BadRequest(AriHttpError):
    """400: a parameter is missing or invalid (e.g. ``Invalid endpoint specified``)."""

    status_code = 400


class Unauthorized(AriHttpError):
    """401: the ARI user or password is wrong or missing."""

    status_code = 401


class Forbidden(AriHttpError):
    """403: the ARI user may not do this (read-only user)."""

    status_code = 403


class NotFound(AriHttpError):
    """404: the channel, bridge, playback, recording, endpoint or application does not exist."""

    status_code = 404


class MethodNotAllowed(AriHttpError):
    """405: the path exists but not with this HTTP method (a client bug)."""

    status_code = 405


class Conflict(AriHttpError):
    """409: the resource is in the wrong state (not in Stasis, duplicate id, no music playing)."""

    status_code = 409


class Unprocessable(AriHttpError):
    """422: the request is valid but cannot apply (channel not in Stasis / not in this bridge)."""

    status_code = 422


class ServerError(AriHttpError):
    """5xx: Asterisk failed to carry the request out."""


class AllocationFailed(ServerError):
    """500 ``{"error": "Allocation failed"}``: the endpoint is offline, unknown or unusable.

    Asterisk sends no event in that case; treat the position as unreachable.
    """


_BY_STATUS: Mapping[int, type[AriHttpError]] = MappingProxyType(
    {
        cls.status_code: cls
        for cls in (
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            Unprocessable,
        )
        if cls.status_code is not None
    }
)


def error_message(body: bytes, reason: str) -> tuple[str, bool]:
    """Asterisk's explanation in an error body, and whether it used the ``error`` key.

    Error bodies are ``{"message": "..."}``, except originate allocation failures,
    which are ``{"error": "Allocation failed"}``. Anything else falls back to the
    body text or the HTTP reason phrase.
    """
    text = body.decode("utf-8", errors="replace").strip()
    try:
        decoded = json.loads(text) if text else None
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        if isinstance(decoded.get("message"), str):
            return decoded["message"], False
        if isinstance(decoded.get("error"), str):
            return decoded["error"], True
    return (text or reason or "no explanation given"), False


def error_for_status(
    status: int, body: bytes, *, reason: str = "", method: str = "", path: str = ""
) -> AriHttpError:
    """The exception for an error answer of Asterisk (``status`` >= 400)."""
    message, from_error_key = error_message(body, reason)
    cls: type[AriHttpError]
    if status >= 500:
        allocation = from_error_key and message.strip().casefold() == ALLOCATION_FAILED.casefold()
        cls = AllocationFailed if allocation else ServerError
    else:
        cls = _BY_STATUS.get(status, AriHttpError)
    return cls(message, status=status, method=method, path=path)
