"""Hotkey Secrets bound to one neuron (issue 13, hole 8): the decisions on pure inputs, and the
two hotkey steps with an in-memory API server."""

from __future__ import annotations

from typing import Any

import pytest

from subnetes.operator import conditions as c
from subnetes.operator import neurons as n
from subnetes.operator.hotkey_claims import (
    IN_USE,
    NOT_CLAIMED,
    Holder,
    claim_problem,
    event_due,
    first_claimant,
    holders,
    refused,
    rival_message,
)
from subnetes.operator.keys import new_hotkey
from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION
from subnetes.operator.manifests import build_hotkey_secret
from subnetes.operator.neurons import NeuronRun
from subnetes.operator.runtime import Indexes
from subnetes.operator.status import FAILED, neuron_status
from subnetes.operator.steps import CONTINUE, Wait

CLAIM = HOTKEY_CLAIM_ANNOTATION


def owner(kind: str, name: str, uid: str, controller: bool = True) -> dict[str, Any]:
    return {"kind": kind, "name": name, "uid": uid, "controller": controller}


# -- claim_problem -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"ownerReferences": [owner("Miner", "b", "uid-b")]}, None),  # the operator's own
        ({"annotations": {CLAIM: "Miner/b"}}, None),  # imported and claimed for b
        # A non-controller reference (say, a user's bookkeeping) does not bind the Secret.
        (
            {"annotations": {CLAIM: "Miner/b"}, "ownerReferences": [owner("X", "y", "u", False)]},
            None,
        ),
        ({}, "carries no claim for Miner/b"),
        ({"annotations": {"other": "x"}}, "carries no claim for Miner/b"),
        ({"annotations": {CLAIM: "Miner/a"}}, "is claimed for Miner/a"),
        ({"annotations": {CLAIM: "Validator/b"}}, "is claimed for Validator/b"),
        ({"ownerReferences": [owner("Miner", "a", "uid-a")]}, "belongs to Miner/a"),
        ({"ownerReferences": [owner("Subnet", "s", "uid-s")]}, "belongs to Subnet/s"),
        # A stale Secret of a deleted Miner of the same name (garbage collection is late).
        ({"ownerReferences": [owner("Miner", "b", "uid-old")]}, "an earlier object of that name"),
        # A claim annotation cannot take another neuron's Secret: the owner reference wins.
        (
            {"annotations": {CLAIM: "Miner/b"}, "ownerReferences": [owner("Miner", "a", "uid-a")]},
            "belongs to Miner/a",
        ),
    ],
)
def test_claim_problem(meta: dict[str, Any], problem: str | None) -> None:
    out = claim_problem("Miner", "b", "uid-b", "hk", meta)
    if problem is None:
        assert out is None
    else:
        assert out is not None and out[0] == NOT_CLAIMED
        assert problem in out[1] and out[1].startswith("Secret hk ")
        assert f"{CLAIM}=Miner/b" in out[1]  # says how to claim it


def test_the_operators_secret_carries_its_claim() -> None:
    body = {"kind": "Validator", "metadata": {"name": "v", "namespace": "ns", "uid": "uid-v"}}
    sec = build_hotkey_secret(body, "v-hotkey", b"{}")
    assert sec["metadata"]["annotations"] == {CLAIM: "Validator/v"}
    assert claim_problem("Validator", "v", "uid-v", "v-hotkey", sec["metadata"]) is None
    # The same Secret offered to another Validator: refused.
    assert claim_problem("Validator", "w", "uid-w", "v-hotkey", sec["metadata"]) is not None


# -- first_claimant ------------------------------------------------------------------------------

