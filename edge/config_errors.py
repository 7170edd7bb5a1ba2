"""Config errors in the config's words: a broken rule of a config type, and msgspec's errors rephrased.

A config type's ``__post_init__`` raises :class:`InvalidConfigError` (the key relative to the type, and the
problem); msgspec, decoding, wraps it with where the type sits (``$.zones[0]``). A broken ``Meta``
constraint comes from msgspec as ``Expected `float` > 0.0``. :func:`where_of` turns either into
(problem, key path): ``("must be > 0 seconds", "zones[0].exit_timeout_s")``.
"""

from __future__ import annotations

import math
import re

import msgspec

from edge.errors import ConfigError

MAC_PATTERN = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
"""A Bluetooth address as written in a config (``AA:BB:CC:DD:EE:FF``, either case)."""


class InvalidConfigError(ConfigError, ValueError):
    """A rule of a config type is broken: ``key`` (relative to the type) and the problem.

    A ``ValueError`` so that msgspec, decoding, adds where the type sits (``$.zones[0]``);
    a :class:`ConfigError` so that a value built in code fails with the key named too."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem, where=key)
        self.key, self.problem = key, problem


_AT = re.compile(r" - at `\$(.*)`$")
_RULE = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.*)$", re.DOTALL)
"""An :class:`InvalidConfigError` raised by a ``__post_init__``: ``key: problem``."""
_BOUND = re.compile(r"^Expected `(?:int|float)` (>=|<=|>|<) (\S+)$")
_LENGTH = re.compile(r"^Expected `(str|array)` of length (>=|<=) (\d+)$")
_PATTERN = re.compile(r"^Expected `str` matching regex '(.*)'$")
_UNITS = (("_s", " seconds"), ("_ms", " ms"), ("_dbm", " dBm"), ("_db", " dB"), ("_mg", " mg"), ("_m", " m"))


def _value_at(data: object, key: str) -> object:
    """The value at ``key`` (``zones[0].id``) in the decoded document, or ``...`` if it is not there."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        try:
            data = data[int(part[1:-1])] if part.startswith("[") else data[part]  # type: ignore[index]
        except (LookupError, TypeError, ValueError):
            return ...
    return data


def _in_words(message: str, key: str, data: object) -> str:
    name = key.rpartition(".")[2].partition("[")[0]
    if match := _BOUND.match(message):
        unit = next((words for suffix, words in _UNITS if name.endswith(suffix)), "")
        return f"must be {match.group(1)} {float(match.group(2)):g}{unit}"
    if match := _LENGTH.match(message):
        noun = "characters" if match.group(1) == "str" else "entries"
        return f"must have {match.group(2)} {match.group(3)} {noun}"
    if match := _PATTERN.match(message):
        value = _value_at(data, key)
        if match.group(1) == MAC_PATTERN:
            return f"{value!r} is not a MAC (AA:BB:CC:DD:EE:FF)"
        if name.startswith("sku"):
            return f"{value!r} is not a valid SKU (letters, digits, . _ -; at most 64)"
        return f"{value!r} is not a valid id (letters, digits, . _ -; no spaces, / + #)"
    return message


def where_of(err: msgspec.ValidationError, data: object = None) -> tuple[str, str]:
    """(problem, key path) of a decoding error, a broken ``Meta`` constraint or an :class:`InvalidConfigError`."""
    text = str(err)
    at = _AT.search(text)
    message, key = (text[: at.start()], at.group(1).lstrip(".")) if at else (text, "")
    if rule := _RULE.match(message):
        sub, message = rule.groups()
        key = f"{key}.{sub}" if key else sub
    return _in_words(message, key, data), key


def first_non_finite(data: object, key: str = "") -> str | None:
    """The key path (``zones[0].exit_timeout_s``) of the first NaN or infinite number in a parsed document.

    TOML writes ``nan`` and ``inf``, and Python's JSON reader takes ``NaN`` and ``Infinity``; no config key
    means anything by them (a watchdog of ``nan`` seconds never bites, a tick of ``inf`` never ticks, so an
    exit would never fire), and a bound such as ``> 0`` lets ``inf`` through. So every number is finite."""
    if isinstance(data, float):
        return None if math.isfinite(data) else key
    if isinstance(data, dict):
        items: list[tuple[str, object]] = [(f"{key}.{k}" if key else str(k), v) for k, v in data.items()]
    elif isinstance(data, list | tuple):
        items = [(f"{key}[{index}]", v) for index, v in enumerate(data)]
    else:
        return None
    for where, value in items:
        if (found := first_non_finite(value, where)) is not None:
            return found
    return None
