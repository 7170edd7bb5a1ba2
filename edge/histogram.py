"""A duration histogram in Prometheus' layout, kept by the component that measures (no locks, no I/O).

The metrics endpoint reads it at scrape time on the event loop, like every other series
(:mod:`edge.ops.metrics`), so the component needs no Prometheus import and pays two integer
additions and a bisection per observation.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

__all__ = ["Histogram"]


class Histogram:
    """Counts of observations per bucket (upper bounds in seconds, inclusive), their number and sum."""

    __slots__ = ("bounds", "count", "counts", "sum_s")

    def __init__(self, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError("bounds must be increasing and not empty")
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum_s = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.count += 1
        self.sum_s += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """``[(le, observations <= le), ..., ("+Inf", count)]`` as Prometheus exposes buckets."""
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            running += n
            out.append((repr(bound), float(running)))
        out.append(("+Inf", float(self.count)))
        return out
