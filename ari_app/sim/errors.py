"""The refusals an emulated Asterisk answers with: status, reason phrase and body, as Asterisk."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

# Reason phrases Asterisk uses for each status unless a handler picks another one.
DEFAULT_REASONS: Mapping[int, str] = MappingProxyType(
    {
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        412: "Precondition Failed",
        422: "Unprocessable Entity",
        500: "Internal Server Error",
        501: "Not Implemented",
    }
)


class AriError(Exception):
    """A request refused with ``status`` and the body ``{"message": message}``."""

    def __init__(self, status: int, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or DEFAULT_REASONS.get(status, "Error")

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


class AllocationFailed(AriError):
    """Asterisk could not create the channel: the one error body with ``error``, not ``message``."""

    def __init__(self) -> None:
        super().__init__(500, "Allocation failed", reason="Internal Server Error")

    def body(self) -> dict[str, Any]:
        return {"error": "Allocation failed"}


def not_found(what: str) -> AriError:
    """``404 {"message": "<what> not found"}``, the shape of most lookups."""
    return AriError(404, f"{what} not found")


class EmulatorError(Exception):
    """A control request the emulator cannot carry out; the message says why."""
