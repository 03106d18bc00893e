"""HTTP to Asterisk: one pooled aiohttp session, Basic auth, a timeout on every request.

``RestTransport`` sends one ``Operation`` and returns nothing, a model or a tuple
of models. It is the edge where aiohttp and pydantic exceptions become
``AriError``s: nothing else reaches the callers.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from pydantic import ValidationError
from yarl import URL

from ari_app.stasis import operations as ops
from ari_app.stasis.config import AriConfig
from ari_app.stasis.errors import (
    AriConnectionError,
    AriTimeout,
    NotPermitted,
    SlotTimeout,
    UnexpectedResponse,
    error_for_status,
)
from ari_app.stasis.models import AriModel, describe_validation_error
from ari_app.stasis.operations import Operation
from ari_app.stasis.pressure import AdaptiveLimit, GateTimeout, RequestGate

log = logging.getLogger("ari_app.stasis.rest")

M = TypeVar("M", bound=AriModel)

# Requests that release Asterisk's resources: under pressure they overtake the others.
_RELEASING = frozenset(
    (ops.CHANNELS_HANGUP.name, ops.CHANNELS_CONTINUE.name, ops.BRIDGES_DESTROY.name)
)

DEFAULT_TIMEOUT_S = 5.0
"""How long Asterisk may take to answer a request once it is sent. ARI answers in
milliseconds, originate included (it does not wait for the callee): five seconds without an
answer means Asterisk is stuck or gone."""

DEFAULT_CONNECT_TIMEOUT_S = 2.0

POOL_WAIT_S = 30.0
"""How long a request may wait for its turn (``pressure.RequestGate``) before it is sent.
During a surge of calls our own backlog must not read as Asterisk's silence, so this wait is
not part of the answer timeout; each slot frees itself within the answer timeout (plus as
long again for a request that got no answer)."""


class RestTransport:
    """Sends ARI operations over one pooled HTTP session, created on first use."""

    def __init__(
        self,
        config: AriConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_connections: int = 32,
        permit: Callable[[], bool] | None = None,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("ARI request timeouts must be positive")
        if max_connections < 1:
            raise ValueError("the ARI connection pool needs at least one connection")
        self._config = config
        self._base = str(config.rest_base)
        # The gate below keeps requests under the connector's limit, so the pool itself
        # never makes one wait: its wait is the gate's, bounded there.
        self._timeout = aiohttp.ClientTimeout(
            total=POOL_WAIT_S + connect_timeout + timeout,
            sock_connect=connect_timeout,
            sock_read=timeout,
        )
        if limit is not None and limit.maximum > max_connections:
            raise ValueError("the ARI request limit cannot exceed the connection pool")
        self.gate = RequestGate(limit or AdaptiveLimit(max_connections))
        self._timeout_s = timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._permit = permit
        self.requests = 0  # sent, answered or not: for metrics

    async def close(self) -> None:
        """Close the pooled connections; later requests raise ``AriConnectionError``."""
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def send(
        self,
        operation: Operation,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        """Send an operation whose answer carries nothing the caller needs."""
        await self._exchange(operation, params, body)

    async def fetch(
        self,
        operation: Operation,
        model: type[M],
        params: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> M:
        """Send ``operation`` and parse its answer into ``model``."""
        path, data = await self._exchange(operation, params, body)
        return _parse(model, data, operation, path)

    async def fetch_all(
        self, operation: Operation, model: type[M], params: Mapping[str, object] | None = None
    ) -> tuple[M, ...]:
        """Send ``operation`` and parse its answer, a JSON list, into ``model``s."""
        path, data = await self._exchange(operation, params, None)
        if not isinstance(data, list):
            raise UnexpectedResponse(
                f"expected a list of {model.__name__}, got {type(data).__name__}",
                method=operation.method,
                path=path,
            )
        return tuple(_parse(model, item, operation, path) for item in data)

    def _session_for_request(self) -> aiohttp.ClientSession:
        if self._closed:
            raise AriConnectionError("the ARI client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": _basic_auth(self._config.user, self._config.password)},
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections),
            )
        return self._session

    def _check_permit(self, operation: Operation, path: str) -> None:
        if self._permit is not None and not self._permit():
            raise NotPermitted(
                f"{operation.method} {path} not sent: this instance may not command Asterisk now"
            )

    async def _slot(self, operation: Operation, path: str) -> RequestGate:
        """Wait for a slot of the request gate; the gate, its slot taken."""
        gate = self.gate
        try:
            await gate.acquire(POOL_WAIT_S, urgent=operation.name in _RELEASING)
        except GateTimeout:
            raise SlotTimeout(
                f"not sent: Asterisk was too slow to take it within {POOL_WAIT_S:g} s"
                f" ({gate.in_flight} requests in flight, {gate.waiting} waiting)",
                method=operation.method,
                path=path,
            ) from None
        try:
            # Asked again: the lease may have lapsed while the request waited for its slot.
            self._check_permit(operation, path)
        except NotPermitted:
            gate.cancelled()  # never sent: the slot goes to the next request
            raise
        return gate

    async def _exchange(
        self,
        operation: Operation,
        params: Mapping[str, object] | None,
        body: Mapping[str, Any] | None,
    ) -> tuple[str, Any]:
        """The concrete path and the decoded JSON answer (``None`` when empty)."""
        path, query = operation.render(params or {})
        self._check_permit(operation, path)
        json_body: dict[str, Any] | None = None
        if body is not None:
            if operation.body is None:
                raise ValueError(f"{operation.name} takes no request body")
            json_body = dict(body) if operation.whole_body else {operation.body: dict(body)}
        url = URL(self._base + path, encoded=True)
        session = self._session_for_request()
        gate = await self._slot(operation, path)
        self.requests += 1
        started = time.monotonic()
        settled = False
        try:
            async with session.request(
                operation.method, url, params=query, json=json_body
            ) as response:
                status = response.status
                reason = response.reason or ""
                content = await response.read()
        except TimeoutError:
            # Asterisk is probably still working on it, its HTTP session still open.
            gate.failed(hold_s=self._timeout_s)
            settled = True
            raise AriTimeout(
                f"no answer from Asterisk within {self._timeout_s:g} s",
                method=operation.method,
                path=path,
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            gate.failed()
            settled = True
            raise AriConnectionError(
                _describe_connection_error(error), method=operation.method, path=path
            ) from None
        else:
            gate.answered(time.monotonic() - started)
            settled = True
        finally:
            if not settled:
                gate.cancelled()
        log.debug(
            "ARI request",
            extra={
                "method": operation.method,
                "path": path,
                "status": status,
                "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        if status >= 400:
            raise error_for_status(
                status, content, reason=reason, method=operation.method, path=path
            )
        if not content.strip():
            return path, None
        try:
            return path, json.loads(content)
        except ValueError:
            raise UnexpectedResponse(
                f"the answer is not JSON: {content[:120]!r}",
                status=status,
                method=operation.method,
                path=path,
            ) from None


def _basic_auth(user: str, password: str) -> str:
    # Built by hand: aiohttp's BasicAuth helpers changed across the supported versions.
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _parse(model: type[M], data: Any, operation: Operation, path: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise UnexpectedResponse(
            f"the answer is not a valid {model.__name__}: {describe_validation_error(error)}",
            method=operation.method,
            path=path,
        ) from None


def _describe_connection_error(error: BaseException) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to Asterisk at {error.host}:{error.port}: {error.os_error}"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "Asterisk closed the connection before answering"
    return f"the connection to Asterisk failed: {error or type(error).__name__}"
