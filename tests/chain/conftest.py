"""Fixtures for the chain suite: an in-memory dev network driven block by block."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bittensor_wallet import Keypair

from subnetes.chain.block import Outcome
from subnetes.chain.context import Ctx
from subnetes.chain.errors import ChainError
from subnetes.chain.extrinsic import apply_extrinsic, parse, sign
from subnetes.chain.ledger import Ledger
from subnetes.chain.params import ChainConfig, dev_config

from . import fake_consensus
from . import pg as pg_module


def _real_consensus_works() -> bool:
    try:
        from subnetes.consensus import EpochInputs, SubnetParams, run_epochs

        z = np.zeros
        x = EpochInputs(
            n_uids=np.array([1]),
            current_block=np.array([10]),
            stake=z((1, 8)),
            block_at_registration=z((1, 8), np.int64),
            last_update=z((1, 8), np.int64),
            validator_permit=z((1, 8), bool),
            row_uid=np.full((1, 8), -1, np.int32),
            weights=z((1, 8, 8), np.uint16),
            bonds=z((1, 8, 8), np.uint16),
            emission=np.array([1000]),
        )
        run_epochs(x, SubnetParams.defaults(1))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def consensus_fn() -> Callable[..., Any]:
    """The real consensus when it runs, else the NumPy stand-in."""
    if _real_consensus_works():
        from subnetes.consensus import run_epochs

        return run_epochs
    return fake_consensus.run_epochs


def key(name: str) -> Keypair:
    return Keypair.create_from_uri(f"//{name}")


ALICE = key("Alice")


class Net:
    """An in-memory chain plus helpers to sign, submit and step."""

    def __init__(
        self, config: ChainConfig, consensus: Callable[..., Any], db: str | None = None
    ) -> None:
        self.ledger = Ledger.open(config, db, consensus)
        self.nonces: dict[str, int] = {}

    @property
    def st(self):
        return self.ledger.state

    @property
    def block(self) -> int:
        return self.ledger.head.number

    def xt(self, kp: Keypair, call: str, /, **args: Any):
        addr = kp.ss58_address
        n = max(self.nonces.get(addr, 0), self.st.nonce(addr))
        self.nonces[addr] = n + 1
        return parse(sign(kp, call, args, n, self.ledger.genesis_hash)), False

    def step(self, *xts: Any) -> tuple[Any, list[Outcome]]:
        rec, outs = self.ledger.step(list(xts))
        for addr in list(self.nonces):  # forget nonces of rejected extrinsics
            self.nonces[addr] = self.st.nonce(addr)
        return rec, outs

    def ok(self, kp: Keypair, call: str, /, **args: Any) -> list[dict[str, Any]]:
        """Submit one extrinsic in a new block; it must succeed. Returns its events."""
        _, outs = self.step(self.xt(kp, call, **args))
        if outs[0].error:
            raise outs[0].error
        return outs[0].events

    def err(self, kp: Keypair, call: str, name: str, /, **args: Any) -> ChainError:
        """Apply one extrinsic (as in the next block) that must fail with ``name``, and check
        that it changed nothing: every state chunk is identical and no event was emitted."""
        xt, _ = self.xt(kp, call, **args)
        self.nonces[kp.ss58_address] = self.st.nonce(kp.ss58_address)
        before = json.dumps(self.st.all_chunks(), sort_keys=True)
        ctx = Ctx(block=self.block + 1)
        with pytest.raises(ChainError) as info:
            apply_extrinsic(self.st, ctx, xt, self.ledger.genesis_hash)
        assert info.value.name == name, (
            f"expected {name}, got {info.value.name}: {info.value.message}"
        )
        assert json.dumps(self.st.all_chunks(), sort_keys=True) == before, (
            "rejected extrinsic changed state"
        )
        assert ctx.events == []
        return info.value

    def run_to(self, block: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while self.block < block:
            rec, _ = self.step()
            events += rec.events
        return events


@pytest.fixture
def dev(consensus_fn: Callable[..., Any]) -> Net:
    """A fresh dev network in memory (tempo 10, faucet, Alice sudo and rich)."""
    return Net(dev_config(), consensus_fn)


@pytest.fixture
def make_net(consensus_fn: Callable[..., Any]) -> Iterator[Callable[..., Net]]:
    nets: list[Net] = []

    def make(db: str | None = None, **overrides: Any) -> Net:
        nets.append(Net(dev_config(**overrides), consensus_fn, db))
        return nets[-1]

    yield make
    for n in nets:
        if n.ledger.storage:
            n.ledger.storage.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[pg_module.PgServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole session (fails if not installed)."""
    yield from pg_module.pg_server()


@pytest.fixture(scope="session")
def manual_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real service process in manual mode (blocks only via POST /v1/dev/produce), with a
    subnet, a staked miner and an axon (``service.populate``); shared by the API fuzz and the
    bad-input tests. Uses the NumPy consensus stand-in (no JAX compile in the process)."""
    import signal

    from .service import Service, populate

    svc = Service(
        tmp_path_factory.mktemp("manual") / "manual.db",
        extra_args=("--manual",),
        fake_consensus=True,
    ).start()
    try:
        populate(svc, ALICE, key("fuzz-owner"), key("fuzz-miner"))
        yield svc
    finally:
        svc.kill(signal.SIGTERM)


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A factory of fresh, empty databases (what ``--db`` takes), once per storage backend."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg").create_database
    counter = itertools.count()
    return lambda: str(tmp_path / f"chain{next(counter)}.db")


def subnet_node(consensus: Callable[..., Any]) -> Any:
    """A manual in-memory node (dev genesis) with one subnet, a miner and a staked validator,
    whose epochs run on ``consensus``."""
    from subnetes.chain.node import Node

    ledger = Ledger.open(dev_config(), None, consensus)
    g = ledger.genesis_hash
    owner, miner, vali = key("sn-owner"), key("sn-miner"), key("sn-vali")
    steps = [
        ("register_network", {"hotkey": owner.ss58_address}),
        ("burned_register", {"netuid": 1, "hotkey": miner.ss58_address}),
        ("burned_register", {"netuid": 1, "hotkey": vali.ss58_address}),
        ("add_stake", {"hotkey": vali.ss58_address, "amount": 10**12}),
    ]
    for nonce, (call, args) in enumerate(steps):
        _, outs = ledger.step([(parse(sign(ALICE, call, args, nonce, g)), False)])
        assert outs[0].error is None, outs[0].error
    return Node(ledger, 0.25, manual=True)


def slow_epoch_node(seconds: float) -> tuple[Any, threading.Event]:
    """A :func:`subnet_node` whose epochs take ``seconds`` (a long accelerator call, off the
    event loop), and an Event set when one begins."""
    from subnetes.consensus import reference_epochs

    in_epoch = threading.Event()

    def slow_consensus(*a: Any, **k: Any) -> Any:
        in_epoch.set()
        time.sleep(seconds)
        return reference_epochs(*a, **k)

    return subnet_node(slow_consensus), in_epoch
