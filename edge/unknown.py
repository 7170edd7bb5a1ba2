"""Unknown fields and scopes in the CDP's messages: accepted, named once, counted.

A newer CDP may send a field or a scope this gateway does not know yet. The message is accepted
(forward compatibility) and the unknown part ignored: an unknown field is dropped by the decoder,
an unknown scope grants nothing. Each unknown name is logged once per message type per process,
with the closest known name when there is a close one (a typo such as ``personalisation``), and
every occurrence is counted (``unknown_fields_ignored``, ``unknown_scopes_ignored`` in
``edge.gateway.health``). Only the unknown name and where it sits in the schema are logged —
never a value, nor an array index (values hold tokens and beacon UUIDs).
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import threading
from collections.abc import Collection, Iterable
from typing import Any

import msgspec
import msgspec.inspect as mi

log = logging.getLogger(__name__)

LOGGED_NAMES_MAX = 1000
"""Distinct (message type, unknown name) pairs remembered so each is logged once: far more than a
CDP's schema grows by between two gateway releases, small enough that a CDP sending random keys
cannot grow the gateway's memory (past it, names are still counted, no longer logged)."""

NAME_MAX_CHARS = 64
"""An unknown name longer than this is cut in the log line (a key is a word, not a payload)."""

_lock = threading.Lock()
_logged: set[tuple[str, str]] = set()
_counts = {"unknown_fields_ignored": 0, "unknown_scopes_ignored": 0}


def health() -> dict[str, int]:
    """The process's counts of ignored unknown fields and scopes (for ``edge.gateway.health``)."""
    with _lock:
        return dict(_counts)


def _shown(name: str) -> str:
    return repr(name if len(name) <= NAME_MAX_CHARS else name[:NAME_MAX_CHARS] + "…")


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _note(kind: str, what: str, name: str, where: str, known: Iterable[str]) -> None:
    key = (kind, f"{what}:{where}:{name}")
    with _lock:
        _counts[f"unknown_{what}s_ignored"] += 1
        if key in _logged or len(_logged) >= LOGGED_NAMES_MAX:
            return
        _logged.add(key)
    at = f" at {where}" if where else ""
    log.warning("%s: unknown %s %s%s%s — ignored", kind, what, _shown(name), at, _hint(name, known))


def note_scopes(kind: str, scopes: Iterable[str], known: Collection[str]) -> None:
    """Log (once per ``kind`` and name) and count each scope of ``scopes`` not in ``known``."""
    for scope in scopes:
        if scope not in known:
            _note(kind, "scope", scope, "", known)


def note_fields(kind: str, spec: Any, raw: object) -> None:
    """Log (once per ``kind`` and name) and count each key of ``raw`` (decoded JSON) that the
    msgspec type ``spec`` does not know, at any depth. Structs with ``forbid_unknown_fields``
    are not looked at: the decoder rejects those keys itself."""
    for where, name, known in _unknown(_info(spec), raw, "$"):
        _note(kind, "field", name, where, known)


@functools.lru_cache(maxsize=64)
def _info(spec: Any) -> mi.Type:
    return mi.type_info(spec)


_holds: dict[int, tuple[mi.Type, bool]] = {}
"""id of a type node → (the node, whether a struct can sit under it); the node is kept so its id is not reused."""


def _holds_struct(t: mi.Type) -> bool:
    """Whether a value of type ``t`` can hold a struct (so unknown keys): the walk skips the rest -- a roster's
    scopes, segments and purchases were visited string by string (a 4 MiB roster decoded in 313 ms, 164 ms since;
    session 49)."""
    hit = _holds.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1]
    inner = t
    while isinstance(inner, mi.Metadata):
        inner = inner.type
    if isinstance(inner, mi.StructType):
        holds = True
    elif isinstance(inner, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        holds = _holds_struct(inner.item_type)
    elif isinstance(inner, mi.UnionType):
        holds = any(_holds_struct(member) for member in inner.types)
    else:
        holds = False  # what the walk does not enter (scalars, dicts)
    _holds[id(t)] = (t, holds)
    return holds


_by_name: dict[int, tuple[mi.StructType, tuple[str, ...], frozenset[str], dict[str, mi.Type]]] = {}


def _fields(t: mi.StructType) -> tuple[tuple[str, ...], frozenset[str], dict[str, mi.Type]]:
    """A struct's JSON field names (in order, and as a set), and the types of those a struct can sit under by
    name; made once per type node (kept with the node, as :data:`_holds`)."""
    hit = _by_name.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1], hit[2], hit[3]
    names = tuple(f.encode_name for f in t.fields)
    walk = {f.encode_name: f.type for f in t.fields if _holds_struct(f.type)}
    _by_name[id(t)] = (t, names, frozenset(names), walk)
    return names, frozenset(names), walk


