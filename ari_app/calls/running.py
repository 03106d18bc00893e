"""Start and stop the call handling as one resource: each Asterisk node's ARI client and
event stream, and the call service, cleaned up in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Sequence

from ari_app.calls.config import CallSettings
from ari_app.calls.journal import Journal, OpenCalls
from ari_app.calls.modes import ModeRecorder
from ari_app.calls.node import NodeLink
from ari_app.calls.service import DEFAULT_NODE, CallService
from ari_app.clock import Clock
from ari_app.stasis import AriClient, AriConfig, Backoff, EventStream
from ari_app.vcta import Modes, PolicyState, Topology

# With several nodes, a node lost is tried again at least this often: the carrier may send it
# calls as soon as it answers, and those find the application only once its stream is back
# (the 30 s of a single node's backoff left a node back unused for up to 30 s).
NODE_RETRY_MAX_S = 5.0


@contextlib.asynccontextmanager
async def call_handling(
    *,
    ari_config: AriConfig | None = None,
    nodes: Sequence[tuple[str, AriConfig]] = (),
    topology: Topology,
    modes: Modes | None,
    journal: Journal,
    recorder: ModeRecorder,
    clock: Clock,
    settings: CallSettings,
    open_calls: OpenCalls | None = None,
    watch: Callable[[str, asyncio.Task[None]], None] | None = None,
    permit: Callable[[], bool] | None = None,
    on_replaced: Callable[[], None] | None = None,
) -> AsyncIterator[CallService]:
    """The call service, running (connecting to Asterisk in the background) while in use.

    ``nodes``: every Asterisk node by name; or ``ari_config``, the one node.

    ``watch`` is handed the service's task ("calls:service") so that a supervisor notices
    when it ends before the block does; the task's error is then its to report.
    ``permit`` is asked before every request to Asterisk and every connection of the event
    stream, ``on_replaced`` told when Asterisk gives the application to another client
    (``ari_app.leadership``: only the active instance commands).
    """
    named = list(nodes) if nodes else [(DEFAULT_NODE, _required(ari_config))]
    clients = [
        AriClient(config, max_connections=settings.ari_connections, permit=permit)
        for _, config in named
    ]
    streams = [
        EventStream(
            config,
            settings.app_name,
            permit=permit,
            on_replaced=on_replaced,
            backoff=(
                Backoff(random.Random().random, maximum=NODE_RETRY_MAX_S)
                if len(named) > 1
                else None
            ),
        )
        for _, config in named
    ]
    service = CallService(
        nodes=[
            NodeLink(name, ari, stream)
            for (name, _), ari, stream in zip(named, clients, streams, strict=True)
        ],
        topology=topology,
        policy=PolicyState(topology, modes),
        journal=journal,
        recorder=recorder,
        clock=clock,
        settings=settings,
        open_calls=open_calls,
    )
    task = asyncio.get_running_loop().create_task(service.run(), name="calls:service")
    if watch is not None:
        watch("calls:service", task)
    try:
        yield service
    finally:
        task.cancel()
        if watch is None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            # Its failure was reported by the watcher already: not raised again on the way out.
            await asyncio.wait({task})
        await service.stop()
        for stream in streams:
            await stream.close()
        for ari in clients:
            await ari.close()


def _required(config: AriConfig | None) -> AriConfig:
    if config is None:
        raise ValueError("call_handling needs ari_config or nodes")
    return config
