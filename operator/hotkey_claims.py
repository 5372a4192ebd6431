"""Hotkey Secrets bound to one neuron (pure decisions; the hotkey steps in neurons.py use them).

A Miner or Validator names its hotkey Secret (``spec.hotkeySecretRef``) and the operator mounts
that Secret into a pod running the image the spec names. Without a check, whoever may create
Miners could mount any Secret of the namespace, another neuron's hotkey included (a confused
deputy). So a neuron may use a hotkey Secret only when the Secret is claimed for it:

- the operator created it for this neuron (controller owner reference with the neuron's UID), or
- it carries the annotation ``subnetes.io/hotkey-for: <Kind>/<name>`` (set by whoever may write
  Secrets, e.g. ``subnetes wallet import --for Miner/<name>``) and no owner reference to another
  object;

and only while no other neuron already uses the same hotkey (the first claimant keeps it).
Messages name Secrets and neurons, never key material or addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import conditions as c
from .labels import HOTKEY_CLAIM_ANNOTATION, hotkey_claim
from .neuron_run import NeuronRun
from .runtime import Key
from .status import FAILED
from .steps import Wait

# Condition (Stalled) and Event reasons.
NOT_CLAIMED = "HotkeySecretNotClaimed"
IN_USE = "HotkeyInUse"


def claim_problem(
    kind: str, name: str, uid: str | None, secret: str, secret_meta: Mapping[str, Any]
) -> tuple[str, str] | None:
    """None when Secret ``secret`` (its ``metadata``) is claimed for neuron ``kind/name`` (whose
    object UID is ``uid``); else (reason, message) saying why it may not be used."""
    wanted = hotkey_claim(kind, name)
    how = (
        f"a {kind} may use only a hotkey Secret the operator created for it or one annotated "
        f"{HOTKEY_CLAIM_ANNOTATION}={wanted}"
    )
    controllers = [r for r in secret_meta.get("ownerReferences") or [] if r.get("controller")]
    for ref in controllers:
        if ref.get("kind") == kind and ref.get("name") == name and ref.get("uid") == uid:
            return None
    if controllers:
        ref = controllers[0]
        owner = f"{ref.get('kind')}/{ref.get('name')}"
        if ref.get("kind") == kind and ref.get("name") == name:
            owner += " (an earlier object of that name)"
        return NOT_CLAIMED, f"Secret {secret} belongs to {owner}: {how}."
    claim = (secret_meta.get("annotations") or {}).get(HOTKEY_CLAIM_ANNOTATION)
    if claim == wanted:
        return None
    if claim:
        return NOT_CLAIMED, f"Secret {secret} is claimed for {claim}: {how}."
    return NOT_CLAIMED, f"Secret {secret} carries no claim for {wanted}: {how}."


@dataclass(frozen=True)
class Holder:
    """A neuron as the hotkey check sees it: the hotkey (ss58) it uses, when it was created."""

    key: Key
    hotkey: str | None
    created: str  # metadata.creationTimestamp (RFC 3339, UTC: sorts by time); "" when unknown


def first_claimant(me: Holder, held_before: bool, others: Iterable[Holder]) -> Key | None:
    """The other neuron that keeps ``me.hotkey``, or None when ``me`` may use it.

    Another neuron using the same hotkey keeps it: it claimed it first. Only when ``me`` used it
    before too (``held_before``: its last status shows it, as after an upgrade from a version
    without this check, where two neurons could share a Secret) does the older object keep it,
    so that both neurons come to the same answer.
    """
    rivals = [o for o in others if o.key != me.key and o.hotkey and o.hotkey == me.hotkey]
    if not rivals:
        return None
    if held_before:
        # An unknown creation time sorts last: a neuron that used the hotkey is never refused
        # for a rival whose age is unknown yet (its watch event not seen since a restart).
        older = [o for o in rivals if _age(o) < _age(me)]
        return min(older, key=_age).key if older else None
    return min(rivals, key=_age).key


def _age(h: Holder) -> tuple[str, Key]:
    return (h.created or "~", h.key)


def holders(
    statuses: Mapping[Key, Mapping[str, Any]],
    hotkeys: Mapping[str, Key],
    bodies: Mapping[Key, Mapping[str, Any]],
) -> list[Holder]:
    """Every neuron the operator knows to use a hotkey: from the last statuses it saw or wrote
    and from the hotkey index (set as soon as a reconcile accepts a hotkey, before its status)."""
    used: dict[tuple[Key, str], None] = {}
    for key, status in statuses.items():
        if key[0] in ("Miner", "Validator") and status.get("hotkey"):
            used[(key, status["hotkey"])] = None
    for ss58, key in hotkeys.items():
        used[(key, ss58)] = None
    return [Holder(key, ss58, _created(bodies.get(key))) for key, ss58 in used]


def _created(body: Mapping[str, Any] | None) -> str:
    return str(((body or {}).get("metadata") or {}).get("creationTimestamp") or "")


def rival_message(me: Key, rival: Key, secret: str | None) -> str:
    """Why ``me`` may not use the hotkey in ``secret``: ``rival`` uses it (named only when it
    is in the same namespace)."""
    who = f"{rival[0]}/{rival[2]}" if rival[1] == me[1] else "a neuron in another namespace"
    return (
        f"The hotkey in Secret {secret} is already used by {who}; a hotkey belongs to one "
        "neuron (the first to claim it keeps it)."
    )


def refused(run: NeuronRun, problem: tuple[str, str]) -> Wait:
    """Stalled (phase Failed) on a hotkey ``run`` may not use. The view carries neither the
    hotkey nor the Secret: nothing of another neuron's key reaches this neuron's status, and no
    other neuron sees this one as a holder of it."""
    run.keypair = None
    run.hotkey = run.hotkey_secret = None
    return Wait(run.view(FAILED, problem=problem, hotkey_refused=True), run.delay)


def event_due(old: Mapping[str, Any], reason: str) -> bool:
    """Whether a refusal for ``reason`` deserves an Event: not when the last status already
    says so (a refused neuron is retried every few seconds; one Event per refusal)."""
    stalled = c.get(old.get("conditions"), c.STALLED) or {}
    return not (stalled.get("status") == c.TRUE and stalled.get("reason") == reason)
