"""docs/multi-gateway.md, "Try it on one machine", as written (issue 18): ``examples/make_multi_store.py``
writes three gateways' configs, traces and roster, and three ``edge run`` processes on a real mosquitto
run them as a store: each says ``online``, one owner claims each shopper it hears, and only that owner's
presence reaches the CDP's topics.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from edge.config import load
from tests.mosquitto import Collector, Mosquitto

ROOT = Path(__file__).resolve().parent.parent

WAIT_S = 60.0
"""Bound on the store's first hand-over of a shopper (the first walker enters z1 within seconds)."""
STOP_S = 15.0


def test_the_example_store_runs_as_the_docs_say(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    store = tmp_path / "store"
    script = ROOT / "examples" / "make_multi_store.py"
    args = [str(store), "--port", str(mosquitto_server.port), "--shoppers", "2", "--seconds", "60", "--start-in", "3"]
    made = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=True, cwd=ROOT)
    configs = [store / f"gw-{n}.toml" for n in (1, 2, 3)]
    assert [f"edge run --config {path} &" for path in configs] == made.stdout.splitlines()[1:4]
    for path in configs:
        config = load(path)
        assert config.store is not None
        assert len(config.store.peers) == 2
        assert config.mqtt.url == mosquitto_server.url
    assert len({load(path).ble.start_at for path in configs}) == 1  # one store's time for all three
    watch = Collector(
        mosquitto_server, ("store-local/v1/store-1/+/state", "store-local/v1/store-1/+/owner/+", "edge/v1/+/+/events/+")
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = []
    for path in configs:
        with (tmp_path / f"{path.stem}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "edge", "run", "--config", str(path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
    try:

        def seen(ms: list[object]) -> bool:
            """Every gateway online, an ``entered``, and the claim of each shopper entered: the claim goes
            out on the gateway's store-broker link, the event through its outbox on another MQTT client,
            so they may reach this subscriber in either order (under load, the event first)."""
            topics = [m.topic for m in ms]  # type: ignore[attr-defined]
            online = {t.split("/")[3] for t in topics if t.endswith("/state")}
            entered = {
                json.loads(m.payload)["data"]["token"]  # type: ignore[attr-defined]
                for m in ms
                if m.topic.endswith("/events/edge.presence.entered")  # type: ignore[attr-defined]
            }
            claimed = {
                json.loads(m.payload)["token"]  # type: ignore[attr-defined]
                for m in ms
                if "/owner/" in m.topic and m.payload  # type: ignore[attr-defined]
            }
            return online == {"gw-1", "gw-2", "gw-3"} and bool(entered) and entered <= claimed

        watch.wait_for(seen, WAIT_S)  # type: ignore[arg-type]
        with watch._cond:
            messages = [(m.topic, bytes(m.payload)) for m in watch.messages]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
        watch.close()
    states = {t.split("/")[3]: json.loads(p)["state"] for t, p in messages if t.endswith("/state") and p}
    assert set(states) == {"gw-1", "gw-2", "gw-3"}
    claims = [json.loads(p) for t, p in messages if "/owner/" in t and p]
    assert claims, "no gateway claimed a shopper"
    entered = [json.loads(p) for t, p in messages if t.endswith("/events/edge.presence.entered")]
    for event in entered:  # each entered comes from the gateway that claimed that shopper
        owners = {c["owner"] for c in claims if c["token"] == event["data"]["token"]}
        assert event["source"].rsplit(":", 1)[-1] in owners, (event, owners)
