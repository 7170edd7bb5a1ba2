"""MQTT settings for the fleet side's own clients, built on the gateway's :class:`edge.mqtt_link.Link`."""

from __future__ import annotations

from urllib.parse import urlsplit

from central.errors import CentralError
from edge.constants import MQTT_RECEIVE_MAX, MQTT_SESSION_EXPIRY_S
from edge.mqtt_link import LinkSettings


def link_settings(
    url: str,
    client_id: str,
    *,
    mqtt5: bool = True,
    session_expiry_s: int = MQTT_SESSION_EXPIRY_S,
    receive_max: int = MQTT_RECEIVE_MAX,
) -> LinkSettings:
    """``session_expiry_s``: the MQTT 5 Session Expiry Interval sent on CONNECT (how long the broker keeps
    this client's session, subscriptions and queue, once it is away); the gateway's own hour unless given
    (the ingest bridge gives :data:`central.constants.INGEST_SESSION_EXPIRY_S`). ``receive_max``: the MQTT 5
    Receive Maximum sent on CONNECT (QoS 1 messages the broker may have sent this client unacknowledged);
    the gateway's own bound unless given."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise CentralError(f"--mqtt {url!r}: give mqtt://host:port or mqtts://host:port")
    tls = parts.scheme == "mqtts"
    return LinkSettings(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        mqtt5=mqtt5,
        client_id=client_id,
        username=parts.username,
        password=parts.password,
        session_expiry_s=session_expiry_s,
        receive_max=receive_max,
    )
