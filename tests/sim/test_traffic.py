"""Simulated callers: which calls arrive depends on the seed alone, not on how late the
generator runs on a busy machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ari_app.sim.traffic import CallerTraffic, Surge, TrafficProfile


@dataclass
class LaggingClock:
    """A simulated clock on which every sleep oversleeps by ``lag`` seconds (a loaded
    machine), and placing a call takes ``place_s``."""

    lag: float
    t: float = 1_000.0

    def now(self) -> float:
        return self.t

    def real_seconds(self, seconds: float) -> float:
        return seconds

    async def sleep(self, seconds: float) -> None:
        self.t += seconds + self.lag


@dataclass
class RecordingEmulator:
    clock: LaggingClock
    place_s: float
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def place_call(self, *, routing_key: str, number: str, **_: Any) -> Any:
        self.clock.t += self.place_s
        self.calls.append((routing_key, number))

        @dataclass
        class Handle:
            channel_id: str = f"c{len(self.calls)}"
            entered_stasis: bool = True

        return Handle()


PROFILE = TrafficProfile(
    calls_per_hour={"a": 120.0, "b": 60.0},
    routing_keys={"a": ("77",), "b": ("91",)},
    surge=Surge("a", factor=5.0, start_s=600.0, end_s=1200.0),
)


async def placed(lag: float, place_s: float) -> list[tuple[str, str]]:
    clock = LaggingClock(lag)
    emulator = RecordingEmulator(clock, place_s)
    traffic = CallerTraffic(emulator, clock, PROFILE, seed=7, app="vcta")  # type: ignore[arg-type]
    await traffic.run(1800.0)
    return emulator.calls


async def test_a_generator_running_late_places_the_same_calls() -> None:
    on_time = await placed(lag=0.0, place_s=0.0)
    late = await placed(lag=0.4, place_s=0.3)
    assert len(on_time) > 50  # a meaningful sample: 30 min at 3 calls a minute and a surge
    assert sorted(late) == sorted(on_time)