def _unknown(t: mi.Type, raw: object, where: str) -> Iterable[tuple[str, str, tuple[str, ...]]]:
    """(schema path without indices, unknown key, known keys) for each unknown key under ``raw``."""
    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.StructType):
        if not isinstance(raw, dict):
            return
        names, known, walk = _fields(t)
        for key, value in raw.items():
            inner = walk.get(key)
            if inner is not None:
                yield from _unknown(inner, value, f"{where}.{key}")
            elif key not in known and key != t.tag_field and not t.forbid_unknown_fields and isinstance(key, str):
                yield where, key, names
    elif isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        if isinstance(raw, list) and _holds_struct(t.item_type):
            for item in raw:
                yield from _unknown(t.item_type, item, f"{where}[]")
    elif isinstance(t, mi.UnionType):
        chosen = _member(t, raw)
        if chosen is not None:
            yield from _unknown(chosen, raw, where)


def _member(t: mi.UnionType, raw: object) -> mi.Type | None:
    """The member of a union that ``raw`` was decoded as (a struct by its tag, or a list)."""
    if isinstance(raw, dict):
        structs = [m for m in t.types if isinstance(m, mi.StructType)]
        for member in structs:
            if member.tag_field is not None and raw.get(member.tag_field) == member.tag:
                return member
        return structs[0] if len(structs) == 1 else None
    if isinstance(raw, list):
        lists = [m for m in t.types if isinstance(m, mi.ListType | mi.VarTupleType)]
        return lists[0] if len(lists) == 1 else None
    return None


_AT = re.compile(r" - at `(\$[^`]*)`$")


def located(err: msgspec.DecodeError) -> tuple[str, str]:
    """msgspec's ``Expected `int`, got `str` - at `$.offers[0].priority``` as (field, problem);
    the field is ``$`` when msgspec names none (malformed JSON, not an object)."""
    text = str(err)
    match = _AT.search(text)
    if match is None:
        return "$", text
    return match.group(1), text[: match.start()]


def decode_noting(kind: str, payload: bytes, spec: type[Any]) -> Any:
    """``payload`` decoded as ``spec``, its unknown fields noted; raises msgspec's errors."""
    raw = msgspec.json.decode(payload)
    note_fields(kind, spec, raw)
    return msgspec.convert(raw, spec)


def strip_unknown(kind: str, spec: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` (decoded JSON) without the keys the msgspec type ``spec`` does not know, at any depth,
    each noted like :func:`note_fields` — for types that forbid unknown fields (the config), so a
    message for them from a newer CDP still validates."""
    kept = _strip(kind, _info(spec), raw, "$")
    return kept if isinstance(kept, dict) else raw


def _strip(kind: str, t: mi.Type, raw: object, where: str) -> object:
    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.StructType) and isinstance(raw, dict):
        fields = {f.encode_name: f for f in t.fields}
        kept: dict[str, object] = {}
        for key, value in raw.items():
            field = fields.get(key)
            if field is not None:
                kept[key] = _strip(kind, field.type, value, f"{where}.{key}")
            elif key == t.tag_field:
                kept[key] = value
            else:
                _note(kind, "field", str(key), where, fields)
        return kept
    if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType) and isinstance(raw, list):
        return [_strip(kind, t.item_type, item, f"{where}[]") for item in raw]
    if isinstance(t, mi.UnionType):
        chosen = _member(t, raw)
        return raw if chosen is None else _strip(kind, chosen, raw, where)
    return raw


def _reset_for_tests() -> None:
    with _lock:
        _logged.clear()
        for key in _counts:
            _counts[key] = 0
