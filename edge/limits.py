"""Limits every decoder of outside input applies before msgspec sees the bytes.

msgspec has no nesting limit: a JSON text nesting some thousands of levels makes it raise
``RecursionError`` (and :mod:`edge.unknown`'s walk over the decoded value recurses too). So each
payload (a downlink, a trace line) is pre-scanned for its bracket depth at C speed: one that holds
no more brackets than the limit cannot nest deeper (the common case: two ``bytes.count``);
otherwise its strings are cut out (split on quotes, or one regular expression when it has escapes),
every opening bracket becomes ``(`` and every closing one ``)`` (``bytes.translate``, the rest
deleted), a run of more than ``limit`` ``(`` rejects at once, and innermost ``()`` pairs are
removed one level per pass (``bytes.replace``), at most ``limit`` passes. A balanced text of depth
d empties in d passes; what is left after ``limit`` passes nests too deep or does not balance
(malformed JSON either way, which msgspec would have to recurse into to find out).

:func:`scrub` takes payload values out of a decoder's message (msgspec quotes a rejected value:
``Invalid enum value 'x'``) so a rejection can be logged: payload values never reach the log.
"""

from __future__ import annotations

import re

JSON_DEPTH_MAX = 32
"""Deepest nesting of arrays and objects accepted in a downlink or a trace line. The deepest
message of the contract (a roster: object > shoppers > shopper > ids > id) nests 4 levels, an
offer or a config override fewer than 8; 32 leaves room for a newer CDP's additions and stays far
below what recursion in msgspec or :mod:`edge.unknown` could reach (Python's limit is 1000)."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_ALL_BYTES = bytes(range(256))
_TO_PARENS = _ALL_BYTES.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _structure(payload: bytes) -> bytes:
    """The brackets outside strings, as ``(`` and ``)``."""
    outside = _STRING.sub(b"", payload) if b"\\" in payload else b"".join(payload.split(b'"')[0::2])
    return outside.translate(_TO_PARENS, _NOT_BRACKETS)


def too_deep(payload: bytes, limit: int = JSON_DEPTH_MAX) -> bool:
    """Whether ``payload`` (JSON) nests arrays/objects deeper than ``limit`` (or its brackets do
    not balance once strings are left out); see the module docstring."""
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return False
    brackets = _structure(payload)
    run = b"(" * (limit + 1)
    for _ in range(limit):
        if not brackets:
            return False
        if run in brackets:
            return True
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):
            return True  # ')(' or an unclosed '(': never balances
        brackets = shorter
    return bool(brackets)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
LOG_DETAIL_MAX_CHARS = 160
"""A decoder's message is cut at this many characters in a log line."""


def scrub(message: str) -> str:
    """``message`` without the values it quotes (``'…'``), cut to a log line's length."""
    cleaned = _QUOTED.sub("'…'", message)
    if len(cleaned) <= LOG_DETAIL_MAX_CHARS:
        return cleaned
    return cleaned[: LOG_DETAIL_MAX_CHARS - 1] + "…"
