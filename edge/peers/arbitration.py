"""Who owns a shopper's presence: one deterministic rule every gateway of the store runs alike.

Pure, no clock: inputs are slots (whole seconds) and per-gateway scores. Each gateway adds every
slot's scores (how loudly each gateway heard each token: :func:`edge.peers.summary.loudest`) and
evaluates the slots in order; because every gateway sees the same summaries on the store broker
and applies the same rule, they reach the same owner without talking about it (no election, no
consensus round). The rule, per token, over the last :data:`WINDOW_SLOTS` slots of alive gateways:

- nobody owns it: the loudest gateway takes it (ties: the smaller gateway id);
- the owner no longer hears it (its summaries in the window do not carry it), or is gone (its last
  will): the loudest other gateway that heard it in the slot just evaluated takes it at once (a shopper
  who left the store is heard last by whichever box caught a stray advert: that is no reason to move
  them); an alive owner that sent *no* summary in the window (late: a loaded box or broker, its slot
  evaluated at the deadline without it) is not deaf, and keeps its shoppers for up to
  :data:`SILENT_KEEP_SLOTS` slots after its last summary received by the slot's deadline; a summary closed
  before the gateway's advert reader reached the slot's end (a starved process: incomplete, ``reached``
  in :meth:`Arbiter.add`) says nothing of the tokens it does not name, as if it had not come for them;
  and the owner is deaf only on its own complete summary of the slot evaluated: while that one is not in
  (late) or incomplete, the window's earlier summary alone -- a thin one, closed a moment after a late
  close, may miss a standing shopper -- moves nobody (a starved gateway evaluated a slot at its deadline
  with few peers' summaries of it in, its own always, and gave the owner's shoppers to itself or another
  gateway 16-32 m from their zone: docs/multi-gateway.md, "Far owners at 8 gateways");
- the owner hands it on (its summary of the slot: its engine placed the shopper in a zone only that
  gateway's scanners cover) and that gateway heard it in the slot: it takes it at once (the zone
  decides before the RSSI lead below would; every gateway reads the same summary, so all agree);
  the owner may also hand it on at once, outside any slot, by a claim naming the gateway
  (:meth:`Arbiter.hand`: applied only while that owner still owns it at the claim's epoch);
- another gateway is louder by :data:`MARGIN_DB` for :data:`HOLD_SLOTS` consecutive evaluations:
  it takes it (hysteresis: a shopper between two boxes does not flap); while the owner *keeps* it
  (its summary of the slot hands it to itself: the zone its stream last said is one of its own), by
  :data:`KEEP_MARGIN_DB` -- the zone decides against a loudness lead as it does for a hand, so the two
  rules no longer hand a shopper back and forth when an engine's zone contradicts the loudness;
- nobody heard it for :data:`RELEASE_SLOTS`: released (no owner).

Each change raises the token's ``epoch`` (monotonic); claims published on the broker carry it, so
a gateway that joined late, or missed a summary, adopts the higher epoch (equal epochs: the smaller
gateway id), see :meth:`Arbiter.adopt`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

WINDOW_SLOTS = 2
"""Slots (seconds) averaged per gateway. Measured on families of simulated rows (scanners 6, 7, 8 and
10 m apart, 5 seeds each, shoppers walking the row and one standing between two boxes; pure, no
broker: tests/test_peers.py and benchmarks/multi_gateway.py's docstring): 2 slots with the margin
and hold below hand shoppers over 0.8 s sooner at p95 (4.7 s instead of 5.5 s from entering the
next zone) than 3 slots with 5 dB, at 23 instead of 0 changes in 100 minutes of a shopper standing
exactly half-way between two boxes (a 1 dB smaller margin: 72)."""
MARGIN_DB = 4.0
"""How much louder a challenger must be: about the spread of a 2 s mean of per-second medians
between two scanners at equal distance (3 dB of advert noise), so noise alone rarely moves a
shopper standing half-way; 4 dB is where the challenger's scanner is ~1.4x nearer (22 dB/decade)."""
KEEP_MARGIN_DB = 12.0
"""The lead a challenger needs while the owner keeps the shopper (the zone its stream last said is one of
its own). The zone and the loudness are two estimates of where the shopper is; the engine's reads
every scanner of the store against the floor, the loudness is one mean per gateway. Where they
disagree by the 4 dB of :data:`MARGIN_DB` (noise at half-way), handing on by the zone and back by the
loudness bounced a shopper between two gateways 17-70 times per doors run with the grid engine
(docs/multi-gateway.md, "Ownership that does not bounce"). 12 dB is the challenger's scanner ~3.5x
nearer (22 dB/decade: 3 m against 10 m) and 4 times the 3 dB spread of a 2 s mean: a shopper inside the
owner's zone is not that much nearer another gateway's scanner, so such a lead, for
:data:`HOLD_SLOTS` evaluations, means the owner's engine is stuck and the loudness moves them."""
HOLD_SLOTS = 2
"""Consecutive evaluations the challenger must lead: one evaluation of 2 slots is noise-prone
(106 changes per 100 minutes half-way at 4 dB)."""
SILENT_KEEP_SLOTS = 3
"""An alive owner that sent no summary in the window keeps its shoppers while its last summary (one that
came after its slot was evaluated included) is at most this many slots old by the slots' stamps: at slot
k, a summary of a slot k-3..k-1 received (taken from the broker, however long it then waited in the inbox)
by slot k's deadline. What each gateway has by that deadline, not what it happened to have read when it
evaluated: the first rule counted whatever had come before the evaluation, and a late summary reached two
gateways on either side of their evaluations, which then decided differently at the 3-slot boundary
(session 15, ``tests/test_peers_late.py``); a summary is rarely received after the deadline (the broker
drops it 3 s after it was sent, ``SUMMARY_EXPIRY_S``), so the gateways disagree only where the window
itself may. A summary that misses the
slot's deadline (``SLOT_DEADLINE_S``) says nothing about the shopper: its gateway's process or the broker
was slow, and counting it deaf moved standing shoppers away and back at 8 gateways on a loaded machine
(docs/multi-gateway.md, "Ownership under load"). 3 slots: the silence after which the service no longer
waits for a peer's summary (``PEER_SILENT_SLOTS``), so a gateway killed without its will being sent yet
(kill -9: the will comes 1.5 keep-alives later) loses its shoppers 1 s later than before, inside the
10 s the takeover may take."""
RELEASE_SLOTS = 30
"""Nobody heard the token for this long: released. Longer than any presence exit timer, so the
owner emits the exit before it lets go."""


WHY = ("new", "gone", "silent", "deaf", "hand", "lead", "keep_lead", "released", "adopt", "at_once")
"""Why ownership moved: nobody owned it (``new``); the owner is gone (its last will: ``gone``) or sent no
summary in the window for longer than :data:`SILENT_KEEP_SLOTS` (``silent``); the owner's summaries in
the window did not carry the token (``deaf``); the owner's summary handed it on (``hand``); a loudness
lead (``lead``, ``keep_lead`` while the owner kept it); nobody heard it (``released``); a claim on the
broker with a higher epoch (``adopt``); an owner's claim handing it on at once (``at_once``)."""


@dataclass(frozen=True, slots=True)
class Change:
    """Ownership of ``token`` moved from ``old`` to ``new`` (None: nobody) at ``epoch``; ``why``: which
    rule moved it (one of :data:`WHY`, for the counters and the benchmarks)."""

    token: str
    old: str | None
    new: str | None
    epoch: int
    why: str = "adopt"


@dataclass(slots=True)
class _State:
    owner: str | None
    epoch: int
    heard_slot: int
    challenger: str | None = None
    streak: int = 0


class Arbiter:
    """See the module docstring."""

    def __init__(
        self,
        *,
        window_slots: int = WINDOW_SLOTS,
        margin_db: float = MARGIN_DB,
        keep_margin_db: float = KEEP_MARGIN_DB,
        hold_slots: int = HOLD_SLOTS,
        release_slots: int = RELEASE_SLOTS,
        silent_keep_slots: int = SILENT_KEEP_SLOTS,
    ) -> None:
        self._window = window_slots
        self._margin = margin_db
        self._keep_margin = keep_margin_db
        self._hold = hold_slots
        self._release = release_slots
        self._silent_keep = silent_keep_slots
        self._spoke: dict[str, dict[int, float]] = {}
        """Gateway → slot → when its summary of that slot was received (late ones included; the last
        :data:`SILENT_KEEP_SLOTS` slots)."""
        self._scores: dict[int, dict[str, dict[str, float]]] = {}
        self._hands: dict[int, dict[str, dict[str, str]]] = {}
        self._partial: dict[int, set[str]] = {}
        """Slot → the gateways whose summary of it was not complete (:meth:`add`)."""
        self._came_late: dict[tuple[int, str], float] = {}
        """(slot, gateway) → when a summary added after its slot was evaluated was received: it counts in a
        later slot's window only if received by that slot's deadline (:meth:`add`)."""
        self._state: dict[str, _State] = {}
        self.evaluated = -1
        """The last slot evaluated."""
        self._deadline = math.inf
        """The deadline of the slot being evaluated (:meth:`evaluate`)."""

    def add(
        self,
        slot: int,
        gateway: str,
        scores: Mapping[str, float],
        hands: Mapping[str, str] | None = None,
        received: float | None = None,
        reached: int | None = None,
    ) -> None:
        """``gateway``'s scores (token → dBm) for ``slot``, and the tokens it hands on (token → gateway;
        to itself: it keeps them, see :data:`KEEP_MARGIN_DB`). A summary of a slot already evaluated (late)
        says that ``gateway`` speaks (:data:`SILENT_KEEP_SLOTS`), and its scores count in the windows still to
        come whose deadline it was ``received`` by, as they do at the gateways that had it in time (its hands do
        not: they were for its slot; received later, it counts nowhere, as every gateway that evaluated by the
        deadline without it did: ``tests/test_peers_late.py``). Dropped,
        they left this gateway's next window with the owner's other summary alone -- a thin one, closed a moment
        after a late close, missed a standing shopper -- and it moved them ``deaf`` where its peers did not
        (docs/multi-gateway.md, "Far owners at 8 gateways"). ``received``: when it was received (the
        clock of :meth:`evaluate`'s ``deadline``; None: in time for any deadline).

        ``reached``: the last slot whose end the gateway's advert reader had reached when it closed ``slot``
        (:attr:`edge.peers.summary.Summary.reached`; None: ``slot``, a complete summary). Below ``slot`` the
        summary is incomplete (a starved process): its scores count, but of the tokens it does not name it
        has not spoken -- alone it makes no owner ``deaf``. It keeps the owner's shoppers as a summary of
        ``slot`` would while its reader is at most :data:`SILENT_KEEP_SLOTS` slots behind, and as one of
        ``reached`` beyond (a reader that stays behind is a silent owner). Counted as one of ``reached``
        always, the keep ran out at 8 gateways on a loaded machine, where most summaries were incomplete
        (74.6 ``silent`` moves per gateway per 20 s in one run: docs/multi-gateway.md, session 17)."""
        spoken = slot if reached is None or slot - reached <= self._silent_keep else reached
        incomplete = reached is not None and reached < slot
        if spoken > self.evaluated - self._silent_keep:
            stamps = self._spoke.setdefault(gateway, {})
            stamps[spoken] = min(stamps.get(spoken, math.inf), -math.inf if received is None else received)
        if slot <= self.evaluated - self._window + 1:
            return  # in no window to come
        if incomplete:
            self._partial.setdefault(slot, set()).add(gateway)
        self._scores.setdefault(slot, {})[gateway] = dict(scores)
        if slot <= self.evaluated:
            self._came_late[(slot, gateway)] = -math.inf if received is None else received
        if hands and slot > self.evaluated:
            self._hands.setdefault(slot, {})[gateway] = dict(hands)

    def speaks(self, gateway: str) -> bool:
        """``gateway``'s summary of one of the last :data:`SILENT_KEEP_SLOTS` slots evaluated (or of a later one)
        came: it is not silent."""
        return any(s > self.evaluated - self._silent_keep for s in self._spoke.get(gateway, {}))

    def has(self, slot: int, gateway: str) -> bool:
        return gateway in self._scores.get(slot, {})

    def evaluate(self, slot: int, alive: Collection[str], deadline: float | None = None) -> list[Change]:
        """Evaluate ``slot`` (after every earlier one) with the gateways in ``alive``; the changes.
        ``deadline``: the slot's deadline (the summaries received after it do not keep an owner:
        :data:`SILENT_KEEP_SLOTS`; None: every summary added counts)."""
        if slot <= self.evaluated:
            return []
        self.evaluated = slot
        self._deadline = math.inf if deadline is None else deadline
        sums: dict[str, dict[str, list[float]]] = {}
        spoke: set[str] = set()
        for s in range(slot - self._window + 1, slot + 1):
            partial = self._partial.get(s, ())
            for gateway, scores in self._scores.get(s, {}).items():
                if gateway in alive and self._came_late.get((s, gateway), -math.inf) <= self._deadline:
                    if gateway not in partial:
                        spoke.add(gateway)
                    for token, score in scores.items():
                        sums.setdefault(token, {}).setdefault(gateway, []).append(score)
        latest = self._scores.get(slot, {})
        said = {g for g in latest if g in alive and g not in self._partial.get(slot, ())}
        hands = {g: h for g, h in self._hands.get(slot, {}).items() if g in alive}
        for old in [s for s in self._scores if s <= slot - self._window + 1]:
            del self._scores[old]
        for old in [s for s in self._partial if s <= slot - self._window + 1]:
            del self._partial[old]
        for key in [k for k in self._came_late if k[0] <= slot - self._window + 1]:
            del self._came_late[key]
        for old in [s for s in self._hands if s <= slot]:
            del self._hands[old]
        for gateway, stamps in list(self._spoke.items()):
            for old in [s for s in stamps if s < slot - self._silent_keep]:
                del stamps[old]
            if not stamps:
                del self._spoke[gateway]
        changes: list[Change] = []
        for token in sorted(set(sums) | set(self._state)):
            heard = {g: sum(v) / len(v) for g, v in sums.get(token, {}).items()}
            now = {g for g in heard if token in latest.get(g, {})}
            change = self._decide(token, heard, now, slot, hands, spoke, said, alive)
            if change is not None:
                changes.append(change)
        return changes

    def _decide(
        self,
        token: str,
        heard: dict[str, float],
        now: set[str],
        slot: int,
        hands: Mapping[str, Mapping[str, str]],
        spoke: set[str],
        said: set[str],
        alive: Collection[str],
    ) -> Change | None:
        """``heard``: each alive gateway's mean over the window; ``now``: those heard in ``slot`` itself;
        ``hands``: per alive gateway, the tokens it hands on in ``slot`` (to itself: keeps); ``spoke``: the
        alive gateways with a complete summary (of any tokens) in the window; ``said``: those with a complete
        summary of ``slot`` itself."""
        state = self._state.get(token)
        if not heard:
            if state is not None and slot - state.heard_slot >= self._release:
                del self._state[token]
                return (
                    Change(token, state.owner, None, state.epoch + 1, "released") if state.owner is not None else None
                )
            return None
        best, best_score = min(heard.items(), key=lambda item: (-item[1], item[0]))
        if state is None:
            self._state[token] = _State(best, 1, slot)
            return Change(token, None, best, 1, "new")
        state.heard_slot = slot
        owner = state.owner
        if owner is not None and owner not in heard and self._late(owner, slot, spoke, alive):
            return None  # late, not deaf: its (complete) summaries did not reach this slot's evaluation
        if owner is not None and owner not in heard and owner in spoke and owner not in said:
            return None  # its word on this slot is late or incomplete: only that word says it no longer hears them
        if owner is None or owner not in heard:
            fresh = [(g, v) for g, v in heard.items() if g in now]
            if not fresh:
                return None  # the owner's last word stands until someone hears the shopper again
            why = "new" if owner is None else "deaf" if owner in spoke else "silent" if owner in alive else "gone"
            return self._move(token, state, min(fresh, key=lambda item: (-item[1], item[0]))[0], why)
        handed = hands.get(owner, {}).get(token)
        if handed is not None and handed != owner and handed in now:
            return self._move(token, state, handed, "hand")
        margin = self._keep_margin if handed == owner else self._margin
        if best != owner and best_score >= heard[owner] + margin:
            if state.challenger == best:
                state.streak += 1
            else:
                state.challenger, state.streak = best, 1
            if state.streak >= self._hold:
                return self._move(token, state, best, "keep_lead" if handed == owner else "lead")
        else:
            state.challenger, state.streak = None, 0
        return None

    def _late(self, owner: str, slot: int, spoke: set[str], alive: Collection[str]) -> bool:
        """``owner`` is alive and sent no complete summary in the window, but one of a slot at most
        :data:`SILENT_KEEP_SLOTS` before ``slot``, received by ``slot``'s deadline (a late one included)."""
        if owner not in alive or owner in spoke:
            return False
        stamps = self._spoke.get(owner, {})
        return any(
            slot - self._silent_keep <= s < slot and received <= self._deadline for s, received in stamps.items()
        )

    def _move(self, token: str, state: _State, new: str, why: str) -> Change:
        old = state.owner
        state.owner = new
        state.epoch += 1
        state.challenger, state.streak = None, 0
        return Change(token, old, new, state.epoch, why)

    def adopt(self, token: str, owner: str | None, epoch: int, slot: int) -> Change | None:
        """A claim seen on the broker: adopted if its epoch is higher (equal: the smaller id wins)."""
        state = self._state.get(token)
        if state is None:
            if owner is None:
                return None
            self._state[token] = _State(owner, epoch, slot)
            return Change(token, None, owner, epoch)
        if epoch < state.epoch or (owner == state.owner and epoch == state.epoch):
            return None
        if epoch == state.epoch and (owner is None or (state.owner is not None and state.owner <= owner)):
            return None
        old = state.owner
        state.owner, state.epoch = owner, epoch
        state.challenger, state.streak = None, 0
        return Change(token, old, owner, epoch)

    def hand(self, token: str, owner: str, epoch: int, to: str) -> Change | None:
        """The owner handed ``token`` on at once (its claim at ``epoch`` names ``to``, outside any
        slot): moved if ``owner`` still owns it at that epoch; otherwise nothing (a later change won)."""
        state = self._state.get(token)
        if state is None or state.owner != owner or state.epoch != epoch or to == owner:
            return None
        return self._move(token, state, to, "at_once")

    def owner(self, token: str) -> str | None:
        state = self._state.get(token)
        return None if state is None else state.owner

    def epoch(self, token: str) -> int:
        state = self._state.get(token)
        return 0 if state is None else state.epoch

    def owned_by(self, gateway: str) -> list[str]:
        return sorted(t for t, s in self._state.items() if s.owner == gateway)

    def owned_by_others(self, gateway: str) -> list[str]:
        """The tokens another gateway than ``gateway`` owns."""
        return sorted(t for t, s in self._state.items() if s.owner is not None and s.owner != gateway)

    def forget(self, token: str) -> None:
        """Consent withdrawn: nothing about the token is kept."""
        self._state.pop(token, None)
        for gateways in self._scores.values():
            for scores in gateways.values():
                scores.pop(token, None)
        for by_gateway in self._hands.values():
            for hands in by_gateway.values():
                hands.pop(token, None)

    def __len__(self) -> int:
        return len(self._state)
