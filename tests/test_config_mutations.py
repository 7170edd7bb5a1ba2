"""Every key of the example configs replaced by a hostile value: a ConfigError naming the file and the key, or
a config the gateway's core is built from and advanced with -- never another exception. Session 49's run of
this found ``gateway.timezone = "Europe"`` (a directory of the time zone database: zoneinfo's OSError)."""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.app import build_core
from edge.config import from_mapping
from edge.errors import ConfigError
from tests.helpers import MISSING, put

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HOSTILE: tuple[object, ...] = (
    -1, 0, 1e-9, 1e6, 2**70, math.nan, math.inf, "", "x" * 300, "Europe", [], {}, True, [[1e308, 0, 2, 2]],
)  # fmt: skip
START = 1_800_000_000.0


def _keys(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key, into tables and arrays of tables (a plain array is one value)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from _keys(inner, (*path, key))
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            yield from _keys(item, (*path, index))


@pytest.mark.parametrize("name", ["store.toml", "sim-store-grid.toml", "aisle-drawn.toml"])
def test_every_key_mutated_is_named_or_runs(name: str) -> None:
    base = tomllib.loads((EXAMPLES / name).read_text())
    source = str(EXAMPLES / name)
    accepted = named = 0
    for path in _keys(base):
        for value in (*HOSTILE, MISSING):
            mutated = copy.deepcopy(base)
            put(mutated, path, value)
            try:
                config = from_mapping(mutated, source=source, trace_given=True)
            except ConfigError as err:
                why = str(err)
            else:
                why = ""
            if why:
                assert why.startswith(f"{source}: "), why
                named += 1
                continue
            core = build_core(config)
            core.advance(START)
            core.advance(START + 1.0)
            accepted += 1
    assert accepted > 0
    assert named > 0
