"""The bundled simulated store: shoppers walking between zones, with ground truth (``edge demo``,
the benchmarks and the tests run on it)."""

from edge.sim.plan import DEFAULT_PLAN, ZONE_RADIUS_M, FloorPlan
from edge.sim.store import DEFAULT_START, SimulatedStore, default_config

__all__ = ["DEFAULT_PLAN", "DEFAULT_START", "ZONE_RADIUS_M", "FloorPlan", "SimulatedStore", "default_config"]
