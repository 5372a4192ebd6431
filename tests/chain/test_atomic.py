"""State encapsulation: extrinsics apply all-or-nothing, chunk keys and dirty marks belong to
the state module, and the incremental state root always equals a full recomputation."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from subnetes.chain.context import Ctx
from subnetes.chain.errors import ChainError
from subnetes.chain.extrinsic import apply_extrinsic
from subnetes.chain.state import Axon, State
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

OWNER = key("atomic-owner")
BOB = key("Bob")
CAROL = key("atomic-carol")


def _snapshot(net: Net) -> tuple[str, frozenset[str], str]:
    """Everything a rejected extrinsic must leave alone: chunks, the dirty set, the root."""
    st = net.st
    return json.dumps(st.all_chunks(), sort_keys=True), frozenset(st.dirty), st.state_root()


def _base(net: Net) -> None:
    """A subnet with room for two UIDs (the owner's and one miner's), a staked root validator
    with root weights on the subnet, and a funded coldkey for the tests' own extrinsics."""
    net.ok(ALICE, "register_network", hotkey=OWNER.ss58_address)
    net.ok(ALICE, "sudo_set_hyperparameter", netuid=1, name="max_allowed_uids", value=2)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("atomic-m1").ss58_address)
    net.ok(ALICE, "transfer", dest=BOB.ss58_address, amount=tao(50))
    net.ok(ALICE, "add_stake", hotkey=OWNER.ss58_address, amount=tao(5))
    net.ok(ALICE, "root_register", hotkey=OWNER.ss58_address)
    net.ok(OWNER, "set_root_weights", netuids=[1], values=[65535])
    net.ok(ALICE, "transfer", dest=CAROL.ss58_address, amount=tao(20))


# (call, args, module and function to break, where the failure is injected)
SCENARIOS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    # new UID: balance debited, issuance recycled, hotkey created, subnet counters, UID appended
    "register": (
        "burned_register",
        {"netuid": 1, "hotkey": key("atomic-m2").ss58_address},
        "subnetes.chain.rules.registration",
        "add_neuron",
    ),
    # full subnet: the pruned UID's slot, the hotkey index and the others' weights change
    "replace": (
        "burned_register",
        {"netuid": 1, "hotkey": key("atomic-m3").ss58_address},
        "subnetes.chain.rules.registration",
        "add_neuron",
    ),
    # the subnet and its neuron chunks deleted, the lock returned, root weights dropped
    "dissolve": (
        "dissolve_network",
        {"netuid": 1},
        "subnetes.chain.rules.subnets",
        "update_shares",
    ),
}


def _break_after(
    monkeypatch: pytest.MonkeyPatch, net: Net, module: str, name: str, exc: Exception
) -> dict[str, bool]:
    """Make ``module.name`` run for real, then raise ``exc`` (a rule failing midway)."""
    import importlib

    mod = importlib.import_module(module)
    real: Callable[..., Any] = getattr(mod, name)
    seen = {"changed": False}
    before = json.dumps(net.st.all_chunks(), sort_keys=True)

    def broken(*a: Any, **k: Any) -> Any:
        real(*a, **k)
        seen["changed"] = json.dumps(net.st.all_chunks(), sort_keys=True) != before
        raise exc

    monkeypatch.setattr(mod, name, broken)
    return seen


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (ChainError("InjectedRule", "a rule refused late"), "InjectedRule"),
        (RuntimeError("a bug"), "InternalError"),
    ],
    ids=["chain-error", "unexpected"],
)
def test_rule_failing_midway_changes_nothing(
    make_net: Callable[..., Net],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
    exc: Exception,
    error: str,
) -> None:
    """A rule that raises after it has already changed state leaves no trace: not in memory,
    not in the dirty set (what the block would store), not in the state root; the block still
    builds, with the same events, root and stored chunks as a block without it."""
    call, args, module, name = SCENARIOS[scenario]
    control, broken = make_net(str(tmp_path / "control.db")), make_net(str(tmp_path / "b.db"))
    for net in (control, broken):
        _base(net)
    signer = ALICE
    before = _snapshot(broken)
    seen = _break_after(monkeypatch, broken, module, name, exc)

    xt, _ = broken.xt(signer, call, **args)
    ctx = Ctx(block=broken.block + 1)
    with pytest.raises(ChainError) as info:
        apply_extrinsic(broken.st, ctx, xt, broken.ledger.genesis_hash)
    assert info.value.name == error
    assert seen["changed"], "the injected failure must come after a real change"
    assert _snapshot(broken) == before
    assert ctx.events == []
    broken.nonces.clear()  # the rejected extrinsic used no nonce

    # In a block, next to a good extrinsic: rejected, and the block equals the control's.
    good = {"dest": CAROL.ss58_address, "amount": tao(1)}
    _, outs = broken.step(broken.xt(signer, call, **args), broken.xt(BOB, "transfer", **good))
    assert outs[0].error is not None and outs[0].error.name == error
    assert outs[1].error is None
    _, control_outs = control.step(control.xt(BOB, "transfer", **good))
    assert control_outs[0].error is None
    # (block hashes differ: sr25519 signatures are randomized, so the extrinsics' hashes do)
    assert broken.ledger.head.events == control.ledger.head.events
    assert broken.st.state_root() == control.st.state_root() == broken.st.recomputed_root()
    assert broken.ledger.storage is not None and control.ledger.storage is not None
    assert broken.ledger.storage.load_chunks() == control.ledger.storage.load_chunks()

    # Unbroken again, the same call succeeds on the rolled-back state.
    monkeypatch.undo()
    broken.ok(signer, call, **args)