A = ("Miner", "ns", "a")
B = ("Miner", "ns", "b")
V = ("Validator", "other", "v")
T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def test_first_claimant_keeps_the_hotkey() -> None:
    me = Holder(B, "5H", T1)
    assert first_claimant(me, False, []) is None
    assert first_claimant(me, False, [Holder(B, "5H", T1), Holder(A, "5X", T1)]) is None
    # Someone else uses it: they keep it, whatever their age (b never had it).
    assert first_claimant(me, False, [Holder(A, "5H", T2)]) == A
    assert first_claimant(me, False, [Holder(V, "5H", "")]) == V  # any namespace
    # Both used it (shared before the check existed): the older object keeps it, both agree.
    assert first_claimant(Holder(A, "5H", T1), True, [Holder(B, "5H", T2)]) is None
    assert first_claimant(Holder(B, "5H", T2), True, [Holder(A, "5H", T1)]) == A
    # Same age: by key, still one answer.
    assert first_claimant(Holder(A, "5H", T1), True, [Holder(B, "5H", T1)]) is None
    assert first_claimant(Holder(B, "5H", T1), True, [Holder(A, "5H", T1)]) == A
    # A rival whose age is unknown (not seen since a restart) never evicts a holder.
    assert first_claimant(Holder(A, "5H", T1), True, [Holder(B, "5H", "")]) is None


def test_holders_from_statuses_and_the_index() -> None:
    statuses = {
        A: {"hotkey": "5A"},
        B: {"phase": "Failed"},  # refused: no hotkey in status
        ("Subnet", "ns", "s"): {"hotkey": "5S"},  # not a neuron
    }
    bodies = {A: {"metadata": {"creationTimestamp": T1}}}
    out = holders(statuses, {"5V": V}, bodies)
    assert sorted(out, key=lambda h: h.key) == [Holder(A, "5A", T1), Holder(V, "5V", "")]


def test_rival_message_names_only_neighbours() -> None:
    assert "Miner/a" in rival_message(B, A, "b-key")
    msg = rival_message(B, V, "b-key")
    assert "another namespace" in msg and "Validator/v" not in msg


# -- the refusal ---------------------------------------------------------------------------------


def make_run(old: dict[str, Any] | None = None, spec: dict[str, Any] | None = None) -> NeuronRun:
    spec = {"subnetRef": {"name": "sn"}, "coldkeySecretRef": {"name": "ck"}} | (spec or {})
    meta = {"namespace": "ns", "name": "b", "generation": 2, "uid": "uid-b"}
    meta["creationTimestamp"] = T2
    return NeuronRun.begin(
        "Miner", {"kind": "Miner", "metadata": meta, "spec": spec}, old or {}, 3.0
    )


def test_refused_view_carries_no_key_and_is_stalled() -> None:
    run = make_run({"hotkey": "5A", "hotkeySecretName": "a-hotkey", "uid": 3, "netuid": 1})
    out = refused(run, (NOT_CLAIMED, "Secret a-hotkey ..."))
    assert isinstance(out, Wait) and out.after == 3.0
    assert out.view.phase == FAILED and out.view.problem == (NOT_CLAIMED, "Secret a-hotkey ...")
    assert out.view.hotkey is None and out.view.hotkey_secret is None
    status = neuron_status(out.view, run.old, c.now_rfc3339())
    # The key and its Secret leave the status (the last one said "5A", "a-hotkey").
    assert "hotkey" not in status and "hotkeySecretName" not in status
    assert c.get(status["conditions"], c.STALLED)["reason"] == NOT_CLAIMED  # type: ignore[index]
    assert c.get(status["conditions"], c.READY)["status"] == c.FALSE  # type: ignore[index]
    # One Event per refusal: not again while the status already says it.
    assert event_due(run.old, NOT_CLAIMED)
    assert not event_due(status, NOT_CLAIMED)
    assert event_due(status, IN_USE)


# -- the steps, with an in-memory API server -----------------------------------------------------


class FakeKube:
    """Secrets by name (metadata, data) and the Events posted."""

    def __init__(
        self,
        secrets: dict[str, tuple[dict[str, Any], dict[str, bytes]]],
        neurons: list[dict[str, Any]] | None = None,
    ) -> None:
        self.secrets = secrets
        self.neurons = neurons or []
        self.events: list[tuple[str, str]] = []
        self.lists: list[tuple[str, str]] = []

    async def list(self, kind: str, ns: str) -> list[dict[str, Any]]:
        self.lists.append((kind, ns))
        return [b for b in self.neurons if b["kind"] == kind and b["metadata"]["namespace"] == ns]

    async def secret(self, ns: str, name: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
        return self.secrets.get(name)

    async def create_secret_if_absent(self, manifest: dict[str, Any]) -> bool:
        raise AssertionError("no Secret is created here")

    async def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason))


