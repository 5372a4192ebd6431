"""The headless demo's story: what happened each epoch and why, from a snapshot (pure, no I/O).

A snapshot is what ``Demo.snapshot`` returns: ``block``, ``netuid``, ``neurons`` (metagraph
rows), ``phases`` (hotkey -> (kind, name, phase)) and ``faults`` (resource name -> the
deliberate misbehaviour the demo gave it, ``SUBNETES_COMPUTE_FAULT``).

"Earned" is judged on each registration's cumulative ``total_emission``: it only grows, so a
miner that earned once never reads as not earning (a row's ``emission`` is the last epoch's
only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from subnetes.chain.units import RAO_PER_TAO, U16_MAX

#: Printed once, before the first epoch: what the numbers mean.
LEGEND = (
    "how to read this: each epoch the chain pays new TAO as emission; a miner's incentive is its "
    "share of the validators' stake-weighted weights (validators score correct, fast answers); a "
    "validator's dividends are its share through bonds, which build up from the weights it sets "
    "(an EMA); 'earned' is a neuron's cumulative emission since it registered."
)

#: A dividends share this far (in points) from the stake share gets an explanation.
DIVIDEND_GAP = 0.10


def fault_reason(spec: str) -> str:
    """Why a miner with fault ``spec`` (``wrong`` or ``slow:<s>``) earns less, in words."""
    if spec == "wrong":
        return (
            "wrong by design (the demo sets SUBNETES_COMPUTE_FAULT=wrong): its products fail "
            "the validators' Freivalds check, so it scores 0 and earns nothing"
        )
    if spec.startswith("slow:"):
        return (
            f"slow by design (the demo sets SUBNETES_COMPUTE_FAULT={spec}): answers score "
            "fastest/latency, so it earns less than the others"
        )
    return f"misbehaves by design (SUBNETES_COMPUTE_FAULT={spec})"


def _tao(rao: int) -> str:
    return f"{rao / RAO_PER_TAO:.4f} τ"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def by_kind(snap: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(resource name, metagraph row) of every UID owned by a ``kind`` resource, by UID."""
    out = []
    for n in snap.get("neurons") or []:
        k, name, _phase = snap.get("phases", {}).get(n["hotkey"], ("owner", "-", "-"))
        if k == kind:
            out.append((name, n))
    return out


