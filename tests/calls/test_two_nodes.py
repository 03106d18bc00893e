"""Two Asterisk nodes (two emulators), one national policy: calls bridged where they arrived,
presence merged, offers stopped only through a node whose stream is down, a lost node's
calls ended and its positions freed while the other node goes on; and the one node of a
platform, down, keeping its calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ari_app.calls.config import CallSettings
from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind, MemoryJournal
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.calls.node import NodeLink
from ari_app.calls.service import CallService
from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Emulator
from ari_app.stasis import AriClient, AriConfig, Backoff, EventStream
from ari_app.stasis.stream import StreamTimings
from ari_app.vcta import PolicyState, Topology
from tests.calls.harness import APP, PASSWORD, RECONNECT_S, SPEED, USER, running
from tests.calls.topologies import three_centres
from tests.test_run import free_port
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)
NODES = ("paris", "lyon")


@dataclass
class TwoNodes:
    """Two emulated Asterisks sharing the positions (each phone registered to both), and
    the application connected to both."""

    emulators: dict[str, Emulator]
    service: CallService
    journal: MemoryJournal
    topology: Topology
    clock: ScaledClock
    clients: list[AriClient]
    streams: list[EventStream]

    @property
    def policy(self) -> PolicyState:
        return self.service.policy

    async def call(self, node: str, routing_key: str = "18", number: str = "0612345678") -> str:
        handle = await self.emulators[node].place_call(
            routing_key=routing_key, number=number, app=APP
        )
        assert handle.entered_stasis, f"the call did not reach the application on {node}"
        return handle.channel_id

    def entries(self, call_id: str, kind: JournalKind | None = None) -> list[JournalEntry]:
        return [e for e in self.journal.of_call(call_id) if kind is None or e.kind is kind]

    async def until_talking(self, node: str, call_id: str, within: float = 5.0) -> str:
        """Wait until the caller talks to an operator on ``node``; the position's endpoint."""
        emulator = self.emulators[node]
        await wait_until(
            lambda: (r := emulator.call(call_id)) is not None and r.talked,
            within=within,
            what=f"{call_id} talking to an operator on {node}",
        )
        record = emulator.call(call_id)
        assert record is not None
        assert record.first_talk_endpoint is not None
        return record.first_talk_endpoint

    async def until_ended(self, call_id: str, within: float = 5.0) -> JournalEntry:
        await wait_until(
            lambda: self.entries(call_id, JournalKind.ENDED),
            within=within,
            what=f"the end of {call_id}",
        )
        return self.entries(call_id, JournalKind.ENDED)[-1]

    async def until_node_says(self, node: str, position_id: str, *, online: bool) -> None:
        """Wait until ``node``'s event about the phone of ``position_id`` is taken."""
        link = next(n for n in self.service.nodes if n.name == node)
        await wait_until(
            lambda: (p := link.presence.get(position_id)) is not None and p.online is online,
            what=f"{node} saying {position_id} is {'online' if online else 'offline'}",
        )

    async def restart_node(self, node: str) -> None:
        """Start a fresh Asterisk on the lost node's port, as a restarted node would be:
        its phones register again, none of its old channels are there."""
        old = self.emulators[node]
        assert old.port is not None
        emulator = new_emulator(self.topology, self.clock, node)
        await emulator.start(port=old.port)
        self.emulators[node] = emulator


def new_emulator(topology: Topology, clock: ScaledClock, node: str) -> Emulator:
    emulator = Emulator(clock=clock, users={USER: PASSWORD}, app=APP, system_name=node)
    for position in topology.position_by_id.values():
        emulator.add_endpoint(position.endpoint.split("/", 1)[1], script=TALKING)
    return emulator


