"""The application's long-lived services watched as one group: the first to end while the
application is running stops it, loudly, instead of leaving a half-alive process.

A service is a named task (the call handling, the journal's and the mode recorder's
writers). ``Supervisor.watch`` follows each; when one ends before ``stopping()`` was called
(an exception, a cancellation from elsewhere, or a return that should never happen), the
supervisor logs one CRITICAL line naming the service and the error, turns ``healthy``
false (readiness reports it at once) and sets ``failed``, which the composition root waits
on beside its stop signal. ``failure`` then says what happened, and ``ServiceFailed``
carries it out of ``run_application`` so the process exits non-zero.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


class ServiceFailed(Exception):
    """A service of the application stopped while it was running; the message names it."""


class Supervisor:
    """Watches named tasks; see the module doc."""

    def __init__(self) -> None:
        self.failed = asyncio.Event()
        self._failure: str | None = None
        self._stopping = False
        self._watched: dict[str, asyncio.Task[Any]] = {}

    @property
    def healthy(self) -> bool:
        """No watched service has stopped unexpectedly."""
        return self._failure is None

    @property
    def failure(self) -> str | None:
        """What stopped, as a sentence, once a service has failed."""
        return self._failure

    def watch(self, name: str, task: asyncio.Task[Any]) -> None:
        """Follow ``task`` as the service ``name`` until the application stops."""
        self._watched[name] = task
        task.add_done_callback(lambda done: self._ended(name, done))

    def stopping(self) -> None:
        """The application is stopping: services ending from now on are expected to."""
        self._stopping = True

    def raise_failure(self) -> None:
        """Raise ServiceFailed if a service failed."""
        if self._failure is not None:
            raise ServiceFailed(self._failure)

    def _ended(self, name: str, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            if self._stopping:
                return
            error = "it was cancelled"
        else:
            exception = task.exception()  # retrieved here: this is where it is reported
            if self._stopping and exception is None:
                return
            error = (
                f"{type(exception).__name__}: {exception}"
                if exception is not None
                else "it returned, though it should run until the application stops"
            )
            if self._stopping:
                log.error(f"service {name} failed while stopping: {error}", exc_info=exception)
                return
        if self._failure is not None:
            log.error(f"service {name} stopped too: {error}")
            return
        self._failure = f"the service {name} stopped unexpectedly ({error})"
        log.critical(
            f"service {name} stopped unexpectedly: {error}; the application stops",
            extra={"service": name, "error": error},
            exc_info=None if task.cancelled() else task.exception(),
        )
        self.failed.set()
