"""The one writer of ``edge/schemas/*.json``: JSON Schemas of msgspec types, the same bytes from any msgspec.

msgspec takes each ``description`` from a docstring, and its releases disagree about the
docstring's indentation (0.23 strips it, earlier ones kept the continuation lines' indent), so a
committed schema went stale with nothing in our types changed. Every ``description`` is
normalised here instead: :func:`inspect.cleandoc`, then each paragraph (separated by a blank
line) on one line with single spaces. The payload types live with their owners
(:mod:`edge.sync.messages`, :mod:`edge.signage.offers`); each calls :func:`schema_of` and
:func:`write` with its own names and ids, and a test of each compares the files with the types.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
"""Where the published schemas live (shipped as package data)."""

# Keywords whose values are instance data, not schemas: a "description" key in there is the
# payload's own text and is written as it is.
_DATA_KEYWORDS = frozenset({"default", "const", "enum", "examples"})
# Keywords whose values map names (of properties, of definitions) to schemas: a property named
# "default" or "description" is a schema like any other.
_NAMING_KEYWORDS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
# Keywords whose list of schemas is a set, where msgspec 0.22 moved ``null`` from first to last
# (``X | None``): written null-last, the rest in declaration order, whatever the release.
_UNORDERED_KEYWORDS = frozenset({"anyOf", "oneOf"})
_NULL = {"type": "null"}
_BLANK_LINE = re.compile(r"\n\s*\n")


def normalise_description(text: str) -> str:
    """Docstring text as one line per paragraph, whatever indentation the docstring had."""
    paragraphs = _BLANK_LINE.split(inspect.cleandoc(text))
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _normalised(node: Any) -> Any:
    """``node`` (a schema, or a list of them) with every description in it normalised."""
    if isinstance(node, dict):
        return {key: _normalised_keyword(key, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_normalised(item) for item in node]
    return node


def _normalised_keyword(key: str, value: Any) -> Any:
    if key in _DATA_KEYWORDS:
        return value
    if key == "description" and isinstance(value, str):
        return normalise_description(value)
    if key in _NAMING_KEYWORDS and isinstance(value, dict):
        return {name: _normalised(schema) for name, schema in value.items()}
    if key in _UNORDERED_KEYWORDS and isinstance(value, list):
        return sorted((_normalised(schema) for schema in value), key=lambda schema: schema == _NULL)
    return _normalised(value)


def schema_of(kind: Any, *, schema_id: str, title: str | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of msgspec type ``kind``, its descriptions normalised."""
    head: dict[str, Any] = {"$schema": DRAFT, "$id": schema_id}
    if title is not None:
        head["title"] = title
    body: dict[str, Any] = _normalised(msgspec.json.schema(kind))
    return {**head, **body}


def render(schema: Mapping[str, Any]) -> str:
    """The file text of a schema: sorted keys, two-space indent, ASCII, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(schemas: Mapping[str, Mapping[str, Any]], directory: Path = SCHEMA_DIR) -> list[Path]:
    """Writes ``{name}.json`` for each schema into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas.items():
        path = directory / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
