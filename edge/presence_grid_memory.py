"""What the grid engine learned of the store's radio, kept across restarts (issue 13).

The grid engine learns the store's path-loss exponent, its shadowing sigma and each scanner's calibration offset
online (:mod:`edge.presence_grid_learn`, :mod:`edge.presence_grid_offsets`). A gateway that starts cold uses the
configured exponent (2.2) until its learner is sure, which takes a minute or two of rostered traffic: in a steep
store (exponent 3.2) it reads the first shoppers as farther than they are and enters them late (docs/presence.md,
"The grid's right zone in [4] and [49] (session 23)", and "The grid's radio kept across restarts (session 28)").
A restart (an update, a power cut, a nightly reboot) need not pay that again: the gateway keeps what is in use in
``{state_dir}/radio.json`` and starts from it.

What is kept is only what is **in use** -- the exponent, the sigma, the offsets applied, the scanners' miss rate,
the building's wall loss when learned and whether the store hears beyond the grid's 15 m range -- never the learners'
samples, so the learners start their statistics afresh
from the kept values and move them as they would move configured ones (a kept exponent that is clearly wrong is
left by the same test, ``RADIO_REJECT_Z``). The engine starts from the kept exponent and offsets; the sigma, the miss
rate, the wall and the far hearing are kept for the record and learned again (:data:`KEEP_SIGMA`,
:data:`KEEP_MISS_WALL`, :data:`KEEP_FAR`).
Nothing in it comes from one shopper: no token, no time of a visit; it is the radio of the building and its scanners.

A kept radio is used only for the store it was learned in: it names the layout it was learned on (:func:`layout_key`:
the scanners' ids, places, heights and configured offsets, the floor plan and the configured exponent), and any
change of those starts cold. Pure: bytes in, values out; the gateway reads and writes the file
(:mod:`edge.radio_keeper`).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec
from msgspec import Meta

from edge import radio_file
from edge.config import PresenceConfig, ScannerConfig
from edge.floor import FloorConfig
from edge.presence_grid_learn import SIGMA_MAX_DB, SIGMA_MIN_DB
from edge.presence_grid_loss import LOSS_BOUNDS
from edge.presence_grid_offsets import OFFSET_BOUND_DB
from edge.presence_grid_wall import WALL_MAX_DB
from edge.self_calibration import RADIO_EXPONENT_MAX, RADIO_EXPONENT_MIN

KEEP_SIGMA = False
"""Start from the kept shadowing sigma too, not only the exponent and the offsets. Not by default: the sigma is learned
again within a few minutes of each start, and meanwhile the configured 6 dB (``SIGMA_DB``) keeps the first minutes
from flapping. Measured on the sweep (42 tuning cells x seeds 1-3, each run started from the radio a run of another
seed of the cell ended with, ``presence_model_tune.py --warm``): with the sigma kept, spurious changes summed over
the cells 226.6 -> 245.8 per shopper-hour and 13 -> 10 cells passed; without, 229.0 and 14 (docs/presence.md, "The
grid's radio kept across restarts (session 28)"). ``--set KEEP_SIGMA=1`` compares."""

KEEP_MISS_WALL = False
"""Start from the kept miss rate and wall loss too (when they were learned). Not by default: measured as KEEP_SIGMA
was, with the exponent and offsets kept, the 42 tuning cells x seeds 1-3 went 67.74, 14 passed -> 69.08, 12 with
these kept as well (spurious changes summed 229.0 -> 235.0 per shopper-hour; [37] 0 -> 1.31, [28] 0.4 -> 1.2, [16]
2.0 -> 2.8, [45] exit p95 6.68 -> 9.77 s): the priors they start from (a 30 % miss rate, no wall) are the safer
start, and each is learned again within minutes. Kept in the file for the record (``edge doctor`` shows them)."""

KEEP_FAR = False
"""Start from the kept far hearing too (``far_p``: the store learned or proven to hear beyond 15 m). Not by default:
measured with each run started from what a run of another seed ended with (docs/presence.md, "The learned range: far
readings at 0.3, not 0.01 (session 40)"), the sweep heard to 60 m went 165.97 -> 154.04 capped badness with it, but
the doors walk lost 0.8-2.2 points of right zone on every seed (seeds 3-8: 92.83-94.72 -> 91.34-93.04 %, the same
to the digit as far readings allowed from the start of a cold run, which cost the same there; the doors walk learns
its far hearing again within its first minutes anyway). Kept in the file for the record (``edge doctor`` shows it);
``--set KEEP_FAR=1`` compares."""

RADIO_FILE = "radio.json"
"""The file in the gateway's ``state_dir``."""

MEMORY_VERSION = 1
"""The file's format; another version is not read (the gateway starts cold and says so)."""

MEMORY_MAX_BYTES = radio_file.MEMORY_MAX_BYTES


class RadioMemory(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The radio in use: the path-loss exponent, the shadowing sigma (dB) and the learned offset applied to each
    scanner (dB on top of its configured ``offset_db``; scanners with none are left out)."""

    exponent: Annotated[float, Meta(ge=RADIO_EXPONENT_MIN, le=RADIO_EXPONENT_MAX)]
    sigma_db: Annotated[float, Meta(ge=SIGMA_MIN_DB, le=SIGMA_MAX_DB)]
    offsets_db: dict[str, Annotated[float, Meta(ge=-OFFSET_BOUND_DB, le=OFFSET_BOUND_DB)]] = {}
    miss_p: Annotated[float, Meta(ge=LOSS_BOUNDS[0], le=LOSS_BOUNDS[1])] | None = None
    """The share of adverts a scanner in range misses, when learned (:mod:`edge.presence_grid_loss`)."""
    wall_db: Annotated[float, Meta(ge=0.0, le=WALL_MAX_DB)] | None = None
    """The building's wall loss, when learned (:mod:`edge.presence_grid_wall`; not when ``[floor] wall_loss_db`` tells
    it)."""
    far_p: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None
    """A reading's density beyond the grid's 15 m range, as a share of its path loss's, when the store was learned to
    hear beyond it (:mod:`edge.presence_grid_range`: 0.3 learned from the readings, 1 proven by adverts heard by
    scanners with no common cell in range); None: cut off there, as a store is assumed to be at first. Added in
    session 40: a file without it reads as None, and a gateway older than that refuses a file with it (it starts
    cold and says so)."""


class RadioFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``radio.json``: the format's version, the layout it was learned on, when it was saved (the gateway's clock,
    Unix seconds) and the radio."""

    version: int
    layout: str
    saved_at: float
    radio: RadioMemory


def layout_key(scanners: tuple[ScannerConfig, ...], floor: FloorConfig, presence: PresenceConfig) -> str:
    """What a kept radio is valid for: a digest of the scanners (ids, places, heights, configured offsets), the floor
    plan and the configured exponent. The zones are not in it: they do not change the radio."""
    told = (tuple(scanners), floor, presence.path_loss_exponent)
    return hashlib.sha256(msgspec.json.encode(told)).hexdigest()[:32]


def encode(memory: RadioMemory, layout: str, saved_at: float) -> bytes:
    """The file's bytes (indented JSON: an operator may read it)."""
    found = RadioFile(version=MEMORY_VERSION, layout=layout, saved_at=saved_at, radio=memory)
    return msgspec.json.format(msgspec.json.encode(found), indent=2) + b"\n"


def decode(data: bytes, layout: str, scanners: tuple[ScannerConfig, ...]) -> RadioMemory | str:
    """The kept radio, or why it is not used (one line, naming the field): a file of another format, version or
    layout, a value out of bounds, an offset for a scanner the config does not have."""
    found = read(data, layout, scanners)
    return found if isinstance(found, str) else found.radio


def read(data: bytes, layout: str, scanners: tuple[ScannerConfig, ...]) -> RadioFile | str:
    """The whole file (:func:`decode`'s checks, :func:`edge.radio_file.read`; ``edge doctor`` shows when it was saved),
    or why it is not used."""
    return radio_file.read(data, RadioFile, MEMORY_VERSION, layout, scanners)


def describe(radio: RadioMemory) -> str:
    """One line for people (the gateway's log, ``edge doctor``): what the kept radio says."""
    offsets = ", ".join(f"{s} {v:+.1f} dB" for s, v in sorted(radio.offsets_db.items())) or "none"
    found = f"path-loss exponent {radio.exponent:g}, sigma {radio.sigma_db:g} dB, scanner offsets {offsets}"
    if radio.miss_p is not None:
        found += f", adverts missed {radio.miss_p * 100:.0f} %"
    if radio.wall_db is not None:
        found += f", wall {radio.wall_db:g} dB"
    if radio.far_p is not None:
        found += ", heard beyond 15 m" + (" (proven)" if radio.far_p >= 1.0 else f" (far readings x{radio.far_p:g})")
    return found


GRID_KEPT: radio_file.Kept[RadioMemory] = radio_file.Kept(
    RADIO_FILE,
    lambda config: layout_key(config.scanners, config.floor, config.presence),
    read,
    encode,
    describe,
)
"""The grid engine's kept radio, for :class:`edge.radio_keeper.RadioKeeper`."""
