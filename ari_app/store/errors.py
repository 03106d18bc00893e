"""The store's exceptions: one tree, each message a sentence a person can act on.

psycopg errors are translated into these at the store's edge, so callers never
see driver exceptions for conditions they are expected to handle.
"""

from __future__ import annotations


class StoreError(Exception):
    """Something the store cannot do; the message says what and what to do about it."""


class DatabaseUnreachable(StoreError):
    """PostgreSQL could not be reached or refused the connection."""


class SchemaError(StoreError):
    """The database schema is missing, older or newer than this code, or was altered."""


class MigrationLocked(SchemaError):
    """Another process is applying migrations to the same database."""


class UnknownCentre(StoreError):
    """A centre id that the imported topology does not contain."""


class UnknownPosition(StoreError):
    """A position id that the imported topology does not contain."""


class UnknownUnit(StoreError):
    """A unit id (centre or virtual CTA) that the imported topology does not contain."""


class InvalidScope(StoreError):
    """A token scope that is not ``read``, ``national`` or ``centre:<centre id>``."""


class TokenNotFound(StoreError):
    """No API token has this id."""


class CallbackNotFound(StoreError):
    """No abandoned call with this id is on the callback list."""


class CallbackAlreadyDone(StoreError):
    """The callback was already marked done."""


class TopologyInvalid(StoreError):
    """The topology in the database (or the one being imported) fails the policy's checks;
    ``problems`` lists every reason, each a sentence."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems
