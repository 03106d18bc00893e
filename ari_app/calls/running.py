"""Start and stop the call handling as one resource: the ARI client, the event stream and
the call service, cleaned up in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from ari_app.calls.config import CallSettings
from ari_app.calls.journal import Journal, OpenCalls
from ari_app.calls.modes import ModeRecorder
from ari_app.calls.service import CallService
from ari_app.clock import Clock
from ari_app.stasis import AriClient, AriConfig, EventStream
from ari_app.vcta import Modes, PolicyState, Topology


@contextlib.asynccontextmanager
async def call_handling(
    *,
    ari_config: AriConfig,
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

    ``watch`` is handed the service's task ("calls:service") so that a supervisor notices
    when it ends before the block does; the task's error is then its to report.
    ``permit`` is asked before every request to Asterisk and every connection of the event
    stream, ``on_replaced`` told when Asterisk gives the application to another client
    (``ari_app.leadership``: only the active instance commands).
    """
    ari = AriClient(ari_config, max_connections=settings.ari_connections, permit=permit)
    stream = EventStream(ari_config, settings.app_name, permit=permit, on_replaced=on_replaced)
    service = CallService(
        ari=ari,
        events=stream,
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
        await stream.close()
        await ari.close()
