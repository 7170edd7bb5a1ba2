"""What each gateway said, re-read from runs saved by ``multi_gateway.py --save`` (issue 18).

For tracing, not judging (``multi_gateway.py --load`` judges): per run,

- ``second_entered``: a gateway's ``entered`` (no ``from_gateway``) while its own last word about the
  shopper is an ``entered``, each with the words around it -- the duplicate ``entered``'s signature;
- ``ahead_then_other``: a gateway's ``entered`` with ``from_gateway`` for its own zone (gw-k's is zk,
  as in :class:`edge.sim.multi.MultiStore`), then, 3.8-5 s later (``AGREE_S`` after a hand-off said
  ahead of its engine), its exit of that zone and its ``entered`` of another at the same moment --
  what the service says now where it said that ``entered`` alone (an engine's own zone change looks
  the same: its health's ``peers_handoffs_unagreed`` tells them apart);
- ``handing_words`` / ``straight_back``: words with ``from_gateway``, and those that hand the
  shopper straight back (within 3 s) to the gateway it came from (ownership bouncing);
- ``takeover_words``: with ``--stop``, every word with ``from_gateway`` = the stopped gateway, its
  delay after the stop (s, by arrival), and the stopped gateway's last claimed zone;
- ``moves`` / ``bounces``: every ownership change read from the retained claims (a claim of a new
  owner at a higher epoch), by what moved it, judged from the previous owner's last claim: ``hand``
  (it named the new owner: handed at once), ``zone`` (its zone is the new owner's: a hand in a
  summary), ``own`` (its zone is its own: the loudness lead, or its scanners no longer heard the
  shopper), ``other`` (no zone, or a third gateway's); and the pairs of those rules that moved a
  shopper to a gateway and straight back (within :data:`BACK_S`).

    python benchmarks/multi_gateway_words.py RUNS.json [--context 8]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

AHEAD_S = (3.8, 5.0)
"""An exit and entry this long after the gateway's hand-off word: AGREE_S (4 s) and a poll or two."""
BACK_S = 3.0
"""A hand-off back to the gateway the shopper just came from within this long: a bounce."""

Word = tuple[float, float, str, str, str, str | None]
"""(arrival s, event time s -- both from the run's start --, gateway, kind, zone, from_gateway)."""


def words(run: dict[str, Any]) -> dict[str, list[Word]]:
    """Per token, the presence words (``entered``/``exited``) in arrival order."""
    start = float(run["start"])
    out: dict[str, list[Word]] = {}
    for gateway, event, arrival in run["events"]:
        kind = str(event["type"])
        if kind not in ("edge.presence.entered", "edge.presence.exited"):
            continue
        data = event["data"]
        at = datetime.fromisoformat(str(event["time"])).timestamp() - start
        word = (round(arrival - start, 2), round(at, 2), gateway, kind.rsplit(".", 1)[1], data["zone"])
        out.setdefault(data["token"], []).append((*word, data.get("from_gateway")))
    return out


def read(run: dict[str, Any], context: int) -> dict[str, Any]:
    second, ahead, handing, back = [], [], 0, 0
    for token, rows in words(run).items():
        last: dict[str, Word] = {}
        for i, row in enumerate(rows):
            _, at, gateway, kind, _zone, origin = row
            before = last.get(gateway)
            if kind == "entered" and origin is None and before is not None and before[3] == "entered":
                second.append({"token": token, "word": row, "around": rows[max(0, i - context) : i + 3]})
            if origin is not None:
                handing += 1
                came = [r for r in rows[:i] if r[5] is not None]
                back += bool(
                    came and came[-1][2] == origin and came[-1][5] == gateway and row[0] - came[-1][0] < BACK_S
                )
            if kind == "entered" and origin is None and before is not None and before[3] == "exited":
                said = [r for r in rows[:i] if r[2] == gateway and r[5] is not None and r[3] == "entered"]
                same = before[1] == at and before[5] is None
                own = "z" + gateway.rsplit("-", 1)[-1]
                late = bool(said) and AHEAD_S[0] <= at - said[-1][1] <= AHEAD_S[1]
                if same and late and said[-1][4] == before[4] == own:
                    ahead.append({"token": token, "said": said[-1], "exit": before, "entry": row})
            last[gateway] = row
    out: dict[str, Any] = {"seed": run["seed"], "engine": run.get("engine"), "second_entered": second}
    out.update(ahead_then_other=ahead, handing_words=handing, straight_back=back)
    changes = moves(run)
    by_rule: dict[str, int] = {}
    for change in changes:
        by_rule[change["why"]] = by_rule.get(change["why"], 0) + 1
    out.update(moves=dict(sorted(by_rule.items())), bounces=bounces(changes))
    stop = run.get("stop")
    if stop:
        out["takeover_words"] = takeovers(run, str(stop[0]), float(run["start"]) + float(stop[1]))
    return out


def moves(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each ownership change seen in the retained claims, and what moved it (see the module docstring)."""
    owner: dict[str, tuple[str, int]] = {}
    last: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for _topic, payload, arrival in run["claims"]:
        if not payload:
            continue
        claim = json.loads(payload)
        token, new = claim["token"], claim["owner"]
        held = owner.get(token)
        if held is None or claim["epoch"] > held[1]:
            if held is not None and held[0] != new:
                before = last.get(token, {})
                zone = before.get("zone")
                why = "hand" if before.get("hand") == new else "zone" if zone == _zone(new) else "other"
                why = "own" if why == "other" and zone == _zone(held[0]) else why
                at = round(arrival - float(run["start"]), 2)
                out.append({"at": at, "token": token, "old": held[0], "new": new, "why": why})
            owner[token] = (new, claim["epoch"])
        if owner[token][0] == new:
            last[token] = claim
    return out


def bounces(changes: list[dict[str, Any]]) -> dict[str, int]:
    """The rules that moved a shopper to a gateway and straight back, ``there>back``: how often."""
    out: dict[str, int] = {}
    previous: dict[str, dict[str, Any]] = {}
    for change in changes:
        before = previous.get(change["token"])
        back = before is not None and (before["old"], before["new"]) == (change["new"], change["old"])
        if back and before is not None and change["at"] - before["at"] < BACK_S:
            pair = f"{before['why']}>{change['why']}"
            out[pair] = out.get(pair, 0) + 1
        previous[change["token"]] = change
    return dict(sorted(out.items()))


def _zone(gateway: str) -> str:
    return "z" + gateway.rsplit("-", 1)[-1]


def takeovers(run: dict[str, Any], gone: str, at: float) -> list[dict[str, Any]]:
    last: dict[str, str | None] = {}
    for topic, payload, arrival in run["claims"]:
        if topic.split("/")[3] == gone and payload and arrival <= at + 0.5:
            claim = json.loads(payload)
            last[claim["token"]] = claim["zone"]
    out = []
    for token, rows in words(run).items():
        for arrival, _, gateway, kind, zone, origin in rows:
            if origin == gone:
                after = round(arrival - (at - float(run["start"])), 2)
                out.append({"token": token, "after_s": after, "by": gateway, "kind": kind, "zone": zone,
                            "last_claimed": last.get(token)})  # fmt: skip
    return sorted(out, key=lambda row: row["after_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="a file written by multi_gateway.py --save")
    parser.add_argument("--context", type=int, default=8, help="words shown before a second entered")
    args = parser.parse_args()
    for run in json.loads(args.runs.read_text()):
        print(json.dumps(read(run, args.context)))


if __name__ == "__main__":
    main()
