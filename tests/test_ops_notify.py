"""sd_notify: the protocol module, and `edge run` under a fake service manager (a real unix datagram
socket the test binds as NOTIFY_SOCKET): READY=1, periodic WATCHDOG=1, STOPPING=1 on SIGTERM, and
a shutdown within 5 s with the outbox intact. The same run serves the Prometheus endpoint."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import cast

import pytest

from edge.constants import WATCHDOG_STALL_MIN_S
from edge.ops.notify import Notifier, watchdog_interval_s
from edge.ops.overrides import OverrideStore
from edge.ops.service import Systemd
from edge.tasks import cancel_and_wait
from tests.helpers import START, ble_line, card_advert, roster_bytes, write_trace
from tests.mosquitto import free_port

SHUTDOWN_BUDGET_S = 5.0


def _bind(path: Path | str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    return sock


def test_notifier_sends_each_state_as_one_datagram(tmp_path: Path) -> None:
    with _bind(tmp_path / "notify") as sock:
        notifier = Notifier(str(tmp_path / "notify"))
        assert notifier.ready("capturing")
        assert notifier.watchdog()
        assert notifier.stopping()
        notifier.close()
        got = [sock.recv(4096).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=capturing", "WATCHDOG=1", "STOPPING=1\nSTATUS=stopping"]


def test_notifier_understands_abstract_addresses() -> None:
    name = f"edge-test-{os.getpid()}"
    with _bind("\0" + name) as sock:
        notifier = Notifier("@" + name)
        assert notifier.watchdog()
        notifier.close()
        assert sock.recv(64) == b"WATCHDOG=1"


def test_without_notify_socket_nothing_is_sent_and_a_dead_socket_never_raises(tmp_path: Path) -> None:
    assert not Notifier.from_env({}).enabled
    assert not Notifier.from_env({}).ready()
    gone = Notifier(str(tmp_path / "nobody-listens"))
    assert not gone.watchdog()
    assert not gone.watchdog()
    assert gone.dropped == 2
    gone.close()


def test_watchdog_interval_is_for_this_process_only() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "42"}, pid=42) == 2.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "41"}, pid=42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


def _gateway_config(tmp_path: Path, metrics_port: int) -> Path:
    adverts = [ble_line(t * 0.5, card_advert(START + t * 0.5, rssi=-60)) for t in range(2400)]
    write_trace(tmp_path / "trace.jsonl", adverts)
    (tmp_path / "roster.json").write_bytes(roster_bytes())
    config = tmp_path / "edge.toml"
    config.write_text(
        '[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state"\nroster_file = "roster.json"\n\n'
        '[ble]\nbackend = "replay"\ntrace = "trace.jsonl"\nspeed = 4.0\n\n'
        f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n\n'
        '[[zones]]\nid = "baby"\nscanners = ["gw-1"]\n'
    )
    return config


def _messages(sock: socket.socket, until: float) -> list[str]:
    """Every datagram until ``until`` (a quiet spell of the socket's 0.2 s timeout does not end it)."""
    out = []
    while time.monotonic() < until:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return out


def test_edge_run_reports_ready_watchdog_and_stopping_and_serves_metrics(tmp_path: Path) -> None:
    port = free_port()
    config = _gateway_config(tmp_path, port)
    notify = tmp_path / "notify.sock"
    received: list[str] = []
    with _bind(notify) as sock:
        env = dict(os.environ, NOTIFY_SOCKET=str(notify), WATCHDOG_USEC="2000000")
        env.pop("WATCHDOG_PID", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(m.startswith("READY=1") for m in received):
                received += _messages(sock, time.monotonic() + 0.5)
            assert any(m.startswith("READY=1") for m in received), received
            ready_at = time.monotonic()
            received += _messages(sock, ready_at + 2.6)
            pings = [m for m in received if m == "WATCHDOG=1"]
            # every 2 s x 0.25 = 0.5 s while the loop turns (it turns at least once per 0.25 s tick, or
            # per replay hand-over): about five in 2.6 s, three even if a loaded machine delays some
            assert len(pings) >= 3, received

            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                metrics = response.read().decode()
            assert "edge_adverts_seen_total" in metrics
            assert 'edge_shoppers{zone="baby"}' in metrics
            assert "edge_outbox_depth" in metrics
            assert "edge_outbox_withdrawn_dropped_total 0.0" in metrics
            assert "C0:FF:EE" not in metrics
            assert "s-card" not in metrics

            process.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            _, stderr = process.communicate(timeout=SHUTDOWN_BUDGET_S + 5)
            took = time.monotonic() - sent
            received += _messages(sock, time.monotonic() + 0.3)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()  # also when an assertion failed: no unclosed-file warning in a later test
    assert process.returncode == 0, stderr
    assert took < SHUTDOWN_BUDGET_S, f"shutdown took {took:.1f} s"
    assert any(m.startswith("STOPPING=1") for m in received), received
    assert received.index(next(m for m in received if m.startswith("STOPPING=1"))) > received.index(
        next(m for m in received if m.startswith("READY=1"))
    )
    assert "C0:FF:EE" not in stderr
    assert "s-card" not in stderr
    with sqlite3.connect(tmp_path / "state" / "outbox.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        entered = db.execute("SELECT count(*) FROM outbox WHERE type = 'edge.presence.entered'").fetchone()[0]
    assert entered == 1


def test_systemd_credentials_replace_the_key_file_of_the_same_name(tmp_path: Path) -> None:
    from edge.config import from_mapping
    from edge.ops.service import with_credentials

    config = from_mapping(
        {"mqtt": {"url": "mqtts://b:8883", "cert_file": "/etc/edge/device.crt", "key_file": "/etc/edge/device.key"}}
    )
    (tmp_path / "device.key").write_text("key")
    changed = with_credentials(config, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert changed.mqtt.key_file == str(tmp_path / "device.key")
    assert changed.mqtt.cert_file == "/etc/edge/device.crt"  # no credential of that name: unchanged
    assert with_credentials(config, {}) is config


async def test_the_watchdog_tolerates_a_quiet_tick_but_not_a_wedged_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """WatchdogSec 0.4 s pings every 0.1 s; an idle loop turns only per 0.25 s tick, so a period
    without a turn is normal. A loop that has not turned for WATCHDOG_STALL_MIN_S is wedged: the
    pings stop (systemd restarts the service), with one error line."""
    with _bind(tmp_path / "notify") as sock:
        notifier = Notifier(str(tmp_path / "notify"))
        service = Systemd(
            notifier,
            cast(OverrideStore, None),  # the watchdog does not use it
            turning=asyncio.Event(),
            beats=lambda: 7,  # the loop never turns again
            connected=None,
            watchdog_s=0.4,
        )
        watchdog = asyncio.create_task(service._watchdog(0.4))
        try:
            await asyncio.sleep(WATCHDOG_STALL_MIN_S + 1.0)
        finally:
            await cancel_and_wait(watchdog)
            notifier.close()
        pings = [m for m in _messages(sock, time.monotonic() + 0.3) if m == "WATCHDOG=1"]
    # pinged while the stall was shorter than 1 s (10 periods of 0.1 s at most), then withheld
    assert 2 <= len(pings) <= WATCHDOG_STALL_MIN_S / 0.1 + 1
    assert sum("withholding the watchdog ping" in r.message for r in caplog.records) == 1