@contextlib.asynccontextmanager
async def two_nodes(
    *, journal: MemoryJournal | None = None, started: tuple[str, ...] = NODES, **settings: Any
) -> AsyncIterator[TwoNodes]:
    """Both nodes, those in ``started`` answering (the others' port answers nothing)."""
    topology = three_centres()
    clock = ScaledClock(SPEED)
    emulators = {node: new_emulator(topology, clock, node) for node in NODES}
    urls = {}
    for node, emulator in emulators.items():
        if node in started:
            urls[node] = await emulator.start()
        else:
            urls[node] = f"http://127.0.0.1:{free_port()}/ari"
    clients, streams, links = [], [], []
    for node in emulators:
        config = AriConfig(urls[node], USER, PASSWORD)
        ari = AriClient(config, max_connections=64)
        backoff = Backoff(lambda: 1.0, initial=RECONNECT_S, maximum=RECONNECT_S)
        stream = EventStream(config, APP, timings=StreamTimings(), backoff=backoff)
        clients.append(ari)
        streams.append(stream)
        links.append(NodeLink(node, ari, stream))
    journal = journal or MemoryJournal()
    service = CallService(
        nodes=links,
        topology=topology,
        policy=PolicyState(topology),
        journal=journal,
        recorder=MemoryModeRecorder(),
        clock=clock,
        settings=CallSettings(app_name=APP, **{"wrap_up_s": 0.0, **settings}),
        open_calls=journal,
    )
    task = asyncio.create_task(service.run(), name="test:call-service")
    both = TwoNodes(emulators, service, journal, topology, clock, clients, streams)
    try:
        await wait_until(
            lambda: all(service.node_states()[node] == "up" for node in started),
            what="the nodes started up",
        )
        yield both
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await service.stop()
        for stream in streams:
            await stream.close()
        for ari in clients:
            await ari.close()
        for emulator in both.emulators.values():
            if emulator.port is not None:
                await emulator.stop()


async def test_calls_on_both_nodes_are_bridged_where_they_arrived_and_journaled_with_it() -> None:
    async with two_nodes() as both:
        in_paris = await both.call("paris", number="0611111111")
        in_lyon = await both.call("lyon", number="0622222222")
        await both.until_talking("paris", in_paris)
        await both.until_talking("lyon", in_lyon)
        # Each call's operator leg was originated on its own node, none on the other.
        assert both.emulators["lyon"].call(in_paris) is None
        assert both.emulators["paris"].call(in_lyon) is None
        alpha = next(u for u in both.service.snapshot() if u.unit_id == "alpha")
        assert alpha.busy_positions == 2
        for call_id, node in ((in_paris, "paris"), (in_lyon, "lyon")):
            assert {e.node for e in both.entries(call_id)} == {node}
            assert both.service.sessions[call_id].host.ari is both.clients[NODES.index(node)]


async def test_a_position_is_online_while_its_phone_is_registered_to_a_node_up() -> None:
    async with two_nodes() as both:
        position = both.policy.positions["gamma-op1"]
        both.emulators["paris"].set_online("gamma-op1", False)
        await both.until_node_says("paris", "gamma-op1", online=False)
        assert position.online, "still registered to lyon"
        both.emulators["lyon"].set_online("gamma-op1", False)
        await wait_until(lambda: not position.online, what="gamma-op1 offline on both nodes")
        both.emulators["lyon"].set_online("gamma-op1", True)
        await wait_until(lambda: position.online, what="gamma-op1 online on lyon again")


async def test_a_stream_lost_on_one_node_stops_offers_through_it_only() -> None:
    async with two_nodes(node_down_after_s=60.0) as both:
        await both.emulators["paris"].stop()
        await wait_until(
            lambda: both.service.node_states()["paris"] == "connecting",
            what="paris not in step",
        )
        assert both.service.ready, "ready while lyon is up"
        in_lyon = await both.call("lyon")
        await both.until_talking("lyon", in_lyon)


async def test_an_older_call_on_a_node_out_of_step_does_not_hold_up_its_unit() -> None:
    async with two_nodes(node_down_after_s=60.0) as both:
        phones = [p.endpoint.split("/", 1)[1] for p in both.topology.position_by_id.values()]
        for node in NODES:
            for phone in phones:
                both.emulators[node].set_online(phone, False)
        await wait_until(
            lambda: not any(p.online for p in both.policy.positions.values()),
            what="every phone offline",
        )
        in_paris = await both.call("paris", number="0611111111")
        await wait_until(lambda: both.entries(in_paris, JournalKind.WAITING), what="paris waiting")
        await both.emulators["paris"].stop()
        await wait_until(
            lambda: both.service.node_states()["paris"] == "connecting",
            what="paris not in step",
        )
        in_lyon = await both.call("lyon", number="0622222222")
        await wait_until(lambda: both.entries(in_lyon, JournalKind.WAITING), what="lyon waiting")
        assert [c.call_id for c in both.policy.waiting_calls("alpha")] == [in_paris, in_lyon]
        both.emulators["lyon"].set_online("alpha-op1", True)
        # The older call cannot be rung (its node is out of step): the newer one is, and the
        # older keeps its place.
        assert (await both.until_talking("lyon", in_lyon)) == "alpha-op1"
        assert [c.call_id for c in both.policy.waiting_calls("alpha")] == [in_paris]


