"""The presence sweep's simulator: :mod:`edge.sim`'s store generalised across floor plans, radios,
advertisers and shoppers (``benchmarks/presence_sweep.py`` judges presence engines per cell).

:mod:`.layouts` (floor plans and the gateway config each gives), :mod:`.radio` (the channel, every
parameter explicit), :mod:`.advertisers` (the app, cards), :mod:`.shoppers` (trips and exact ground
truth), :mod:`.cell` (one cell, one run: sightings + truth), :mod:`.cells` (the sweep's cells),
:mod:`.references` (naive reference engines), :mod:`.oracle` (a Bayes filter given the true radio
model: the practical limit; it needs numpy, which the bench extra brings), :mod:`.judge` (the goals,
a cell's verdict) and :mod:`.report` (the table and the heat map).
"""

from edge.sim.sweep.cell import Cell, Run, Shopper, simulate

__all__ = ["Cell", "Run", "Shopper", "simulate"]
