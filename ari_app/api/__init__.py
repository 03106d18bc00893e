"""The duty officers' HTTP API, its metrics and probes. See docs/api.md."""

from ari_app.api.app import MAX_BODY_BYTES, ServedApi, build_api, serve_api
from ari_app.api.history import MemoryModeHistory, StoreModeHistory
from ari_app.api.metrics import LiveStateCollector, MetricsJournal
from ari_app.api.ports import (
    AuditEntry,
    CallbackList,
    CallControl,
    Grant,
    ModeHistory,
    TokenVerifier,
)
from ari_app.api.routes import OPENAPI_PATH, PREFIX, ROUTES
from ari_app.api.tokens import MemoryTokens, StaticGrant

__all__ = [
    "MAX_BODY_BYTES",
    "OPENAPI_PATH",
    "PREFIX",
    "ROUTES",
    "AuditEntry",
    "CallControl",
    "CallbackList",
    "Grant",
    "LiveStateCollector",
    "MemoryModeHistory",
    "MemoryTokens",
    "MetricsJournal",
    "ModeHistory",
    "ServedApi",
    "StaticGrant",
    "StoreModeHistory",
    "TokenVerifier",
    "build_api",
    "serve_api",
]