async def test_a_lost_node_ends_its_calls_frees_their_positions_and_the_other_goes_on() -> None:
    async with two_nodes(node_down_after_s=0.5) as both:
        talking = await both.call("paris", number="0611111111")
        await both.until_talking("paris", talking)
        in_lyon = await both.call("lyon", number="0622222222")
        await both.until_talking("lyon", in_lyon)
        waiting = await both.call("paris", number="0633333333")  # alpha's two are busy
        await wait_until(
            lambda: both.entries(waiting, JournalKind.WAITING), what="the third call waiting"
        )
        # A phone registered to paris only: it counts while paris is up.
        both.emulators["lyon"].set_online("national-op1", False)
        await both.until_node_says("lyon", "national-op1", online=False)
        assert both.policy.positions["national-op1"].online

        await both.emulators["paris"].stop()
        ended = {call: await both.until_ended(call) for call in (talking, waiting)}
        assert ended[talking].outcome is CallOutcome.ANSWERED
        assert ended[waiting].outcome is CallOutcome.LOST
        for entry in ended.values():
            assert entry.node == "paris"
            assert "node paris lost" in (entry.reason or "")
        assert both.service.node_states() == {"paris": "down", "lyon": "up"}
        assert both.service.ready
        assert set(both.policy.calls) == {in_lyon}
        assert not both.policy.positions["national-op1"].online
        # The lyon call goes on; the position of paris's conversation takes a new call.
        assert both.service.sessions[in_lyon].state == "connected"
        assert not both.entries(in_lyon, JournalKind.ENDED)
        freed = ended[talking].position
        assert freed is not None
        assert both.policy.positions[freed].status == "available"
        new = await both.call("lyon", number="0644444444")
        assert await both.until_talking("lyon", new) == freed


async def test_a_node_back_is_reconciled_and_takes_calls_again() -> None:
    async with two_nodes(node_down_after_s=0.5) as both:
        old = await both.call("paris", number="0611111111")
        await both.until_talking("paris", old)
        await both.emulators["paris"].stop()
        await both.until_ended(old)
        await both.restart_node("paris")
        await wait_until(lambda: both.service.node_states()["paris"] == "up", what="paris up again")
        assert old not in both.policy.calls
        new = await both.call("paris", number="0655555555")
        await both.until_talking("paris", new)
        assert len(both.entries(old, JournalKind.ENDED)) == 1


async def test_calls_left_open_on_a_node_lost_before_the_start_are_closed_as_lost() -> None:
    """The application takes over while paris is down (its datacentre lost with the previous
    instance): the calls the journal left open on paris end, those of no node are left."""
    journal = MemoryJournal()
    for call_id, node in (("paris-1.1", "paris"), ("old-1.2", None)):
        journal.record(
            JournalEntry(call_id, 1.0, JournalKind.ARRIVED, unit="alpha", caller="06", node=node)
        )
    async with two_nodes(journal=journal, started=("lyon",), node_down_after_s=0.3) as both:
        await wait_until(lambda: both.service.node_states()["paris"] == "down", what="paris down")
        ended = await both.until_ended("paris-1.1")
        assert ended.outcome is CallOutcome.LOST
        assert ended.node == "paris"
        assert "node paris lost" in (ended.reason or "")
        assert both.service.ready
        assert [call.call_id for call in await journal.open_calls()] == ["old-1.2"]


async def test_the_only_node_down_keeps_its_calls_for_when_it_is_back() -> None:
    """With one node no other node's callers need its positions: a node down past the delay
    (its stream back after 0.3 s here) keeps its calls, reconciled on its return."""
    async with running(topology=three_centres(), script=TALKING, node_down_after_s=0.1) as h:
        call = await h.call("18")
        position = await h.until_talking(call)
        await h.emulator.drop_event_streams("vcta")
        await wait_until(lambda: h.service.node_states() == {"asterisk": "down"}, what="down")
        assert h.service.sessions[call].state == "connected"
        assert h.policy.positions[position].status == "busy"
        await wait_until(lambda: h.service.node_states() == {"asterisk": "up"}, what="back")
        assert h.service.sessions[call].state == "connected"
        assert not h.entries(call, JournalKind.ENDED)