def test_atomic_restores_every_accessor(dev: Net) -> None:
    """State.atomic() rolls back each kind of chunk change (created, changed, deleted)."""
    _base(dev)
    st = dev.st
    st.neuron_mut(1, 1).commits.append(["0x01", 2, 0])
    st.take_dirty()
    before = _snapshot(dev)
    with pytest.raises(KeyError), st.atomic():
        st.globals_mut().issuance += 1
        st.account_mut(key("atomic-new").ss58_address).balance = 5
        st.account_mut(ALICE.ss58_address).nonce += 7
        st.create_hotkey(key("atomic-hk").ss58_address, ALICE.ss58_address, 0)
        st.hotkey_mut(OWNER.ss58_address).stakes[ALICE.ss58_address] = 1
        nm = st.neuron_mut(1, 1)
        nm.weights[0], nm.bonds[0] = 9, 9
        nm.commits.append(["0x00", 1, 1])
        nm.commits[0].append("in place")
        nm.axon = Axon(block=1, ip="10.0.0.1", port=1)
        nm.total_emission += 1
        st.subnet_mut(1).burn = 0
        st.remove_subnet(1)
        raise KeyError("boom")
    assert _snapshot(dev) == before
    assert st.subnets[1].uid_of == {n.hotkey: n.uid for n in st.subnets[1].neurons}
    dev.step()
    assert st.state_root() == st.recomputed_root()
    with pytest.raises(RuntimeError), st.atomic(), st.atomic():
        pass


def test_undo_log_copies_every_mutable_neuron_field() -> None:
    """The undo log copies a neuron's mutable fields one level deep (cheaper than deepcopy);
    a new field holding a mutable value must be added to that copy, or a rollback would miss
    its in-place changes."""
    import dataclasses
    import typing

    from subnetes.chain.state import MUTABLE_NEURON_FIELDS, Neuron

    hints = typing.get_type_hints(Neuron)
    mutable = {f.name for f in dataclasses.fields(Neuron) if hints[f.name] not in (int, str, bool)}
    assert mutable == MUTABLE_NEURON_FIELDS


# ---- chunk keys are the state module's business ------------------------------------------------

CHAIN_DIR = Path(__file__).resolve().parents[2] / "chain"
# What only chain/state.py may do: format a chunk key ("a/...", f"n/{...}"), touch the dirty
# set, or write the state's tables and the globals around the accessors.
FORBIDDEN = {
    "chunk key literal": re.compile(r"""(?<![\w/])[fFrRbBuU]{0,2}(["'])[ahsn]/"""),
    "dirty set": re.compile(r"\.dirty\b"),
    "table write": re.compile(
        r"\.(accounts|hotkeys|subnets|uid_of)(\[[^\]\n]*\]\s*=(?!=)"
        r"|\.(pop|popitem|setdefault|update|clear)\()"
    ),
    "neuron list write": re.compile(
        r"\.neurons(\[[^\]\n]*\]\s*=(?!=)|\.(append|pop|insert|remove|clear|extend)\()"
    ),
    "globals write": re.compile(r"\bst\.g\.\w+\s*([-+*/]?=)(?!=)"),
}


def state_encapsulation_violations(source: str) -> list[str]:
    """The forbidden state accesses in one module's source, as 'line N: kind: text'."""
    out = []
    for lineno, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        for kind, pattern in FORBIDDEN.items():
            if pattern.search(code):
                out.append(f"line {lineno}: {kind}: {line.strip()}")
    return out