class FakeRt:
    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube
        self.indexes = Indexes()


def keyfile() -> tuple[str, bytes]:
    kp, raw = new_hotkey()
    return kp.ss58_address, raw


async def test_hotkey_step_refuses_an_unclaimed_secret_before_reading_it() -> None:
    # Not even a hotkey inside: the refusal says nothing about the contents of another's Secret.
    kube = FakeKube({"a-hotkey": ({"ownerReferences": [owner("Miner", "a", "uid-a")]}, {})})
    rt = FakeRt(kube)
    rt.indexes.hotkeys["5Stale"] = ("Miner", "ns", "b")
    run = make_run(spec={"hotkeySecretRef": {"name": "a-hotkey"}})
    out = await n.hotkey(rt, run)  # type: ignore[arg-type]
    assert isinstance(out, Wait) and out.view.problem is not None
    assert out.view.problem[0] == NOT_CLAIMED and "belongs to Miner/a" in out.view.problem[1]
    assert run.keypair is None and out.view.hotkey is None
    assert kube.events == [("Warning", NOT_CLAIMED)]
    assert rt.indexes.hotkeys == {}  # b holds nothing


async def test_hotkey_steps_accept_a_claimed_secret_and_index_it() -> None:
    ss58, raw = keyfile()
    kube = FakeKube({"b-key": ({"annotations": {CLAIM: "Miner/b"}}, {"hotkey": raw})})
    rt = FakeRt(kube)
    run = make_run(spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt, run) is CONTINUE  # type: ignore[arg-type]
    assert run.hotkey == ss58 and run.hotkey_secret == "b-key"
    assert await n.hotkey_unshared(rt, run) is CONTINUE  # type: ignore[arg-type]
    assert rt.indexes.hotkeys == {ss58: run.key}
    assert kube.events == []


async def test_hotkey_unshared_refuses_a_hotkey_another_neuron_uses() -> None:
    ss58, raw = keyfile()
    kube = FakeKube({"b-key": ({"annotations": {CLAIM: "Miner/b"}}, {"hotkey": raw})})
    rt = FakeRt(kube)
    rt.indexes.observe(
        "Miner",
        {
            "metadata": {"namespace": "ns", "name": "a", "creationTimestamp": T1},
            "status": {"hotkey": ss58},
        },
    )
    run = make_run(spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt, run) is CONTINUE  # type: ignore[arg-type]
    out = await n.hotkey_unshared(rt, run)  # type: ignore[arg-type]
    assert isinstance(out, Wait) and out.view.problem is not None
    assert out.view.problem[0] == IN_USE and "Miner/a" in out.view.problem[1]
    assert ss58 not in out.view.problem[1]  # the message names Secrets and neurons only
    assert out.view.hotkey is None and run.keypair is None
    assert rt.indexes.hotkeys == {ss58: A}
    assert kube.events == [("Warning", IN_USE)]


def test_neuron_steps_check_the_hotkey_before_the_chain() -> None:
    names = [s.__name__ for s in n.NEURON_STEPS]
    assert names.index("hotkey") + 1 == names.index("hotkey_unshared")
    assert names.index("hotkey_unshared") < names.index("chain_registration")
    assert names.index("hotkey_unshared") < names.index("workload")


