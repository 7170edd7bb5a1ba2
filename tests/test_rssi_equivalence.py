"""RssiWindow's fast path against a straightforward reference, on random samples and reads (Hypothesis).

:class:`edge.rssi.RssiWindow` keeps its samples in lists behind a start index, finds a span's first
sample by bisection while times only grow, and keeps its last level until the next sample. The
reference below is the plain version it replaced: two deques, a linear scan, :func:`trimmed_mean`
recomputed on every read. Every answer must be *identical* (the same float, the same count), not
close: the presence engine's events must not move by a rounding. Times mostly grow, sometimes stand
still or go back (a late sample), and jump past the window; RSSI values are integers (as scanners
report them) or floats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.rssi import RssiWindow, trimmed_mean

T0 = 1_795_428_000.0


class ReferenceWindow:
    """The obvious implementation: what RssiWindow must answer, sample for sample."""

    def __init__(self, window_s: float, max_samples: int, trim_fraction: float) -> None:
        self.window_s = window_s
        self.max_samples = max_samples
        self.trim = trim_fraction
        self.ats: deque[float] = deque()
        self.rssis: deque[float] = deque()

    def _age(self, now: float) -> None:
        while self.ats and self.ats[0] <= now - self.window_s:
            self.ats.popleft()
            self.rssis.popleft()

    def add(self, at: float, rssi: float) -> None:
        self._age(at)
        self.ats.append(at)
        self.rssis.append(rssi)
        if len(self.ats) > self.max_samples:
            self.ats.popleft()
            self.rssis.popleft()

    def level(
        self, now: float, span_s: float | None, min_samples: int, at_least: int, robust: bool
    ) -> tuple[float | None, int]:
        self._age(now)
        n = len(self.ats)
        if n == 0 or n < min_samples:
            return None, 0
        first = 0
        if span_s is not None and span_s < self.window_s:
            first = n
            while first > 0 and self.ats[first - 1] > now - span_s:
                first -= 1
            first = min(first, max(0, n - at_least))
        used = n - first
        if used == 0 or used < min_samples:
            return None, 0
        return trimmed_mean(list(islice(self.rssis, first, n)), self.trim, robust=robust), used


@dataclass(frozen=True)
class Add:
    gap_s: float
    rssi: float


@dataclass(frozen=True)
class Read:
    gap_s: float
    span_s: float | None
    min_samples: int
    at_least: int
    robust: bool


GAPS = st.one_of(
    st.sampled_from([0.0, 0.05, 0.25, 0.5]),  # steady advertisers, and two samples at one instant
    st.floats(min_value=0.0, max_value=1.5, allow_nan=False),
    st.floats(min_value=-1.0, max_value=0.0, allow_nan=False),  # a late sample: time goes back
    st.floats(min_value=4.0, max_value=12.0, allow_nan=False),  # silence past the window
)
RSSI = st.one_of(st.integers(min_value=-100, max_value=-30), st.floats(min_value=-100, max_value=-30, allow_nan=False))
OPS = st.lists(
    st.one_of(
        st.builds(Add, GAPS, RSSI),
        st.builds(
            Read,
            st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=0.6, allow_nan=False)),
            st.one_of(st.none(), st.sampled_from([1.0, 2.0, 3.0, 5.0, 8.0]), st.floats(0.1, 6.0)),
            st.integers(min_value=1, max_value=5),
            st.integers(min_value=0, max_value=8),
            st.booleans(),
        ),
    ),
    max_size=160,
)


@settings(max_examples=300, deadline=None)
@given(
    window_s=st.sampled_from([1.0, 3.0, 5.0]),
    max_samples=st.integers(min_value=1, max_value=30),
    trim=st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.45]),
    ops=OPS,
)
def test_levels_are_identical_to_the_reference(
    window_s: float, max_samples: int, trim: float, ops: list[Add | Read]
) -> None:
    fast = RssiWindow(window_s, max_samples=max_samples, trim_fraction=trim)
    ref = ReferenceWindow(window_s, max_samples, trim)
    now = T0
    for op in ops:
        now += op.gap_s
        if isinstance(op, Add):
            fast.add(now, op.rssi)
            ref.add(now, op.rssi)
        else:
            got = fast.level(now, op.span_s, min_samples=op.min_samples, at_least=op.at_least, robust=op.robust)
            want = ref.level(now, op.span_s, op.min_samples, op.at_least, op.robust)
            assert got == want
            assert type(got[0]) is type(want[0])
            value = fast.value(now, op.span_s, min_samples=op.min_samples, at_least=op.at_least, robust=op.robust)
            assert value == want[0]
        assert len(fast) == len(ref.ats)
        assert fast.last_at == (ref.ats[-1] if ref.ats else None)


def test_a_long_steady_stream_stays_identical_and_bounded() -> None:
    """Thousands of samples at 4 Hz (the lists are compacted many times) with the engine's reads."""
    fast = RssiWindow(5.0, max_samples=24)
    ref = ReferenceWindow(5.0, 24, 0.2)
    for i in range(4000):
        at = T0 + i * 0.25
        rssi = -60 - (i * 7919) % 23 + (-30 if i % 17 == 0 else 0)  # noise and a deep fade now and then
        fast.add(at, rssi)
        ref.add(at, rssi)
        for span, at_least, robust in ((2.0, 0, False), (3.0, 6, True), (None, 0, False)):
            assert fast.level(at, span, at_least=at_least, robust=robust) == ref.level(at, span, 1, at_least, robust)
        assert len(fast._ats) <= 24 + 32  # the dropped samples are deleted now and then