def test_scanner_catches_hand_written_keys() -> None:
    bad = (
        'st.dirty.add(f"h/{hotkey}")\n'
        "key = 'a/' + ss58\n"
        "st.subnets[netuid] = Subnet(netuid)\n"
        "s = st.subnets.pop(netuid)\n"
        "s.neurons.append(fresh)\n"
        "s.uid_of[hotkey] = uid\n"
        "st.g.issuance += amount\n"
    )
    flagged = {v.split(":")[0] for v in state_encapsulation_violations(bad)}
    assert flagged == {f"line {n}" for n in range(1, 8)}
    ok = (
        "st.account_mut(ss58).balance += 1\n"
        "if st.subnets[netuid] == s:\n"
        "    uid = s.uid_of[hotkey]  # a read\n"
        'path = "/v1/subnets/a/b"\n'
    )
    assert state_encapsulation_violations(ok) == []


def test_no_chunk_key_or_dirty_mark_outside_the_state_module() -> None:
    """Only chain/state.py formats chunk keys and marks chunks dirty; everything else mutates
    through its accessors (one missed dirty mark would make the root disagree with storage)."""
    found = {}
    for path in sorted(CHAIN_DIR.rglob("*.py")):
        if path.name == "state.py" and path.parent == CHAIN_DIR:
            continue
        bad = state_encapsulation_violations(path.read_text())
        if bad:
            found[str(path.relative_to(CHAIN_DIR))] = bad
    assert found == {}


# ---- incremental root == full recomputation == storage -------------------------------------------


def _random_extrinsic(rng: random.Random, net: Net, keys: list[Any]) -> tuple[Any, str, dict]:
    """One plausible extrinsic (valid or not) over a small set of keys and subnets."""
    signer = rng.choice(keys)
    hk = rng.choice(keys).ss58_address
    netuid = rng.choice([0, 1, 2, 3])
    n = len(net.st.subnets[netuid].neurons) if netuid in net.st.subnets else 3
    uids = rng.sample(range(max(n, 1)), k=rng.randint(1, max(1, n)))
    choices: list[tuple[str, dict[str, Any]]] = [
        ("transfer", {"dest": hk, "amount": rng.randint(1, tao(3))}),
        ("faucet", {"amount": tao(rng.randint(1, 50))}),
        ("register_network", {"hotkey": hk}),
        ("burned_register", {"netuid": netuid, "hotkey": hk}),
        ("root_register", {"hotkey": hk}),
        ("add_stake", {"hotkey": hk, "amount": rng.randint(1, tao(5))}),
        ("remove_stake", {"hotkey": hk, "amount": rng.randint(1, tao(2))}),
        ("set_take", {"hotkey": hk, "take": rng.randint(0, 11_000)}),
        (
            "set_weights",
            {"netuid": netuid, "uids": uids, "values": [rng.randint(1, 65535) for _ in uids]},
        ),
        ("set_root_weights", {"netuids": [1], "values": [rng.randint(1, 65535)]}),
        ("serve_axon", {"netuid": netuid, "ip": f"10.0.0.{rng.randint(1, 9)}", "port": 8091}),
        (
            "set_hyperparameter",
            {"netuid": netuid, "name": "max_allowed_uids", "value": rng.randint(2, 6)},
        ),
        ("reset_bonds", {"netuid": netuid}),
        ("dissolve_network", {"netuid": netuid}),
    ]
    call, args = rng.choice(choices)
    return signer, call, args


def test_incremental_root_equals_full_recomputation(
    make_net: Callable[..., Net], tmp_path: Path
) -> None:
    """After every block of a random-ish run (registrations, pruning, stake, weights, epochs,
    dissolutions): the incrementally kept root equals one computed from scratch, and the stored
    chunks rebuild exactly the in-memory state."""
    net = make_net(str(tmp_path / "chain.db"), network_immunity_period=5, network_rate_limit=0)
    keys = [ALICE, BOB, CAROL, key("r1"), key("r2"), key("r3")]
    for kp in keys[1:]:
        net.ok(ALICE, "transfer", dest=kp.ss58_address, amount=tao(200))
    rng = random.Random(12)
    applied = 0
    for _ in range(40):
        batch = []
        for _ in range(rng.randint(1, 6)):
            signer, call, args = _random_extrinsic(rng, net, keys)
            batch.append(net.xt(signer, call, **args))
        _, outs = net.step(*batch)
        applied += sum(o.error is None for o in outs)
        st = net.st
        assert st.state_root() == st.recomputed_root()
        assert net.ledger.storage is not None
        loaded = State.load(st.config, net.ledger.storage.load_chunks())
        assert loaded.state_root() == st.state_root()
        assert loaded.all_chunks() == st.all_chunks()
    assert applied > 40
