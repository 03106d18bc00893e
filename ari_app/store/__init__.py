"""PostgreSQL store: topology, modes with their audit trail, API tokens, the call journal
and the abandoned-callers callback list. Never on the call path. See docs/store.md."""

from ari_app.store.callbacks import Callback, CallbackOutcome, CallbackStore
from ari_app.store.db import ConnectionSource, SingleConnection, connect, open_pool
from ari_app.store.errors import (
    CallbackAlreadyDone,
    CallbackNotFound,
    DatabaseUnreachable,
    InvalidScope,
    MigrationLocked,
    SchemaError,
    StoreError,
    TokenNotFound,
    UnknownCentre,
    UnknownPosition,
    UnknownUnit,
)
from ari_app.store.history import CallHistory, CallRecord, StoredEntry
from ari_app.store.journal import JournalStats, PostgresJournal
from ari_app.store.migrate import require_current_schema, schema_status, upgrade
from ari_app.store.modes import (
    CentreModes,
    ModeChange,
    ModeStore,
    PositionPause,
    StoredModes,
    insert_default_modes,
)
from ari_app.store.tokens import ApiToken, IssuedToken, TokenStore, parse_scope

__all__ = [
    "ApiToken",
    "CallHistory",
    "CallRecord",
    "Callback",
    "CallbackAlreadyDone",
    "CallbackNotFound",
    "CallbackOutcome",
    "CallbackStore",
    "CentreModes",
    "ConnectionSource",
    "DatabaseUnreachable",
    "InvalidScope",
    "IssuedToken",
    "JournalStats",
    "MigrationLocked",
    "ModeChange",
    "ModeStore",
    "PositionPause",
    "PostgresJournal",
    "SchemaError",
    "SingleConnection",
    "StoreError",
    "StoredEntry",
    "StoredModes",
    "TokenNotFound",
    "TokenStore",
    "UnknownCentre",
    "UnknownPosition",
    "UnknownUnit",
    "connect",
    "insert_default_modes",
    "open_pool",
    "parse_scope",
    "require_current_schema",
    "schema_status",
    "upgrade",
]
