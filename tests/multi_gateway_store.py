"""A simulated store of several gateways as ``edge run`` processes on a real mosquitto (issue 18).

Each gateway is its own process (``python -m edge run``) with the replay backend playing the
trace of what its own scanner heard (edge/sim/multi.py), in real time; a CDP subscriber with a
persistent session collects the events on ``edge/v1/+/+/events/#`` (it misses nothing across a
broker restart). Used by tests/test_multi_gateway_faults.py and benchmarks/multi_gateway.py.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edge.outbox import OUTBOX_FILE
from edge.sim.multi import MultiStore, Walk, gateway_id, toml_text
from tests.mosquitto import Broker, Collector

START_LEAD_S = 3.0
"""From writing the files to the store's first moment: three ``edge run`` processes started together
come up in 1-2 s on a quiet 2-core machine; one that takes longer misses the trace's first seconds."""
STOP_TIMEOUT_S = 15.0
"""A SIGTERM'd gateway flushes its outbox and releases its claims: seconds on a loaded machine."""
OUTBOX_READ_TIMEOUT_S = 5.0
"""A read of a running gateway's outbox waits this long for its writer's lock (milliseconds held)."""
SCREEN: dict[str, Any] = {"backend": "headless", "width": 320, "height": 180, "fps": 5}
"""Each simulated box's screen (``[signage]``; a caller's ``sections`` may set another): its player runs and plays
the offers its gateway decides, on a small headless surface at 5 frames a second. The boxes of one simulated store
share this machine's cores, where a real box has its own: at the default 1920 x 1080 and 30 frames a second each
player took about a fifth of a core, so eight of them took nearly both cores of the 2-core machine the benchmarks
run on and starved the gateways they stand beside (session 37: at 8 gateways 50-60 % of the slot loop's sleeps
to its early part woke a second or more late; docs/multi-gateway.md, "The simulated boxes' screens")."""


class ProcessStore:
    """``gateways`` ``edge run`` processes of one :class:`MultiStore`; a context manager that stops them.

    Every gateway plays its trace from one wall-clock moment, ``start_at`` (``ble.start_at``; default
    :data:`START_LEAD_S` after the files are written), as the boxes of a store share the wall clock: a
    process that came up late (or is started again) skips what it missed, it does not play the store
    seconds behind its peers. ``skew_s``: gateway g's clock runs ``g * skew_s`` behind the first's, hearing the
    store at the same moments (boxes that lost their time service: :meth:`MultiStore.write_trace`'s
    ``clock_off_s``)."""

    def __init__(
        self,
        directory: Path,
        broker: Broker,
        store: MultiStore,
        walks: list[Walk],
        seconds: float,
        *,
        shoppers: int,
        health_interval_s: float = 60.0,
        gateways: int | None = None,
        sections: dict[str, dict[str, Any]] | None = None,
        hear_all: bool = False,
        start_at: float | None = None,
        skew_s: float = 0.0,
    ) -> None:
        self.dir = directory
        self.broker = broker
        self.store = store
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.killed_at: dict[str, float] = {}
        directory.mkdir(parents=True, exist_ok=True)
        roster = directory / "roster.json"
        roster.write_bytes(store.roster(shoppers))
        self.configs: dict[str, Path] = {}
        ids = [gateway_id(g) for g in range(store.gateways if gateways is None else gateways)]
        for g, me in enumerate(ids):
            store.write_trace(directory / f"{me}.jsonl", walks, None if hear_all else g, seconds, -g * skew_s)
        self.start_at = time.time() + START_LEAD_S if start_at is None else start_at
        for g, me in enumerate(ids):
            mapping = store.config(
                g,
                gateway={"roster_file": str(roster), "state_dir": str(directory / f"state-{me}")},
                ble={"backend": "replay", "trace": str(directory / f"{me}.jsonl"), "start_at": self.start_at},
                mqtt={"url": broker.url, "reconnect_initial_s": 0.1, "reconnect_max_s": 1.0},
                presence={"health_interval_s": health_interval_s},
                **{"signage": SCREEN, **(sections or {})},
            )
            path = directory / f"{me}.toml"
            path.write_text(toml_text(mapping))
            self.configs[me] = path
        self.cdp = Collector(broker, ("edge/v1/+/+/events/#",), client_id="cdp")

    def __enter__(self) -> ProcessStore:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for me, config in self.configs.items():
            log = (self.dir / f"{me}.log").open("ab")
            self.procs[me] = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            log.close()
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        self.cdp.close()

    def kill(self, gateway: str) -> float:
        """``kill -9`` of ``gateway``'s process; the wall time of the kill."""
        proc = self.procs[gateway]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
        self.killed_at[gateway] = time.time()
        return self.killed_at[gateway]

    def outbox_events(self, gateway: str, type_: str) -> list[tuple[int, dict[str, Any]]]:
        """(row sequence, event) of the events of ``type_`` in ``gateway``'s outbox now, sent or not
        (what it committed while cut off from the broker), in commit order. None while the running
        gateway is still making the file (it exists a moment before its table) or holds a write lock
        longer than the read's timeout: the caller waits and reads again."""
        path = self.dir / f"state-{gateway}" / OUTBOX_FILE
        if not path.exists():
            return []
        db = sqlite3.connect(path, timeout=OUTBOX_READ_TIMEOUT_S)
        try:
            rows = db.execute("SELECT seq, body FROM outbox WHERE type = ? ORDER BY seq", (type_,)).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()
        return [(int(seq), json.loads(body)) for seq, body in rows]

    def log(self, gateway: str) -> str:
        return (self.dir / f"{gateway}.log").read_text(errors="replace")

    def events(self) -> list[tuple[str, dict[str, Any], float]]:
        """(gateway, event, wall time of arrival) of every event the CDP received, in arrival order."""
        with self.cdp._cond:
            pairs = list(zip(self.cdp.messages, self.cdp.arrived, strict=True))
        wall_offset = time.time() - time.monotonic()
        return [(m.topic.split("/")[3], json.loads(m.payload), at + wall_offset) for m, at in pairs]

    def presence(self, token: str) -> list[tuple[str, dict[str, Any], float]]:
        return [
            row
            for row in self.events()
            if row[1]["type"] in ("edge.presence.entered", "edge.presence.exited") and row[1]["data"]["token"] == token
        ]
