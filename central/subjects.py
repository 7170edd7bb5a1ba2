"""Names between MQTT and NATS, in one place: the gateways' event topics to stream subjects, and
the downlink KV keys and withdrawal subjects to the retained ``cdp/v1/{store}/…`` topics."""

from __future__ import annotations

from central.errors import CentralError

_BAD_TOKEN = frozenset(".*> \t\r\n\0")
"""A store or gateway id becomes one NATS subject token: no dots, wildcards or whitespace."""


def _token(value: str, what: str, topic: str) -> str:
    if not value or any(ch in _BAD_TOKEN for ch in value):
        raise CentralError(f"{topic}: {what} {value!r} cannot be a NATS subject token")
    return value


def event_subject(topic: str) -> tuple[str, str, str]:
    """``edge/v1/{store}/{gateway}/events/{type}`` → (subject ``edge.v1.{store}.{gateway}.{type}``, store, gateway)."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != "edge" or parts[1] != "v1" or parts[4] != "events":
        raise CentralError(f"{topic}: not an edge/v1/{{store}}/{{gateway}}/events/{{type}} topic")
    store = _token(parts[2], "store", topic)
    gateway = _token(parts[3], "gateway", topic)
    type_ = parts[5]
    if not type_ or any(ch in "*> \t\r\n\0" for ch in type_) or ".." in type_ or type_[0] == "." or type_[-1] == ".":
        raise CentralError(f"{topic}: event type {type_!r} cannot be subject tokens")
    return f"edge.v1.{store}.{gateway}.{type_}", store, gateway


def subject_gateway(subject: str) -> tuple[str, str, str]:
    """``edge.v1.{store}.{gateway}.{type}`` → (store, gateway, type)."""
    parts = subject.split(".", 4)
    if len(parts) != 5 or parts[0] != "edge" or parts[1] != "v1":
        raise CentralError(f"{subject}: not an edge.v1.{{store}}.{{gateway}}.{{type}} subject")
    return parts[2], parts[3], parts[4]


SNAPSHOTS = ("roster", "offers", "rules", "config")


def snapshot_key(store: str, what: str, gateway: str | None = None) -> str:
    """The KV key of a retained snapshot: ``{store}.roster`` / ``offers`` / ``rules``, ``{store}.{gateway}.config``."""
    _token(store, "store", what)
    if what == "config":
        if gateway is None:
            raise CentralError("a config snapshot is per gateway: give the gateway")
        return f"{store}.{_token(gateway, 'gateway', what)}.config"
    if what not in SNAPSHOTS:
        raise CentralError(f"{what!r} is not a snapshot ({', '.join(SNAPSHOTS)})")
    return f"{store}.{what}"


def key_topic(key: str) -> str:
    """A KV key → its retained topic: ``s1.roster`` → ``cdp/v1/s1/roster``,
    ``s1.g1.config`` → ``cdp/v1/s1/g1/config``."""
    parts = key.split(".")
    ok = (len(parts) == 2 and parts[1] in SNAPSHOTS[:3]) or (len(parts) == 3 and parts[2] == "config")
    if not ok or not all(parts):
        raise CentralError(
            f"KV key {key!r} is not a snapshot key ({{store}}.roster|offers|rules, {{store}}.{{gw}}.config)"
        )
    return "cdp/v1/" + "/".join(parts)


def withdraw_subject(store: str) -> str:
    return f"cdp.v1.{_token(store, 'store', 'withdraw')}.consent.withdraw"


def withdraw_topic(subject: str) -> str:
    """``cdp.v1.{store}.consent.withdraw`` → ``cdp/v1/{store}/consent/withdraw``."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[:2] != ["cdp", "v1"] or parts[3:] != ["consent", "withdraw"]:
        raise CentralError(f"{subject}: not a cdp.v1.{{store}}.consent.withdraw subject")
    return "/".join(parts)
