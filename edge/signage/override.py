"""Emergency and operations messages over everything else: ``cdp/v1/{store}/{gateway}/override``.

Retained payload ``{"id", "priority", "title", "body", "until" (RFC 3339) | "ttl_s", "clear": false}``;
an empty retained message or ``"clear": true`` ends it. ``title`` and ``body`` are a text or texts by
language (``{"de": …, "en": …}``: the store's language is shown). An override's ``ttl_s`` counts from
its **first receipt** of that ``id``, which the gateway keeps, so a restart (and the broker re-sending
the retained message) does not extend it: :func:`active_override` takes that first receipt as input.

Pure: parsing, expiry and the card. The player draws it full screen (:mod:`edge.signage.render`),
higher priorities in the alarm colour; the screen goes back to its plays at the TTL or on clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from edge.errors import DownlinkError
from edge.signage.cards import Card
from edge.signage.offers import localise
from edge.timefmt import parse_start
from edge.unknown import located

URGENT_PRIORITY = 80
"""At or above this priority an override is drawn in the alarm colour (evacuation, a closed exit);
below it in the store's calm colour (a till closing, a lost child at the service desk)."""
ALARM = (176, 0, 32)
CALM = (20, 48, 96)
MAX_TTL_S = 7 * 86_400
"""An override without an end would stay for ever if the CDP forgot it: a week is the longest."""

TITLE_MAX_CHARS = 400
"""Characters of an override's title (each language), as an offer's headline: a screen shows a few lines of it
(unbounded before session 49: a hostile megabyte was wrapped word by word and held the player's builder)."""
BODY_MAX_CHARS = 2000
"""Characters of an override's body (each language), as an offer's text."""
_Lang = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")]
_Title = Annotated[str, msgspec.Meta(max_length=TITLE_MAX_CHARS)]
_Body = Annotated[str, msgspec.Meta(max_length=BODY_MAX_CHARS)]


class OverridePayload(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """``cdp/v1/{store}/{gateway}/override`` (retained)."""

    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] = 50
    title: _Title | dict[_Lang, _Title] = ""
    body: _Body | dict[_Lang, _Body] = ""
    until: str | None = None
    ttl_s: Annotated[float, msgspec.Meta(gt=0, le=MAX_TTL_S)] | None = None
    clear: bool = False


@dataclass(frozen=True, slots=True)
class Override:
    id: str
    priority: int
    title: dict[str, str]
    body: dict[str, str]
    until: float | None
    ttl_s: float | None

    def ends_at(self, first_seen: float) -> float:
        """When it ends, given the first receipt of its id (the earlier of ``until`` and the TTL)."""
        ends = [first_seen + (self.ttl_s if self.ttl_s is not None else MAX_TTL_S)]
        if self.until is not None:
            ends.append(self.until)
        return min(ends)


def _texts(value: str | dict[str, str]) -> dict[str, str]:
    return {"": value} if isinstance(value, str) else dict(value)


def parse_override(payload: bytes, *, topic: str = "override") -> Override | None:
    """The override, or None for a clear (an empty message or ``"clear": true``)."""
    if not payload.strip():
        return None
    try:
        raw = msgspec.json.decode(payload, type=OverridePayload)
        until = parse_start(raw.until) if raw.until is not None else None
    except msgspec.DecodeError as err:
        field, problem = located(err)
        raise DownlinkError(f"override rejected: {field}: {problem}", topic=topic) from None
    except ValueError:
        raise DownlinkError("override rejected: $.until: not an RFC 3339 time", topic=topic) from None
    if raw.clear:
        return None
    if not raw.title and not raw.body:
        raise DownlinkError("override rejected: $.title: a title or a body is needed", topic=topic)
    return Override(raw.id, raw.priority, _texts(raw.title), _texts(raw.body), until, raw.ttl_s)


def active_override(override: Override | None, first_seen: float | None, now: float) -> Override | None:
    """The override to show at ``now`` (None: none, or it has ended)."""
    if override is None or first_seen is None:
        return None
    return override if now < override.ends_at(first_seen) else None


def override_card(override: Override, play_id: int, language: str) -> Card:
    """The full-screen card of an override, in ``language`` (else any language it came in)."""
    title = localise(override.title, language, "") if override.title else ""
    body = localise(override.body, language, "") if override.body else ""
    accent = ALARM if override.priority >= URGENT_PRIORITY else CALM
    return Card(play=play_id, kind="override", headline=title, text=body, accent=accent, language=language)
