"""Shelf-controller messages: the topic and payload of docs/mqtt.md, validated."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import DownlinkError
from edge.inputs import ShelfReading
from edge.shelf.messages import ShelfReadingError, parse_shelf_message, shelf_topic, shelf_topic_filter

TOPIC = "edge/v1/store-1/shelf/shelf-a3"


def test_a_reading_as_the_trace_line_or_bare() -> None:
    line = {"t": 3.0, "kind": "shelf", "shelf": "shelf-a3", "action": "pickup", "sku": "4006381333931"}
    assert parse_shelf_message(TOPIC, json.dumps(line).encode(), 42.0, store="store-1") == ShelfReading(
        42.0, "shelf-a3", "pickup", "4006381333931"
    )
    bare = b'{"action": "putback", "sku": "4011", "weight_g": 512}'
    assert parse_shelf_message(TOPIC, bare, 1.0) == ShelfReading(1.0, "shelf-a3", "putback", "4011")
    assert shelf_topic("store-1", "shelf-a3") == TOPIC
    assert shelf_topic_filter("store-1") == "edge/v1/store-1/shelf/+"


@pytest.mark.parametrize(
    ("topic", "payload", "problem"),
    [
        ("edge/v1/store-1/shelf", b'{"action": "pickup", "sku": "1"}', "not a shelf topic"),
        ("edge/v1/store-2/shelf/shelf-a3", b'{"action": "pickup", "sku": "1"}', "store 'store-2'"),
        ("edge/v1/store-1/shelf/a b", b'{"action": "pickup", "sku": "1"}', "not a valid id"),
        (TOPIC, b"{not json", "not a shelf reading"),
        (TOPIC, b'{"sku": "1"}', "not a shelf reading"),
        (TOPIC, b'{"action": "grab", "sku": "1"}', "action is not one of"),
        (TOPIC, b'{"action": "pickup", "sku": ""}', "not a valid SKU"),
        (TOPIC, b'{"action": "pickup", "sku": "a b"}', "not a valid SKU"),
        (TOPIC, b'{"action": "pickup", "sku": 1}', "not a shelf reading"),
        (TOPIC, b'{"action": "pickup", "sku": "1", "shelf": "shelf-b1"}', "not the topic's"),
        (TOPIC, b'{"action": "pickup", "sku": "1", "kind": "ble"}', 'is not "shelf"'),
        (TOPIC, b'{"action": "pickup", "sku": "1", "pad": "' + b"x" * 2000 + b'"}', "over the 1024-byte limit"),
    ],
)
def test_bad_messages_name_the_topic_and_the_problem(topic: str, payload: bytes, problem: str) -> None:
    with pytest.raises(ShelfReadingError) as caught:
        parse_shelf_message(topic, payload, 0.0, store="store-1")
    assert caught.value.topic == topic
    assert str(caught.value).startswith(f"{topic}: ")
    assert problem in str(caught.value)
    assert isinstance(caught.value, DownlinkError)


@given(topic=st.text(max_size=40) | st.just(TOPIC), payload=st.binary(max_size=200))
def test_never_raises_anything_but_the_reading_error(topic: str, payload: bytes) -> None:
    try:
        reading = parse_shelf_message(topic, payload, 0.0)
    except ShelfReadingError:
        return
    assert reading.action in {"pickup", "putback", "touch"}


@given(action=st.sampled_from(["pickup", "putback", "touch"]), sku=st.from_regex(r"\A[0-9]{1,14}\Z"))
def test_every_valid_reading_is_accepted(action: str, sku: str) -> None:
    payload = json.dumps({"action": action, "sku": sku}).encode()
    assert parse_shelf_message(TOPIC, payload, 5.0) == ShelfReading(5.0, "shelf-a3", action, sku)  # type: ignore[arg-type]
