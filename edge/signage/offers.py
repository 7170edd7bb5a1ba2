"""The offer catalogue and the merchandising rules: the payloads of ``cdp/v1/{store}/offers`` and
``cdp/v1/{store}/rules``, validated whole into frozen values.

The msgspec types below are the contract: ``edge/schemas/offers.json`` and ``rules.json`` are
generated from them (``python -m edge.signage.offers`` rewrites both; a test keeps them in step).
An invalid payload raises :class:`~edge.errors.DownlinkError` naming the field (``$.offers[3].price``)
and the problem, and the last good catalogue or rules stay in force; a rejected file
(:func:`load_offers_file`, :func:`load_rules_file`) is an :class:`~edge.errors.InputFileError`.
Fields this version does not know are accepted, ignored and named once in the log (:mod:`edge.unknown`).
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec

from edge import constants as c
from edge import jsonschema
from edge.errors import DownlinkError, InputFileError
from edge.limits import JSON_DEPTH_MAX, too_deep
from edge.signage.schedule import ALWAYS, DAY_NAMES, Schedule, from_daypart, window
from edge.timezone import time_zone
from edge.trace import parse_start
from edge.unknown import decode_noting, located

_T = TypeVar("_T")

_Id = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="an id: letters, digits, . _ -")
]
_Lang = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$", description="ISO 639-1 language code")]
_Texts = Annotated[
    dict[_Lang, Annotated[str, msgspec.Meta(min_length=1, max_length=400)]],
    msgspec.Meta(min_length=1, description="the same text by language; the shopper's language is shown if present"),
]
_Image = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(png|jpg|jpeg)$",
        description="a file name in the local content cache (no directories)",
    ),
]
_Time = Annotated[str, msgspec.Meta(max_length=64, description="RFC 3339 time")]
_Word = Annotated[str, msgspec.Meta(max_length=128)]
"""A segment, SKU or zone tag."""
_LIST_MAX = 1000
"""Entries of a list in an offers or rules message (offers, SKUs, tokens, windows...): a store's whole
catalogue fits; the 4 MiB downlink limit bounds the total."""
_Version = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_HourMinute = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class Price(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cents: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "EUR"
    was_cents: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None = None


class Target(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Who may see the offer: listed tokens, or members of listed segments; both empty: every
    opted-in shopper (with the ``personalization`` scope)."""

    tokens: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=128)]], msgspec.Meta(max_length=_LIST_MAX)
    ] = msgspec.field(default_factory=list)
    segments: Annotated[list[_Word], msgspec.Meta(max_length=_LIST_MAX)] = msgspec.field(default_factory=list)


class Daypart(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A weekly window in the catalogue's time zone; ``days`` 0 = Monday."""

    days: Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=6)]], msgspec.Meta(max_length=7)] = msgspec.field(
        default_factory=lambda: list(range(7))
    )
    start: _HourMinute = "00:00"
    end: _HourMinute = "24:00"


_DayName = Annotated[str, msgspec.Meta(pattern="^(" + "|".join(DAY_NAMES) + ")$")]


