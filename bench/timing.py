"""Wall and CPU time of a piece of work, and percentiles of repeated timings."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def cpu_seconds() -> float:
    """CPU time of this process (user + system), threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Measure:
    wall: float   # seconds
    cpu: float    # CPU seconds of this process

    def as_dict(self, rate: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"wall_s": self.wall, "cpu_s": self.cpu}
        if rate is not None:
            out["per_s"] = rate / self.wall if self.wall else None
        return out


def measured(work: Callable[[], object]) -> Measure:
    cpu, wall = cpu_seconds(), time.perf_counter()
    work()
    return Measure(time.perf_counter() - wall, cpu_seconds() - cpu)


def best_of(work: Callable[[], object], *, runs: int, min_seconds: float = 0.0) -> Measure:
    """The fastest of ``runs`` timings (at least ``min_seconds`` of runs in all): the least noisy
    estimate of what the work costs on a machine that other processes share."""
    best: Measure | None = None
    spent = 0.0
    done = 0
    while done < runs or spent < min_seconds:
        measure = measured(work)
        spent += measure.wall
        done += 1
        if best is None or measure.wall < best.wall:
            best = measure
    assert best is not None
    return best


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 (and the extremes) of timings in seconds, reported in milliseconds."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        value = ordered[0] * 1000
        return {"p50_ms": value, "p95_ms": value, "min_ms": value, "max_ms": value}
    cuts = statistics.quantiles(ordered, n=20, method="inclusive")
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": cuts[18] * 1000,
            "min_ms": ordered[0] * 1000, "max_ms": ordered[-1] * 1000}
