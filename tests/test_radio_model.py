"""The emission model (edge.radio_model): a likelihood table per distance histogram, and the exponent spread."""

from __future__ import annotations

import pytest

from edge import constants_model as cm
from edge import radio_model as rm


def test_the_default_trusts_the_configured_exponent() -> None:
    assert cm.MODEL_EXPONENT_SPREAD == (0.0,)


def test_a_spread_averages_the_tables_of_its_exponents(monkeypatch: pytest.MonkeyPatch) -> None:
    """MODEL_EXPONENT_SPREAD = (0, 1) is the equal mixture of the tables at n and n + 1: a store whose exponent
    is not known is heard as either."""
    hist = rm.disc_histogram(3.0, 1.0)
    low = rm.emission(hist, -59.0, 2.2, 6.0)
    high = rm.emission(hist, -59.0, 3.2, 6.0)
    monkeypatch.setattr(cm, "MODEL_EXPONENT_SPREAD", (0.0, 1.0))
    both = rm.emission(hist, -59.0, 2.2, 6.0)
    assert both == pytest.approx([(a + b) / 2 for a, b in zip(low, high, strict=True)])
    assert sum(both) == pytest.approx(1.0, abs=0.01)  # still a distribution over the integer RSSIs