class ScheduleWindow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A window in the store's time zone (``[gateway] timezone``): wall-clock times, ``to`` not after
    ``from`` crosses midnight, ``days`` and ``dates`` (first and last day, inclusive) name the day the
    window opens. Every key optional: every day, all day, any date."""

    days: Annotated[list[_DayName], msgspec.Meta(max_length=7)] = msgspec.field(default_factory=lambda: list(DAY_NAMES))
    start: _HourMinute = msgspec.field(default="00:00", name="from")
    end: _HourMinute = msgspec.field(default="24:00", name="to")
    dates: Annotated[list[dt.date], msgspec.Meta(min_length=2, max_length=2)] | None = None


_Schedule = Annotated[
    list[ScheduleWindow],
    msgspec.Meta(max_length=_LIST_MAX, description="windows in which it may play (any open: plays); empty: always"),
]


class OfferSpec(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    id: _Id
    campaign: _Id
    headline: _Texts
    text: dict[_Lang, Annotated[str, msgspec.Meta(max_length=2000)]] = msgspec.field(default_factory=dict)
    price: Price | None = None
    image: _Image | None = None
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    skus: Annotated[list[_Word], msgspec.Meta(max_length=_LIST_MAX)] = msgspec.field(default_factory=list)
    target: Target = msgspec.field(default_factory=Target)
    zones: Annotated[list[_Id], msgspec.Meta(max_length=_LIST_MAX)] = msgspec.field(default_factory=list)
    valid_from: _Time | None = None
    valid_until: _Time | None = None
    dayparts: Annotated[list[Daypart], msgspec.Meta(max_length=_LIST_MAX)] = msgspec.field(default_factory=list)
    schedule: _Schedule = msgspec.field(default_factory=list)
    public_safe: bool = False
    """The offer states nothing personal when bystanders see it: a targeted offer in a sensitive
    category (baby, health, a birthday: :mod:`edge.signage.discretion`) is shown on the public screen
    only with this set."""
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] = 50
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9-]{3,32}$")] | None = None
    redeem_url: Annotated[str, msgspec.Meta(pattern=r"^https://", max_length=200)] | None = None


class PlaylistItemSpec(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    id: _Id
    headline: _Texts
    text: dict[_Lang, Annotated[str, msgspec.Meta(max_length=2000)]] = msgspec.field(default_factory=dict)
    image: _Image | None = None
    duration_s: Annotated[float, msgspec.Meta(ge=1.0, le=300.0)] = c.SIGNAGE_PLAY_S
    schedule: _Schedule = msgspec.field(default_factory=list)


class OffersPayload(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """``cdp/v1/{store}/offers`` (retained): the whole catalogue and the generic playlist."""

    version: _Version
    issued_at: _Time
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    default_language: _Lang = "en"
    offers: Annotated[list[OfferSpec], msgspec.Meta(max_length=_LIST_MAX)]
    playlist: Annotated[list[PlaylistItemSpec], msgspec.Meta(max_length=_LIST_MAX)] = msgspec.field(
        default_factory=list
    )


class ExclusionSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Never an offer of ``category`` on a screen whose zone has any of ``zone_tags``."""

    category: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    zone_tags: Annotated[list[_Word], msgspec.Meta(min_length=1, max_length=_LIST_MAX)]


class CapsSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    shopper_offer_per_day: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = c.SIGNAGE_CAP_SHOPPER_OFFER_PER_DAY
    screen_offer_per_hour: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = c.SIGNAGE_CAP_SCREEN_OFFER_PER_HOUR


class HoldoutSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    share: Annotated[float, msgspec.Meta(ge=0.0, le=0.5)] = c.SIGNAGE_HOLDOUT_SHARE


