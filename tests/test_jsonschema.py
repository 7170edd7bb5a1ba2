"""edge.jsonschema: the published schemas do not depend on how a msgspec release copies docstrings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import msgspec

from edge import jsonschema


def test_a_description_reads_the_same_however_the_docstring_was_indented() -> None:
    kept = "First line, then\n    its continuation.\n\n    A second paragraph\n    of two lines.\n    "
    stripped = "First line, then\nits continuation.\n\nA second paragraph\nof two lines."
    expected = "First line, then its continuation.\n\nA second paragraph of two lines."
    assert jsonschema.normalise_description(kept) == expected
    assert jsonschema.normalise_description(stripped) == expected
    assert jsonschema.normalise_description("  one  line  ") == "one line"


class _Inner(msgspec.Struct):
    """An inner type,
    documented on two lines."""

    default: int = 0


class _Outer(msgspec.Struct):
    """The outer type.

    Its second paragraph."""

    inner: _Inner | None = None
    meta: Annotated[dict[str, str], msgspec.Meta(examples=[{"description": "  payload  text  "}])] = {}


def test_every_description_is_normalised_and_payload_data_left_alone() -> None:
    schema = jsonschema.schema_of(_Outer, schema_id="urn:test", title="test payload")
    assert schema["$schema"] == jsonschema.DRAFT
    assert (schema["$id"], schema["title"]) == ("urn:test", "test payload")
    defs = schema["$defs"]
    assert defs["_Outer"]["description"] == "The outer type.\n\nIts second paragraph."
    assert defs["_Inner"]["description"] == "An inner type, documented on two lines."
    # a property named "default" is a schema; a default value is the payload's own data
    assert defs["_Inner"]["properties"]["default"] == {"type": "integer", "default": 0}
    assert defs["_Outer"]["properties"]["meta"]["examples"] == [{"description": "  payload  text  "}]
    # X | None is written null-last, as msgspec >= 0.22 writes it and earlier releases did not
    assert defs["_Outer"]["properties"]["inner"]["anyOf"][-1] == {"type": "null"}


def test_written_files_are_the_rendered_text(tmp_path: Path) -> None:
    schema = jsonschema.schema_of(_Inner, schema_id="urn:test")
    [path] = jsonschema.write({"inner": schema}, tmp_path / "schemas")
    assert path == tmp_path / "schemas" / "inner.json"
    assert path.read_text(encoding="utf-8") == jsonschema.render(schema)
    assert json.loads(path.read_text(encoding="utf-8")) == schema
