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
    TopologyInvalid,
    UnknownCentre,
    UnknownPosition,
    UnknownUnit,
)
from ari_app.store.history import CallHistory, CallRecord, StoredEntry
from ari_app.store.journal import JournalStats, PostgresJournal
from ari_app.store.migrate import require_current_schema, schema_status, upgrade
from ari_app.store.mode_load import load_modes
from ari_app.store.mode_recorder import ModeRecorderStats, StoreModeRecorder
from ari_app.store.mode_writes import ModeChangeWrite
from ari_app.store.modes import (
    CentreModesRow,
    ModeAuditRow,
    ModeStore,
    PositionPause,
    StoredModes,
    insert_default_modes,
)
from ari_app.store.tokens import ApiToken, IssuedToken, TokenStore, parse_scope
from ari_app.store.topology_import import ImportReport, import_topology
from ari_app.store.topology_read import TopologySource, read_topology, topology_source

__all__ = [
    "ApiToken",
    "CallHistory",
    "CallRecord",
    "Callback",
    "CallbackAlreadyDone",
    "CallbackNotFound",
    "CallbackOutcome",
    "CallbackStore",
    "CentreModesRow",
    "ConnectionSource",
    "DatabaseUnreachable",
    "ImportReport",
    "InvalidScope",
    "IssuedToken",
    "JournalStats",
    "MigrationLocked",
    "ModeAuditRow",
    "ModeChangeWrite",
    "ModeRecorderStats",
    "ModeStore",
    "PositionPause",
    "PostgresJournal",
    "SchemaError",
    "SingleConnection",
    "StoreError",
    "StoreModeRecorder",
    "StoredEntry",
    "StoredModes",
    "TokenNotFound",
    "TokenStore",
    "TopologyInvalid",
    "TopologySource",
    "UnknownCentre",
    "UnknownPosition",
    "UnknownUnit",
    "connect",
    "import_topology",
    "insert_default_modes",
    "load_modes",
    "open_pool",
    "parse_scope",
    "read_topology",
    "require_current_schema",
    "schema_status",
    "topology_source",
    "upgrade",
]
