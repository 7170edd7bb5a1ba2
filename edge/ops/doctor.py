"""``edge doctor [--config FILE] [--root DIR]``: every check in one table, with the fix for each failure.

Without a valid config, the checks that need none still run (adapter ``hci0``, permissions,
display, clock, disk) and a line names those that do (:data:`NEEDS_CONFIG`). A valid config that
does nothing useful (no zones, this box's radio in no zone) is a warning.

Exit 0 when nothing failed (warnings and skipped checks allowed), 1 otherwise. The broker check
connects with edge.sync's own :class:`~edge.mqtt_link.Link` (same TLS and login code as the
gateway) under a separate client id, so a running gateway keeps its session, and publishes one
QoS 1 message to ``edge/v1/{store}/{gateway}/doctor``: under MQTT 5 the PUBACK's reason code says
whether the ACL lets this gateway publish.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge import constants as c
from edge.config import Config, load
from edge.errors import ConfigError

if TYPE_CHECKING:
    import paho.mqtt.client as paho

    from edge.mqtt_link import LinkSettings

from edge.ops.checks import (
    Result,
    check_adapter,
    check_advertising,
    check_camera,
    check_clock,
    check_disk,
    check_display,
    check_permissions,
    check_radio,
    check_roster,
    check_zones,
    rooted,
)

NEEDS_CONFIG = ("zones", "camera", "broker", "store", "roster", "radio", "advertising")
"""The checks that cannot run without a valid config (what to look at comes from it)."""


def _tls_files(config: Config, root: Path) -> Result | None:
    mqtt = config.mqtt
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(mqtt, key)
        if value and not rooted(root, value).is_file():
            fix = "edge provision --ca FILE …" if key == "ca_file" else "check the path"
            if key == "cert_file":
                fix = f"have {Path(value).with_suffix('.csr')} signed by the store's CA and save it as {value}"
            return Result("broker", "fail", f"mqtt.{key} {value} does not exist", fix)
    if mqtt.cert_file:
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(rooted(root, mqtt.cert_file).read_bytes())
        left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        if left.total_seconds() <= 0:
            return Result(
                "broker",
                "fail",
                f"the device certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}",
                "renew it: a new CSR from the same key (edge provision --force), signed by the CA",
            )
    return None


def _doctor_settings(config: Config, root: Path) -> LinkSettings:
    """The gateway's own link settings (raises ``LinkError``) under a separate client id, its files under ``root``."""
    from edge.mqtt_link import LinkSettings

    mqtt = config.mqtt
    settings = LinkSettings.from_config(config)
    return dataclasses.replace(
        settings,
        client_id=f"{settings.client_id}-doctor"[:64],  # a running gateway keeps its own session
        session_expiry_s=0,
        connect_timeout_s=c.DOCTOR_TIMEOUT_S,
        ca_file=str(rooted(root, mqtt.ca_file)) if mqtt.ca_file else None,
        cert_file=str(rooted(root, mqtt.cert_file)) if mqtt.cert_file else None,
        key_file=str(rooted(root, mqtt.key_file)) if mqtt.key_file else None,
    )


async def check_broker(config: Config, root: Path) -> Result:
    if not config.mqtt.url:
        return Result("broker", "skip", "no mqtt.url: events stay in the outbox")
    bad = _tls_files(config, root)
    if bad is not None:
        return bad
    from edge.mqtt_link import Link, LinkError
    from edge.topics import Topics

    try:
        settings = _doctor_settings(config, root)
    except LinkError as err:
        return Result("broker", "fail", str(err), "fix mqtt.password_file")
    where = f"{settings.host}:{settings.port}"
    up = Topics(config.gateway.store, config.gateway.gateway).up
    topic = f"{up}/doctor"
    acked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def on_puback(_mid: int, accepted: bool) -> None:
        if not acked.done():
            acked.set_result(accepted)

    try:
        link = Link(settings, on_message=lambda _link, _msg: None, on_puback=on_puback)
    except LinkError as err:
        return Result("broker", "fail", str(err), "check mqtt.ca_file / cert_file / key_file")
    try:
        await link.connect(will_topic=topic, will=b"")
    except LinkError as err:
        text = str(err)
        fix = "check that the broker runs and its port is open (`nc -vz host port`), and mqtt.url"
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            fix = "the broker's certificate does not verify: set mqtt.ca_file to the store CA, check the host name"
        elif err.reason:  # the broker answered: a CONNACK refusal
            fix = "the broker refused the login: check the device certificate (CN) or username/password"
        return Result("broker", "fail", f"{where}: {text}", fix)
    try:
        link.publish(topic, b"", retain=False)
        try:
            async with asyncio.timeout(c.DOCTOR_TIMEOUT_S):
                accepted = await acked
        except TimeoutError:
            return Result("broker", "fail", f"{where}: no PUBACK for a test publish", "check the broker's ACL")
        if not accepted:
            return Result(
                "broker",
                "fail",
                f"{where}: the broker refused a publish to {topic}",
                f"allow this gateway to publish to {up}/# in the broker ACL",
            )
    finally:
        await link.close()
    tls = "TLS verified" if settings.tls else "no TLS (mqtt://): use mqtts:// outside a lab"
    return Result(
        "broker",
        "ok" if settings.tls or settings.host in ("127.0.0.1", "localhost") else "warn",
        f"{where}: connected, {tls}, publish acknowledged",
    )


