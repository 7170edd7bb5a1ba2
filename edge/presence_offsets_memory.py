"""The threshold engine's learned scanner offsets, kept across restarts in ``{state_dir}/offsets.json`` (#13).

The threshold engine learns a miscalibrated scanner's offset from rostered traffic (:mod:`edge.presence_offsets`),
surely only after 16 visits of 8 shoppers have given each scanner samples: in the sweep's spot stores, 7-9 minutes of
traffic. A restart (an update, a power cut, a nightly reboot) need not pay that again: the gateway keeps the offsets
in use and starts from them, learning on from there (a kept offset is taken as the base the learner measures departures
from). In the sweep, each run started from what 30 minutes of another seed's traffic learned
(``presence_model_tune.py --engine threshold --warm --warm-minutes 30``): 12 cells passed instead of 9 (the three with
a scanner 4 dB off).

Nothing in the file comes from one shopper: per scanner one number. It is used only for the store it was learned in:
its ``layout`` (:func:`layout_key`) is a digest of the scanners (ids, places, heights, configured offsets), the zones'
scanners and floors, the configured exponent and 1 m power -- all the learner's expectations depend on -- and any
change of those starts cold. The file's checks are every kept radio's (:func:`edge.radio_file.read`). Pure.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec
from msgspec import Meta

from edge import radio_file
from edge.config import Config, ScannerConfig
from edge.presence_offsets import BOUND_DB

__all__ = ["OFFSETS_FILE", "OFFSETS_KEPT", "OffsetsFile", "OffsetsMemory", "layout_key"]

OFFSETS_FILE = "offsets.json"
"""The file in the gateway's ``state_dir`` (the grid engine's is ``radio.json``: switching engines starts cold)."""

MEMORY_VERSION = 1
"""The file's format; another version is not read (the gateway starts cold and says so)."""


class OffsetsMemory(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The learned offsets in use (dB added to a scanner's readings, on top of its configured ``offset_db``; scanners
    with none are left out)."""

    offsets_db: dict[str, Annotated[float, Meta(ge=-BOUND_DB, le=BOUND_DB)]] = {}


class OffsetsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``offsets.json``: the format's version, the layout it was learned on, when it was saved and the offsets."""

    version: int
    layout: str
    saved_at: float
    radio: OffsetsMemory


def layout_key(config: Config) -> str:
    """What kept offsets are valid for: a digest of the scanners, the zones' scanners and floors (where the learner
    places a settled shopper), the configured exponent and 1 m power (the level it expects there)."""
    zones = tuple((z.id, z.scanners, z.area_m, z.radius_m) for z in config.zones)
    told = (tuple(config.scanners), zones, config.presence.path_loss_exponent, config.presence.measured_power_1m_dbm)
    return hashlib.sha256(msgspec.json.encode(told)).hexdigest()[:32]


def encode(memory: OffsetsMemory, layout: str, saved_at: float) -> bytes:
    """The file's bytes (indented JSON: an operator may read it)."""
    found = OffsetsFile(version=MEMORY_VERSION, layout=layout, saved_at=saved_at, radio=memory)
    return msgspec.json.format(msgspec.json.encode(found), indent=2) + b"\n"


def read(data: bytes, layout: str, scanners: tuple[ScannerConfig, ...]) -> OffsetsFile | str:
    """The whole file, or why it is not used (:func:`edge.radio_file.read`)."""
    return radio_file.read(data, OffsetsFile, MEMORY_VERSION, layout, scanners)


def describe(memory: OffsetsMemory) -> str:
    """One line for people (the gateway's log, ``edge doctor``)."""
    offsets = ", ".join(f"{s} {v:+.1f} dB" for s, v in sorted(memory.offsets_db.items())) or "none"
    return f"scanner offsets {offsets}"


OFFSETS_KEPT: radio_file.Kept[OffsetsMemory] = radio_file.Kept(OFFSETS_FILE, layout_key, read, encode, describe)
"""The threshold engine's kept offsets, for :class:`edge.radio_keeper.RadioKeeper`."""
