"""The MQTT topics of one gateway (docs/mqtt.md), built in one place from validated ids.

Every module that names a topic (the core's own downlinks, signage's offers and rules, vision's
check-ins, the config overrides, the shelf controllers, the sync) builds it here."""

from __future__ import annotations

from dataclasses import dataclass

TOPIC_VERSION = "v1"


def shelf_topic(store: str, shelf: str) -> str:
    """The topic a shelf controller publishes to."""
    return f"edge/{TOPIC_VERSION}/{store}/shelf/{shelf}"


def shelf_prefix(store: str) -> str:
    """What every shelf controller's topic of the store starts with."""
    return f"edge/{TOPIC_VERSION}/{store}/shelf/"


def shelf_topic_filter(store: str) -> str:
    """The MQTT subscription that receives every shelf of the store."""
    return f"{shelf_prefix(store)}+"


def _level(value: str, what: str) -> str:
    if not value or any(ch in value for ch in "/+#\0") or len(value) > 64:
        raise ValueError(f"{what} {value!r} cannot be an MQTT topic level")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic the gateway publishes or subscribes to, for ``store`` / ``gateway``."""

    store: str
    gateway: str

    def __post_init__(self) -> None:
        _level(self.store, "store")
        _level(self.gateway, "gateway")

    @property
    def up(self) -> str:
        return f"edge/{TOPIC_VERSION}/{self.store}/{self.gateway}"

    def event(self, type_: str) -> str:
        """``edge/v1/{store}/{gateway}/events/{type}``."""
        return f"{self.up}/events/{_level(type_, 'event type')}"

    @property
    def status(self) -> str:
        return f"{self.up}/status"

    @property
    def down(self) -> str:
        return f"cdp/{TOPIC_VERSION}/{self.store}"

    @property
    def roster(self) -> str:
        return f"{self.down}/roster"

    @property
    def withdraw(self) -> str:
        return f"{self.down}/consent/withdraw"

    @property
    def offers(self) -> str:
        return f"{self.down}/offers"

    @property
    def rules(self) -> str:
        return f"{self.down}/rules"

    @property
    def config(self) -> str:
        return f"{self.down}/{self.gateway}/config"

    @property
    def checkin(self) -> str:
        return f"{self.down}/checkin"

    @property
    def override(self) -> str:
        """``cdp/v1/{store}/{gateway}/override`` (retained): a message over everything on the screen."""
        return f"{self.down}/{self.gateway}/override"

    @property
    def screenshot(self) -> str:
        """``cdp/v1/{store}/{gateway}/screenshot``: ``{"request_id"}`` asks for the presented frame."""
        return f"{self.down}/{self.gateway}/screenshot"

    def screenshot_reply(self, request_id: str) -> str:
        """``edge/v1/{store}/{gateway}/screenshot/{request_id}``: the JPEG (content type image/jpeg)."""
        return f"{self.up}/screenshot/{_level(request_id, 'request id')}"

    @property
    def shelves(self) -> str:
        """``edge/v1/{store}/shelf/+``: every shelf controller's readings on the store broker."""
        return shelf_topic_filter(self.store)

    def subscriptions(self) -> tuple[str, ...]:
        """The downlink topics and the shelf controllers' readings, each subscribed at QoS 1."""
        return (
            self.roster,
            self.withdraw,
            self.offers,
            self.rules,
            self.config,
            self.checkin,
            self.shelves,
            self.override,
            self.screenshot,
        )

    def retained_state(self) -> tuple[str, ...]:
        """Downlinks whose last good payload is kept in SQLite and reloaded at start."""
        return (self.roster, self.offers, self.rules, self.config, self.override)

    @property
    def shelf_prefix(self) -> str:
        """``edge/v1/{store}/shelf/``: what every shelf reading's topic starts with."""
        return shelf_prefix(self.store)

    def shelf(self, shelf: str) -> str:
        return shelf_topic(self.store, _level(shelf, "shelf"))
