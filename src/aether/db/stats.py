"""Per-statement timing, kept in the process for metrics (/metrics, `aether status`) and slow-query logs."""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from dataclasses import dataclass, field

log = logging.getLogger("aether.db")

# Latency histogram bucket bounds in seconds (Prometheus-style, cumulative when exported).
BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class QueryTiming:
    count: int = 0
    errors: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))


class QueryStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timings: dict[str, QueryTiming] = {}
        self.slow_query_s = 0.5

    def record(self, name: str, seconds: float, *, error: bool = False) -> None:
        with self._lock:
            timing = self._timings.get(name)
            if timing is None:
                timing = self._timings[name] = QueryTiming()
            timing.count += 1
            timing.errors += int(error)
            timing.total_s += seconds
            timing.max_s = max(timing.max_s, seconds)
            timing.buckets[bisect_left(BUCKETS, seconds)] += 1
        if seconds >= self.slow_query_s:
            log.warning("slow query %s took %.1f ms", name, seconds * 1000, extra={"query": name})

    def snapshot(self) -> dict[str, QueryTiming]:
        with self._lock:
            return {
                name: QueryTiming(t.count, t.errors, t.total_s, t.max_s, list(t.buckets))
                for name, t in self._timings.items()
            }

    def reset(self) -> None:
        with self._lock:
            self._timings.clear()


STATS = QueryStats()
