"""Shelf-controller messages: the topic and payload of docs/mqtt.md, validated; the tracker's
checks name the field, never the value."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.config import from_mapping
from edge.errors import DownlinkError
from edge.events import EventFactory
from edge.inputs import ShelfReading
from edge.shelf.messages import ShelfReadingError, parse_shelf_message, shelf_topic, shelf_topic_filter
from edge.shelf.tracker import ShelfTracker

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


SHELVES = {
    "gateway": {"store": "store-1", "gateway": "gw-1"},
    "zones": [{"id": "baby", "scanners": ["gw-1"]}],
    "shelves": [{"id": "shelf-a3", "zone": "baby", "skus": ["4006381333931"]}],
}


@pytest.mark.parametrize(
    ("reading", "problem"),
    [
        (ShelfReading(1.0, "shelf-a3", "pickup", "SECRET-SKU-7f3a"), "sku is not one of this shelf's skus"),
        (ShelfReading(1.0, "shelf-SECRET", "pickup", "4006381333931"), "the topic's shelf is not configured"),
    ],
)
def test_the_tracker_names_the_field_not_the_value(
    reading: ShelfReading, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A payload value never reaches the log: the rejection names the topic and the field only."""
    tracker = ShelfTracker(from_mapping(SHELVES), EventFactory("store-1", "gw-1"))
    with pytest.raises(ShelfReadingError) as caught:
        tracker.check(reading)
    assert str(caught.value) == f"{shelf_topic('store-1', reading.shelf)}: {problem}: " + (
        "add it to the shelf's skus" if "sku" in problem else "add it to [[shelves]]"
    )
    with caplog.at_level(logging.DEBUG):
        tracker.log_rejected(caught.value, 1.0)
        tracker.log_rejected(caught.value, 2.0)  # within the minute: at debug, the same text
    assert problem in caplog.text
    assert "SECRET-SKU" not in caplog.text
    assert tracker.check(ShelfReading(1.0, "shelf-a3", "touch", "4006381333931")) == "baby"
