"""Prometheus metrics: counters from the call journal, gauges read at scrape time.

- ``MetricsJournal(inner, registry)`` is a ``Journal`` that counts each entry (calls by outcome
  and home centre, waits, moves between units, failed offers) and passes it on unchanged.
  Counting never raises: a failure is logged and the entry still reaches ``inner``.
- ``LiveStateCollector`` reads the units, the call service's counters and the journal's
  counters when Prometheus scrapes: queue lengths, oldest waits, free and busy positions,
  overflow held, saturation, NENA queue state, ARI reconnects, journal spool depth.

Everything goes to a registry of the application's own (never the global one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ari_app.api.ports import CallControl
from ari_app.calls.journal import Journal, JournalEntry, JournalKind
from ari_app.diagnosis import DEPENDENCIES
from ari_app.roles import Role, RoleView
from ari_app.store.journal import JournalStats
from ari_app.vcta import QueueState

log = logging.getLogger(__name__)

# Seconds from arrival to an operator (answered) or to hanging up (abandoned): emergency
# service levels are stated at 10, 15, 30 and 60 s.
WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0)
UNKNOWN = "unknown"


class MetricsJournal:
    """A ``Journal`` decorator: counts each entry, then records it in ``inner``."""

    def __init__(self, inner: Journal, registry: CollectorRegistry) -> None:
        self._inner = inner
        self.entries = Counter(
            "ari_app_journal_entries",
            "Journal entries recorded, by kind.",
            ["kind"],
            registry=registry,
        )
        self.calls = Counter(
            "ari_app_calls",
            "Calls ended, by outcome and home centre.",
            ["outcome", "centre"],
            registry=registry,
        )
        self.waits = Histogram(
            "ari_app_call_wait_seconds",
            "Seconds from arrival to an operator (answered) or to the end (other outcomes).",
            ["outcome", "centre"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.moves = Counter(
            "ari_app_call_moves",
            "Calls moved to another unit, by kind (mutual_aid, last_resort, ...) and unit "
            "receiving them.",
            ["kind", "unit"],
            registry=registry,
        )
        self.offer_failures = Counter(
            "ari_app_offer_failures",
            "Offers a position did not take, by failure and position.",
            ["failure", "position"],
            registry=registry,
        )
        self.routed = Counter(
            "ari_app_calls_routed",
            "Calls routed, by home centre and first unit.",
            ["centre", "unit"],
            registry=registry,
        )

    def record(self, entry: JournalEntry) -> None:
        try:
            self._count(entry)
        except Exception:
            log.exception("journal entry not counted", extra={"call_id": entry.call_id})
        self._inner.record(entry)

    def _count(self, entry: JournalEntry) -> None:
        self.entries.labels(str(entry.kind)).inc()
        centre = entry.home_centre or UNKNOWN
        if entry.kind is JournalKind.ENDED:
            outcome = str(entry.outcome) if entry.outcome is not None else UNKNOWN
            self.calls.labels(outcome, centre).inc()
            waited = entry.details.get("waited_s")
            if isinstance(waited, int | float) and not isinstance(waited, bool) and waited >= 0:
                self.waits.labels(outcome, centre).observe(waited)
        elif entry.kind is JournalKind.ROUTED:
            self.routed.labels(centre, entry.unit or UNKNOWN).inc()
        elif entry.kind is JournalKind.MOVED:
            kind = entry.details.get("kind")
            self.moves.labels(str(kind) if kind else UNKNOWN, entry.unit or UNKNOWN).inc()
        elif entry.kind is JournalKind.OFFER_FAILED:
            failure = entry.details.get("failure")
            position = entry.position or UNKNOWN
            self.offer_failures.labels(str(failure) if failure else UNKNOWN, position).inc()


@dataclass(frozen=True, slots=True)
class LiveStateCollector:
    """Gauges and counters read from the live state when Prometheus scrapes.

    Runs in the event loop's thread (the API's handler calls it), so the state is read
    consistently.
    """

    calls: CallControl
    journal_stats: Callable[[], JournalStats] | None = None
    problems: Callable[[], Mapping[str, str]] = dict
    role: Callable[[], RoleView] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.role is not None:
            yield from self._role(self.role())
        yield from self._units()
        yield from self._service()
        if self.journal_stats is not None:
            yield from self._journal(self.journal_stats())
        yield from self._problems()

    def _role(self, view: RoleView) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "ari_app_role",
            "1 for this instance's role among those sharing the database (single, active,"
            " standby, fenced); docs/failover.md.",
            labels=["role"],
        )
        for role in Role:
            gauge.add_metric([role.value], 1.0 if view.role is role else 0.0)
        yield gauge
        yield GaugeMetricFamily(
            "ari_app_lease_term",
            "The term of the lease this instance holds (0 when it holds none).",
            value=float(view.term or 0) if view.commands else 0.0,
        )
        yield GaugeMetricFamily(
            "ari_app_lease_without_database",
            "1 while the active instance holds on without renewing its lease, PostgreSQL"
            " being unreachable.",
            value=1.0 if view.without_database else 0.0,
        )

    def _problems(self) -> Iterator[Metric]:
        found = self.problems()
        gauge = GaugeMetricFamily(
            "ari_app_dependency_problem",
            "1 while a dependency works only in part or not at all (refused credentials, an "
            "unparsable DSN, unreachable); /readyz says why.",
            labels=["dependency"],
        )
        for dependency in sorted({*DEPENDENCIES, *found}):
            gauge.add_metric([dependency], 1.0 if dependency in found else 0.0)
        yield gauge

    def _units(self) -> Iterator[Metric]:
        labels = ["unit"]
        queue = GaugeMetricFamily("ari_app_queue_length", "Calls waiting at a unit.", labels=labels)
        oldest = GaugeMetricFamily(
            "ari_app_oldest_wait_seconds",
            "How long the oldest call waiting at a unit has waited (0 when none waits).",
            labels=labels,
        )
        free = GaugeMetricFamily(
            "ari_app_free_positions", "Positions available for a call.", labels=labels
        )
        busy = GaugeMetricFamily(
            "ari_app_busy_positions", "Positions ringing, talking or in wrap-up.", labels=labels
        )
        held = GaugeMetricFamily(
            "ari_app_overflow_held",
            "Calls a unit holds by mutual aid or last resort (against its overflow cap).",
            labels=labels,
        )
        cap = GaugeMetricFamily("ari_app_overflow_cap", "A unit's overflow cap.", labels=labels)
        saturated = GaugeMetricFamily(
            "ari_app_saturated", "1 when the unit is saturated.", labels=labels
        )
        in_service = GaugeMetricFamily(
            "ari_app_unit_in_service",
            "1 when the unit takes calls (not a pooled centre, not an inactive virtual CTA).",
            labels=labels,
        )
        state = GaugeMetricFamily(
            "ari_app_queue_state",
            "NENA i3 QueueState of a unit: 1 for the state it is in.",
            labels=["unit", "state"],
        )
        for unit in self.calls.snapshot():
            unit_id = [unit.unit_id]
            queue.add_metric(unit_id, unit.queue_length)
            oldest.add_metric(unit_id, unit.oldest_wait or 0.0)
            free.add_metric(unit_id, unit.free_positions)
            busy.add_metric(unit_id, unit.busy_positions)
            held.add_metric(unit_id, unit.overflow_held)
            cap.add_metric(unit_id, unit.overflow_cap)
            saturated.add_metric(unit_id, 1 if unit.saturated else 0)
            in_service.add_metric(unit_id, 1 if unit.in_service else 0)
            for value in QueueState:
                state.add_metric([unit.unit_id, value.value], 1 if unit.queue_state is value else 0)
        yield from (queue, oldest, free, busy, held, cap, saturated, in_service, state)

    def _service(self) -> Iterator[Metric]:
        stats = self.calls.stats
        yield GaugeMetricFamily(
            "ari_app_ready",
            "1 when the call handling is connected to Asterisk and resynchronised.",
            value=1 if self.calls.ready else 0,
        )
        node_up = GaugeMetricFamily(
            "ari_app_node_up",
            "1 while the Asterisk node is connected and in step (offers are made through it).",
            labels=["node"],
        )
        for name, state in self.calls.node_states().items():
            node_up.add_metric([name], 1 if state == "up" else 0)
        yield node_up
        yield CounterMetricFamily(
            "ari_app_ari_reconnects",
            "Times the ARI event stream came back after being lost.",
            value=max(0, stats.stream_connections - 1),
        )
        yield CounterMetricFamily(
            "ari_app_ari_stream_losses",
            "Times the ARI event stream was lost.",
            value=stats.stream_losses,
        )
        yield CounterMetricFamily(
            "ari_app_resyncs", "Resynchronisations with Asterisk.", value=stats.resyncs
        )
        yield CounterMetricFamily(
            "ari_app_ari_events", "ARI events handled (duplicates included).", value=stats.events
        )
        yield CounterMetricFamily(
            "ari_app_ari_requests", "ARI REST requests sent.", value=self.calls.ari_requests
        )
        yield CounterMetricFamily(
            "ari_app_policy_moves", "Calls moved by the mutual-aid passes.", value=stats.moves
        )

    def _journal(self, stats: JournalStats) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "ari_app_journal_spool_depth",
            "Journal entries waiting in the spool file for PostgreSQL.",
            value=stats.spool_depth,
        )
        yield GaugeMetricFamily(
            "ari_app_journal_pending",
            "Journal entries in memory, not yet written or spooled.",
            value=stats.pending,
        )
        yield GaugeMetricFamily(
            "ari_app_journal_database_up",
            "1 when the journal's last write or probe reached PostgreSQL.",
            value=1 if stats.database_up else 0,
        )
        for name, value, help_text in (
            ("written", stats.written, "Journal entries stored in PostgreSQL."),
            ("spooled", stats.spooled, "Journal entries appended to the spool file."),
            ("rejected", stats.rejected, "Journal entries PostgreSQL refused, set aside."),
            ("replays", stats.replays, "Spool replays completed."),
        ):
            yield CounterMetricFamily(f"ari_app_journal_{name}", help_text, value=value)
