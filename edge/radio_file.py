"""A learned radio kept in a file of the gateway's ``state_dir``: the format every engine's kept radio shares (#13).

An engine that learns something of the store's radio (the grid engine: the path-loss exponent, the sigma, the scanner
offsets, :mod:`edge.presence_grid_memory`; the threshold engine: the scanner offsets,
:mod:`edge.presence_offsets_memory`) keeps what it has **in use** so that a restart starts from it. Every such file is
one JSON object -- the format's ``version``, the ``layout`` it was learned on (a digest of what the radio depends
on), ``saved_at`` (the gateway's clock) and the ``radio`` itself -- and is refused, with one line naming why, when it
is not the gateway's to use: larger than :data:`MEMORY_MAX_BYTES`, not JSON, a field unknown or out of bounds,
another version, another layout, a time that is not finite, an offset for a scanner the config does not have
(:func:`read`).

:class:`Kept` is what :mod:`edge.radio_keeper` needs of one engine's file: its name and the functions that read,
write and describe it. Pure: bytes in, values out, and no numpy (the threshold engine's gateway does not load it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import msgspec

from edge.config import Config, ScannerConfig
from edge.limits import JSON_DEPTH_MAX, too_deep

__all__ = ["MEMORY_MAX_BYTES", "Kept", "KeptFile", "read"]

MEMORY_MAX_BYTES = 64 * 1024
"""A kept radio is a few hundred bytes (a number per scanner): a larger file is not ours."""


M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)


class KeptFile(Protocol[M_co]):
    """What every kept file has (a msgspec Struct of the engine's own type; ``M_co``: its radio's)."""

    @property
    def version(self) -> int: ...

    @property
    def layout(self) -> str: ...

    @property
    def saved_at(self) -> float: ...

    @property
    def radio(self) -> M_co: ...


class _Offsets(Protocol):
    @property
    def offsets_db(self) -> Mapping[str, float]: ...


F = TypeVar("F", bound=KeptFile[_Offsets])


def read(data: bytes, kind: type[F], version: int, layout: str, scanners: tuple[ScannerConfig, ...]) -> F | str:
    """The file decoded as ``kind``, or why it is not used (one line, naming the field)."""
    if len(data) > MEMORY_MAX_BYTES:
        return f"{len(data)} bytes, more than {MEMORY_MAX_BYTES}"
    if too_deep(data):  # 64 KiB of brackets is deep enough for msgspec's RecursionError
        return f"nests deeper than {JSON_DEPTH_MAX} levels"
    try:
        found = msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as err:
        return f"invalid: {err}"
    except msgspec.DecodeError as err:
        return f"not JSON: {err}"
    if found.version != version:
        return f"version {found.version}, this gateway reads {version}"
    if found.layout != layout:
        return "learned on another layout (what the learned radio depends on changed: scanners, zones, floor, exponent)"
    if not math.isfinite(found.saved_at):
        return "saved_at: not a finite time"
    known = {s.id for s in scanners}
    unknown = sorted(set(found.radio.offsets_db) - known)
    if unknown:
        return f"radio.offsets_db: scanner {unknown[0]!r} is not in the config"
    return found


@dataclass(frozen=True, slots=True)
class Kept(Generic[M]):
    """One engine's kept radio, as :class:`edge.radio_keeper.RadioKeeper` handles it (``M``: the radio's type)."""

    file: str
    """The file's name in ``state_dir``."""
    layout: Callable[[Config], str]
    """What a kept radio is valid for (a digest): any change of it starts cold."""
    read: Callable[[bytes, str, tuple[ScannerConfig, ...]], KeptFile[M] | str]
    """The whole file (its ``radio`` of type ``M``), or why it is not used."""
    encode: Callable[[M, str, float], bytes]
    """The file's bytes for a radio, its layout and the time it is saved."""
    describe: Callable[[M], str]
    """One line for people (the gateway's log, ``edge doctor``)."""