STORE_STATES_WAIT_S = 3.0
"""How long ``edge doctor`` waits for the peers' retained states after subscribing (within
``DOCTOR_TIMEOUT_S``): the broker sends retained messages right after its SUBACK, so a peer whose state
has not come by then has none (never connected to this broker, or its state topic was cleared)."""


async def check_store(config: Config, root: Path, broker: Result) -> Result:
    """``[store]``: alone, or the peers named, the topic prefix, and (the broker reachable: ``broker``) each
    peer's retained state on the store broker (``online``, ``offline``: its last will or clean stop, or none)."""
    store = config.store
    if store is None or not store.enabled:
        return Result("store", "ok", "alone: no [store] peers (this gateway owns every shopper it hears)")
    from edge.mqtt_link import Link, LinkError
    from edge.peers import messages
    from edge.peers.topics import PeerTopics
    from edge.topics import Topics

    topics = PeerTopics(store.topic_prefix, config.gateway.store, config.gateway.gateway)
    named = f"peers {', '.join(store.peers)} on {topics.root}/"
    if broker.status not in ("ok", "warn"):
        return Result("store", "skip", f"{named}; their states not read: the broker check did not pass")
    states: dict[str, str] = {}
    wanted = {topics.state(peer): peer for peer in store.peers}
    everyone = asyncio.Event()

    def on_message(link: Link, message: paho.MQTTMessage) -> None:
        link.ack(message.mid, message.qos)  # manual acks: unacknowledged, the broker stops at MQTT_RECEIVE_MAX (16)
        peer = wanted.get(message.topic)
        if peer is None:
            return
        try:
            states[peer] = messages.states.decode(bytes(message.payload)).state if message.payload else "cleared"
        except ValueError:
            states[peer] = "unreadable"
        if len(states) == len(wanted):
            everyone.set()

    try:
        link = Link(_doctor_settings(config, root), on_message=on_message, on_puback=lambda _mid, _ok: None)
        await link.connect(will_topic=f"{Topics(config.gateway.store, config.gateway.gateway).up}/doctor", will=b"")
    except LinkError as err:
        return Result("store", "fail", f"{named}; {err}", "see the broker check")
    try:
        link.subscribe(tuple(wanted))
        try:
            async with asyncio.timeout(min(STORE_STATES_WAIT_S, c.DOCTOR_TIMEOUT_S)):
                await everyone.wait()
        except TimeoutError:
            pass
    finally:
        await link.close()
    said = ", ".join(f"{peer} {states.get(peer, 'no state')}" for peer in store.peers)
    if all(states.get(peer) == "online" for peer in store.peers):
        return Result("store", "ok", f"{named}: {said}")
    fix = (
        "start the peers not online (edge run), check that they use this mqtt.url and [store] topic_prefix, "
        "and that the broker ACL lets this gateway read their state topics"
    )
    return Result("store", "warn", f"{named}: {said}", fix)


def check_config(path: Path) -> tuple[Result, Config | None]:
    if not path.exists():
        fix = "edge provision --store S --gateway G --broker URL (writes it), or edge doctor --config FILE"
        return Result("config", "fail", f"{path} does not exist", fix), None
    try:
        config = load(path)
    except ConfigError as err:
        return Result("config", "fail", str(err), "fix the key named (README: Configuration)"), None
    return Result("config", "ok", f"{path} is valid"), config


async def run_checks(config_path: Path, root: Path) -> list[Result]:
    """Every check; without a valid config, those that need none run on the defaults (adapter
    ``hci0``, the default state directory) and the others are skipped as :data:`NEEDS_CONFIG`."""
    result, config = check_config(config_path)
    results = [result]
    if config is not None:
        results.append(check_zones(config))
    settings = config or Config()
    results.append(await check_adapter(settings))
    results.append(check_permissions(settings, root))
    if config is not None:
        results.append(await check_camera(config))
    results.append(check_display(config))
    if config is not None:
        broker = await check_broker(config, root)
        results += [broker, await check_store(config, root, broker)]
    results.append(check_clock())
    results.append(check_disk(settings, root))
    if config is not None:
        results.append(check_roster(config, root))
        results.append(check_radio(config, root))
        results.append(await check_advertising(config))
    else:
        results += [Result(name, "skip", "needs a valid config") for name in NEEDS_CONFIG]
    return results


_STYLE = {"ok": "[green]ok[/]", "fail": "[bold red]FAIL[/]", "warn": "[yellow]warn[/]", "skip": "[dim]skip[/]"}


def print_table(results: list[Result]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="edge doctor", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for r in results:
        # The texts name TOML tables ("[advertise]", "[[zones]]"): plain text, not rich markup.
        table.add_row(escape(r.name), _STYLE[r.status], escape(r.detail), escape(r.fix))
    Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None).print(table)


def doctor(config_path: Path | None, root: Path) -> int:
    path = config_path or rooted(root, "/etc/edge/edge.toml")
    results = asyncio.run(run_checks(path, root))
    print_table(results)
    if results[0].status == "fail":
        needs = ", ".join(NEEDS_CONFIG)
        print(f"without a valid config the {needs} checks cannot run: fix {path} or give --config FILE")
    failed = [r.name for r in results if r.status == "fail"]
    if failed:
        print(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        return 1
    print("all checks passed")
    return 0