class RulesPayload(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """``cdp/v1/{store}/rules`` (retained): exclusions, frequency caps, the holdout share."""

    version: _Version
    issued_at: _Time
    exclusions: Annotated[list[ExclusionSpec], msgspec.Meta(max_length=_LIST_MAX)] = msgspec.field(default_factory=list)
    exclude_recent_purchases: bool = True
    caps: CapsSpec = msgspec.field(default_factory=CapsSpec)
    holdout: HoldoutSpec = msgspec.field(default_factory=HoldoutSpec)


# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Offer:
    id: str
    campaign: str
    headline: dict[str, str]
    text: dict[str, str]
    category: str
    skus: frozenset[str]
    tokens: frozenset[str]
    segments: frozenset[str]
    zones: frozenset[str]
    valid_from: float
    valid_until: float
    dayparts: Schedule
    """The older ``dayparts`` in the catalogue's time zone; no windows: always."""
    priority: int
    price: Price | None = None
    image: str | None = None
    code: str | None = None
    redeem_url: str | None = None
    schedule: Schedule = ALWAYS
    """``schedule`` in the store's time zone; no windows: always."""
    public_safe: bool = False

    @property
    def targeted(self) -> bool:
        return bool(self.tokens or self.segments)


@dataclass(frozen=True, slots=True, eq=False)
class PlaylistItem:
    id: str
    headline: dict[str, str]
    text: dict[str, str]
    image: str | None
    duration_s: float
    schedule: Schedule = ALWAYS
    """In the store's time zone; no windows: always."""


@dataclass(frozen=True, slots=True, eq=False)
class Catalogue:
    version: int
    issued_at: float
    timezone: zoneinfo.ZoneInfo
    default_language: str
    offers: tuple[Offer, ...]
    playlist: tuple[PlaylistItem, ...]


@dataclass(frozen=True, slots=True)
class Rules:
    version: int
    exclusions: tuple[tuple[str, frozenset[str]], ...]
    """(category, zone tags)."""
    exclude_recent_purchases: bool = True
    cap_shopper_offer_per_day: int = c.SIGNAGE_CAP_SHOPPER_OFFER_PER_DAY
    cap_screen_offer_per_hour: int = c.SIGNAGE_CAP_SCREEN_OFFER_PER_HOUR
    holdout_share: float = c.SIGNAGE_HOLDOUT_SHARE

    def excluded_categories(self, zone_tags: frozenset[str]) -> frozenset[str]:
        """The categories never shown in a zone with these tags."""
        return frozenset(category for category, tags in self.exclusions if tags & zone_tags)


EMPTY_PLAYLIST_ITEM = PlaylistItem("g-house", {"en": "Welcome"}, {}, None, c.SIGNAGE_PLAY_S)
"""Shown when a catalogue has no playlist (or none arrived yet): the screen is never black."""


def localise(texts: dict[str, str], language: str | None, default: str) -> str:
    """The text in ``language``, else in the catalogue's default language, else any."""
    if language and language in texts:
        return texts[language]
    if default in texts:
        return texts[default]
    return next(iter(texts.values()), "")


def _time(value: str | None, where: str, fallback: float) -> float:
    if value is None:
        return fallback
    try:
        return parse_start(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an RFC 3339 time") from None  # a time, never personal


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _offer(spec: OfferSpec, where: str) -> Offer:
    start = _time(spec.valid_from, f"{where}.valid_from", -math.inf)
    end = _time(spec.valid_until, f"{where}.valid_until", math.inf)
    if end <= start:
        raise ValueError(f"{where}.valid_until: must be after valid_from")
    dayparts = []
    for index, part in enumerate(spec.dayparts):
        if _minute(part.end) <= _minute(part.start):
            raise ValueError(f"{where}.dayparts[{index}]: end must be after start (use schedule to cross midnight)")
        dayparts.append(from_daypart(part.days, part.start, part.end))
    return Offer(
        id=spec.id,
        campaign=spec.campaign,
        headline=dict(spec.headline),
        text=dict(spec.text),
        category=spec.category,
        skus=frozenset(spec.skus),
        tokens=frozenset(spec.target.tokens),
        segments=frozenset(spec.target.segments),
        zones=frozenset(spec.zones),
        valid_from=start,
        valid_until=end,
        dayparts=Schedule(tuple(dayparts)),
        priority=spec.priority,
        price=spec.price,
        image=spec.image,
        code=spec.code,
        redeem_url=spec.redeem_url,
        schedule=_schedule(spec.schedule, f"{where}.schedule"),
        public_safe=spec.public_safe,
    )


def _schedule(windows: list[ScheduleWindow], where: str) -> Schedule:
    return Schedule(
        tuple(window(w.days, w.start, w.end, w.dates, where=f"{where}[{index}]") for index, w in enumerate(windows))
    )


def _catalogue(raw: OffersPayload) -> Catalogue:
    issued = _time(raw.issued_at, "$.issued_at", 0.0)
    try:
        tz = time_zone(raw.timezone)
    except ValueError as err:
        raise ValueError(f"$.timezone: {err}") from None
    offers = []
    seen: set[str] = set()
    for index, spec in enumerate(raw.offers):
        if spec.id in seen:
            raise ValueError(f"$.offers[{index}].id: duplicate id {spec.id!r}")
        seen.add(spec.id)
        offers.append(_offer(spec, f"$.offers[{index}]"))
    playlist = []
    for index, item in enumerate(raw.playlist):
        if item.id in seen:
            raise ValueError(f"$.playlist[{index}].id: duplicate id {item.id!r}")
        seen.add(item.id)
        schedule = _schedule(item.schedule, f"$.playlist[{index}].schedule")
        playlist.append(
            PlaylistItem(item.id, dict(item.headline), dict(item.text), item.image, item.duration_s, schedule)
        )
    return Catalogue(raw.version, issued, tz, raw.default_language, tuple(offers), tuple(playlist))


def _rejection(err: Exception) -> tuple[str, str]:
    """(field, problem) of a decoding error or of a ``"$.field: problem"`` ValueError."""
    if isinstance(err, msgspec.DecodeError):
        return located(err)
    field, sep, problem = str(err).partition(": ")
    return (field, problem) if sep and field.startswith("$") else ("$", str(err))


def _decode_offers(payload: bytes) -> Catalogue:
    return _catalogue(decode_noting("offers", payload, OffersPayload))


def _decode_rules(payload: bytes) -> Rules:
    raw: RulesPayload = decode_noting("rules", payload, RulesPayload)
    _time(raw.issued_at, "$.issued_at", 0.0)
    return Rules(
        version=raw.version,
        exclusions=tuple((rule.category, frozenset(rule.zone_tags)) for rule in raw.exclusions),
        exclude_recent_purchases=raw.exclude_recent_purchases,
        cap_shopper_offer_per_day=raw.caps.shopper_offer_per_day,
        cap_screen_offer_per_hour=raw.caps.screen_offer_per_hour,
        holdout_share=raw.holdout.share,
    )


def parse_offers(payload: bytes, *, topic: str = "offers") -> Catalogue:
    """Validate an offer catalogue; :class:`DownlinkError` names the field and the problem."""
    try:
        return _decode_offers(payload)
    except (msgspec.DecodeError, ValueError) as err:
        field, problem = _rejection(err)
        raise DownlinkError(f"offers rejected: {field}: {problem}", topic=topic) from None


def parse_rules(payload: bytes, *, topic: str = "rules") -> Rules:
    """Validate merchandising rules; :class:`DownlinkError` names the field and the problem."""
    try:
        return _decode_rules(payload)
    except (msgspec.DecodeError, ValueError) as err:
        field, problem = _rejection(err)
        raise DownlinkError(f"rules rejected: {field}: {problem}", topic=topic) from None


def _load_file(path: Path, what: str, decode: Callable[[bytes], _T]) -> _T:
    try:
        payload = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"cannot read the {what}: {err.strerror}", path=str(path)) from None
    if too_deep(payload):  # as a downlink is checked: msgspec's RecursionError is no decode error
        raise InputFileError(f"nests deeper than {JSON_DEPTH_MAX} levels", path=str(path))
    try:
        return decode(payload)
    except (msgspec.DecodeError, ValueError) as err:
        field, problem = _rejection(err)
        raise InputFileError(problem, path=str(path), field=field) from None


def load_offers_file(path: Path) -> Catalogue:
    """An offer catalogue from a file; :class:`~edge.errors.InputFileError` (``offers.json: $.offers[3]
    .price.cents: problem``) for one that cannot be read or is rejected: a named file is not skipped."""
    return _load_file(path, "offers", _decode_offers)


def load_rules_file(path: Path) -> Rules:
    """Merchandising rules from a file; :class:`~edge.errors.InputFileError` like :func:`load_offers_file`."""
    return _load_file(path, "rules", _decode_rules)


SCHEMA_DIR = jsonschema.SCHEMA_DIR


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas of the two payloads, as ``edge/schemas/{offers,rules}.json`` hold them."""
    return {
        name: jsonschema.schema_of(kind, schema_id=f"urn:instore-edge:schema:{name}", title=f"{topic} payload")
        for name, kind, topic in (
            ("offers", OffersPayload, "cdp/v1/{store}/offers"),
            ("rules", RulesPayload, "cdp/v1/{store}/rules"),
        )
    }


def write_schemas(directory: Path = SCHEMA_DIR) -> None:
    jsonschema.write(json_schemas(), directory)


if __name__ == "__main__":
    write_schemas()