async def test_a_first_claim_after_a_start_sees_holders_the_watch_has_not_shown() -> None:
    """Just after a restart the index may miss an older holder: the first new claim in a
    namespace lists its Miners and Validators once (later claims use the watch-fed index)."""
    ss58, raw = keyfile()
    holder = {
        "kind": "Validator",
        "metadata": {"namespace": "ns", "name": "v0", "creationTimestamp": T1},
        "status": {"hotkey": ss58},
    }
    kube = FakeKube({"b-key": ({"annotations": {CLAIM: "Miner/b"}}, {"hotkey": raw})}, [holder])
    rt = FakeRt(kube)
    run = make_run(spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt, run) is CONTINUE  # type: ignore[arg-type]
    out = await n.hotkey_unshared(rt, run)  # type: ignore[arg-type]
    assert isinstance(out, Wait) and out.view.problem is not None
    assert out.view.problem[0] == IN_USE and "Validator/v0" in out.view.problem[1]
    assert kube.lists == [("Miner", "ns"), ("Validator", "ns")]
    run = make_run(spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt, run) is CONTINUE  # type: ignore[arg-type]
    await n.hotkey_unshared(rt, run)  # type: ignore[arg-type]
    assert len(kube.lists) == 2  # once per namespace
    # A neuron that already holds its hotkey lists nothing.
    rt2 = FakeRt(FakeKube({"b-key": ({"annotations": {CLAIM: "Miner/b"}}, {"hotkey": raw})}))
    run = make_run({"hotkey": ss58}, spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt2, run) is CONTINUE  # type: ignore[arg-type]
    assert await n.hotkey_unshared(rt2, run) is CONTINUE  # type: ignore[arg-type]
    assert rt2.kube.lists == []


class NoScan(dict):  # type: ignore[type-arg]
    """Statuses that refuse a whole scan (lookups by key still work)."""

    def items(self) -> Any:
        raise AssertionError("every status scanned")

    def values(self) -> Any:
        raise AssertionError("every status scanned")

    def __iter__(self) -> Any:
        raise AssertionError("every status scanned")


async def test_hotkey_unshared_reads_only_the_holders_of_its_hotkey() -> None:
    """Scale (issue 19): the check runs on every reconcile; scanning every neuron's status
    for rivals was ~15 ms at 5,000 neurons on the event loop (quadratic in the fleet). Holders
    come from an index by hotkey, kept in step as statuses are observed, written, replaced."""
    ss58, raw = keyfile()
    rt = FakeRt(FakeKube({"b-key": ({"annotations": {CLAIM: "Miner/b"}}, {"hotkey": raw})}))
    rt.indexes.seeded.add("ns")
    rt.indexes.status = NoScan()
    for i in range(50):  # other neurons, other hotkeys
        meta = {"namespace": "ns", "name": f"m{i}", "creationTimestamp": T1}
        rt.indexes.observe("Miner", {"metadata": meta, "status": {"hotkey": f"5X{i}"}})
    a = {"metadata": {"namespace": "ns", "name": "a", "creationTimestamp": T1}}
    rt.indexes.observe("Miner", a | {"status": {"hotkey": ss58}})
    rt.indexes.hotkeys[ss58] = ("Miner", "ns", "m0")  # the index lost A (a later claimant won)
    run = make_run(spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt, run) is CONTINUE  # type: ignore[arg-type]
    out = await n.hotkey_unshared(rt, run)  # type: ignore[arg-type]
    assert isinstance(out, Wait) and out.view.problem is not None
    assert out.view.problem[0] == IN_USE  # A and m0 both created at T1: the lower key, A
    assert "Miner/a" in out.view.problem[1]
    # A lets the hotkey go (its status no longer names it, then it is deleted): B may use it.
    rt.indexes.observe("Miner", a | {"status": {"phase": "Failed"}})
    rt.indexes.hotkeys.pop(ss58)
    assert rt.indexes.statuses_naming(ss58) == {}
    run = make_run(spec={"hotkeySecretRef": {"name": "b-key"}})
    assert await n.hotkey(rt, run) is CONTINUE  # type: ignore[arg-type]
    assert await n.hotkey_unshared(rt, run) is CONTINUE  # type: ignore[arg-type]
    assert ss58 not in rt.indexes.status_hotkeys  # emptied entries go (no growth with churn)
    rt.indexes.observe("Miner", a, deleted=True)
    assert ("Miner", "ns", "m7") in rt.indexes.status_hotkeys["5X7"]
    rt.indexes.observe("Miner", {"metadata": {"namespace": "ns", "name": "m7"}}, deleted=True)
    assert "5X7" not in rt.indexes.status_hotkeys