def honest_miners(snap: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The miners the demo did not give a fault: the ones that should earn."""
    faults = snap.get("faults") or {}
    return [(name, n) for name, n in by_kind(snap, "Miner") if name not in faults]


def miners_earned(snap: dict[str, Any]) -> bool:
    """True once some honest miner has earned (cumulative emission > 0): never flips back."""
    return any(n.get("total_emission", 0) > 0 for _, n in honest_miners(snap))


@dataclass
class Story:
    """Turns successive snapshots into story lines; remembers what a single snapshot can't
    (epochs seen, each validator's first weights block)."""

    epochs: int = 0
    first_weights: dict[str, int] = field(default_factory=dict)
    last_totals: dict[str, int] = field(default_factory=dict)

    def observe(self, snap: dict[str, Any]) -> list[str]:
        """Lines for ``snap``: empty unless an epoch paid out since the last snapshot."""
        for _name, n in by_kind(snap, "Validator"):
            if n.get("weights_block", -1) >= 0:
                self.first_weights.setdefault(n["hotkey"], n["weights_block"])
        totals = {n["hotkey"]: n.get("total_emission", 0) for n in snap.get("neurons") or []}
        paid = {hk: t - self.last_totals.get(hk, 0) for hk, t in totals.items()}
        if not any(v > 0 for v in paid.values()):
            return []
        self.last_totals = totals
        self.epochs += 1
        return self.lines(snap, paid)

    def lines(self, snap: dict[str, Any], paid: dict[str, int]) -> list[str]:
        """The story of one epoch: a summary line, one line per miner, one per validator."""
        honest = honest_miners(snap)
        earning = [name for name, n in honest if n.get("total_emission", 0) > 0]
        out = []
        if self.epochs == 1:
            out.append(LEGEND)
        out.append(
            f"block {snap['block']}: epoch {self.epochs} paid {_tao(sum(paid.values()))}; "
            f"miners earned: {bool(earning)} ({len(earning)} of {len(honest)} honest miners "
            "have cumulative emission)"
        )
        out += [self._miner_line(snap, name, n, paid) for name, n in by_kind(snap, "Miner")]
        out += self._validator_lines(snap, paid)
        return out

    def _miner_line(
        self, snap: dict[str, Any], name: str, n: dict[str, Any], paid: dict[str, int]
    ) -> str:
        head = (
            f"  {name} (UID {n['uid']}): incentive {_pct(n['incentive'] / U16_MAX)}, "
            f"+{_tao(paid.get(n['hotkey'], 0))} this epoch, {_tao(n.get('total_emission', 0))} "
            "so far"
        )
        fault = (snap.get("faults") or {}).get(name)
        if fault:
            return f"{head} — {fault_reason(fault)}"
        if n.get("total_emission", 0) > 0:
            return head
        phase = snap.get("phases", {}).get(n["hotkey"], ("", "", "?"))[2]
        if phase != "Registered":
            return f"{head} — not serving yet (phase {phase})"
        return (
            f"{head} — no validator weight yet: it registered at block "
            f"{n.get('registered_at', '?')}, and validators weight a miner only after scoring "
            "it (a moving average of rounds) and setting weights"
        )

    def _validator_lines(self, snap: dict[str, Any], paid: dict[str, int]) -> list[str]:
        vals = by_kind(snap, "Validator")
        total_stake = sum(n["stake"] for _, n in vals) or 1
        out = []
        for name, n in vals:
            first = self.first_weights.get(n["hotkey"])
            out.append(
                f"  {name} (UID {n['uid']}): stake {_pct(n['stake'] / total_stake)} of "
                f"validator stake, dividends {_pct(n['dividends'] / U16_MAX)}, "
                f"+{_tao(paid.get(n['hotkey'], 0))} this epoch; "
                + (f"first set weights at block {first}" if first is not None else "no weights yet")
            )
        if (
            vals
            and not any(n["dividends"] for _, n in vals)
            and any(paid.get(n["hotkey"], 0) for _, n in vals)
        ):
            out.append(
                "  why validators were paid with 0% dividends: no miner has consensus weight yet "
                "(no validator has set weights that count), so the epoch pays its emission to "
                "the validators in proportion to stake, as Subtensor does"
            )
        if sum(v["dividends"] for _, v in vals) > 0:
            out += self._dividends_why(vals, total_stake)
        return out

    def _dividends_why(self, vals: list[tuple[str, dict[str, Any]]], total_stake: int) -> list[str]:
        """Why a validator's dividends share is far from its stake share, if one is."""

        def excess(v: tuple[str, dict[str, Any]]) -> float:
            return v[1]["dividends"] / U16_MAX - v[1]["stake"] / total_stake

        if not vals or max(abs(excess(v)) for v in vals) <= DIVIDEND_GAP:
            return []
        name, n = max(vals, key=excess)
        first = self.first_weights.get(n["hotkey"])
        others = [self.first_weights.get(v["hotkey"]) for o, v in vals if o != name]
        if first is not None and all(f is None or f > first for f in others):
            return [
                f"  why {name}'s dividends exceed its stake share: dividends follow bonds, and a "
                "validator's bonds grow (an EMA) from the weights it sets on miners; "
                f"{name} weighted them first (block {first}), so it holds more bonds and earns "
                "more until the others' bonds catch up (Yuma rewards early weight setters)"
            ]
        return [
            f"  why {name}'s dividends exceed its stake share: dividends follow bonds, which "
            "grow (an EMA) from weights that agree with the stake-weighted consensus; its "
            "weights agreed more (weights above consensus are clipped and earn no bonds)"
        ]
