"""Admission at submit, the queue's bounds and order, and fees (issue 13, hole 2).

A real in-process :class:`Node` (manual block production) on a dev genesis with fees switched
on. The spam case also runs with admission off (``PoolLimits(enabled=False)``: the old
first-come queue) to show the hole it closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from bittensor_wallet import Keypair

from subnetes.chain.admission import PoolLimits, by_priority
from subnetes.chain.errors import ChainError, http_status
from subnetes.chain.extrinsic import Extrinsic, parse, sign
from subnetes.chain.fees import size_of
from subnetes.chain.ledger import Ledger
from subnetes.chain.node import Node
from subnetes.chain.params import dev_config
from subnetes.chain.units import RAO_PER_TAO

from . import fake_consensus
from .conftest import ALICE, key

FEES = {"tx_fee_base": 1_000, "tx_fee_per_byte": 10}
BOB = key("Bob")


def make_node(limits: PoolLimits | None = None, **overrides: Any) -> Node:
    cfg = dev_config(**{**FEES, **overrides})
    return Node(Ledger.open(cfg, None, fake_consensus.run_epochs), 1.0, True, limits)


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(fn())


async def submit(
    node: Node, kp: Keypair, call: str, nonce: int | None = None, tip: int = 0, **args: Any
) -> Extrinsic:
    """Submit without waiting; raises the admission's ChainError."""
    if nonce is None:  # the next one after those waiting
        addr = kp.ss58_address
        nonce = node.ledger.state.nonce(addr) + node.pool.pending.get(addr, 0)
    body = sign(kp, call, args, nonce, node.ledger.genesis_hash, tip=tip)
    xt, _ = await node.submit(body, wait=False)
    return xt


async def refused(node: Node, name: str, *a: Any, **kw: Any) -> ChainError:
    """The submission must be refused with ``name``; nothing is queued."""
    before = (len(node.queue), node.pool.bytes)
    with pytest.raises(ChainError) as info:
        await submit(node, *a, **kw)
    assert info.value.name == name, info.value
    assert (len(node.queue), node.pool.bytes) == before
    return info.value


async def fund(node: Node, *kps: Keypair, tao: int = 1) -> None:
    for kp in kps:  # the dev faucet is free: a fresh key's way to its first balance
        await submit(node, kp, "faucet", amount=tao * RAO_PER_TAO)
    await node.produce_async()


def block_of(node: Node, xt_hash: str) -> int | None:
    for n in range(1, node.ledger.head.number + 1):
        rec = node.block(n)
        if rec and any(x["hash"] == xt_hash for x in rec.extrinsics):
            return n
    return None


# ---- the case: spam cannot delay an honest extrinsic by more than one block ----------
@pytest.mark.parametrize("admission", [True, False], ids=["admission", "old-queue"])
def test_spam_delays_an_honest_transfer_by_at_most_one_block(admission: bool) -> None:
    """Six funded spammers fill their windows (48 junk transfers, 3 blocks' worth at 16 a
    block); then one honest transfer arrives. With admission it lands in the next block; the
    old first-come queue (the hole) puts it behind all the junk."""
    node = make_node(PoolLimits(per_signer=8, enabled=admission), max_extrinsics_per_block=16)
    spammers = [key(f"spammer-{i}") for i in range(6)]

    async def main() -> tuple[int, int | None]:
        await fund(node, *spammers)
        for s in spammers:
            for n in range(1, 9):
                await submit(node, s, "transfer", n, dest=s.ss58_address, amount=1)
        honest = await submit(node, ALICE, "transfer", dest=BOB.ss58_address, amount=5)
        head = node.ledger.head.number
        await node.produce_async()
        return head, block_of(node, honest.hash)

    head, landed = run(main)
    if admission:
        assert landed == head + 1
    else:
        assert landed is None  # still queued behind the junk


def test_a_zero_balance_spammer_queues_nothing() -> None:
    """5000 junk transfers from a key with no balance: each is refused at submit (402
    CannotPayFee); the queue stays empty and the honest transfer is in the next block."""
    node = make_node()
    spammer = key("broke-spammer")

    async def main() -> None:
        err = await refused(
            node, "CannotPayFee", spammer, "transfer", dest=BOB.ss58_address, amount=1
        )
        assert http_status(err.name) == 402 and "free balance" in err.message
        for n in range(1, 5000):
            with pytest.raises(ChainError):
                await submit(node, spammer, "transfer", n % 64, dest=BOB.ss58_address, amount=1)
        assert len(node.queue) == 0 and node.pool.bytes == 0
        honest = await submit(node, ALICE, "transfer", dest=BOB.ss58_address, amount=5)
        await node.produce_async()
        assert block_of(node, honest.hash) == node.ledger.head.number

    run(main)


def test_per_signer_pending_limit_and_nonce_window() -> None:
    """A signer may have ``per_signer`` extrinsics waiting (then 429 TooManyPending) and a
    nonce at most ``per_signer - 1`` ahead (409 FutureNonce); a stale nonce is 409 too."""
    node = make_node(PoolLimits(per_signer=4))

    async def main() -> None:
        await refused(node, "FutureNonce", ALICE, "transfer", 4, dest=BOB.ss58_address, amount=1)
        for n in range(4):
            await submit(node, ALICE, "transfer", n, dest=BOB.ss58_address, amount=1)
        err = await refused(
            node, "TooManyPending", ALICE, "transfer", 3, dest=BOB.ss58_address, amount=1
        )
        assert http_status(err.name) == 429
        await submit(node, BOB, "transfer", dest=ALICE.ss58_address, amount=1)  # others still can
        await node.produce_async()
        assert node.ledger.state.nonce(ALICE.ss58_address) == 4 and not node.queue
        await refused(node, "StaleNonce", ALICE, "transfer", 3, dest=BOB.ss58_address, amount=1)
        await submit(node, ALICE, "transfer", 4, dest=BOB.ss58_address, amount=1)

    run(main)


def test_fees_of_waiting_extrinsics_are_reserved() -> None:
    """The balance must cover the fees of everything the signer has waiting, not each alone."""
    node = make_node()
    payer = key("two-fees")
    probe = parse(sign(payer, "transfer", {"dest": BOB.ss58_address, "amount": 0}, 0, "0x"))

    async def main() -> None:
        fee = FEES["tx_fee_base"] + FEES["tx_fee_per_byte"] * (size_of(probe) + 200)
        await submit(node, ALICE, "transfer", dest=payer.ss58_address, amount=2 * fee)
        await node.produce_async()
        for n in range(2):
            await submit(node, payer, "transfer", n, dest=BOB.ss58_address, amount=0)
        await refused(node, "CannotPayFee", payer, "transfer", 2, dest=BOB.ss58_address, amount=0)

    run(main)


def test_queue_is_bounded_in_bytes() -> None:
    """Large valid bodies fill the byte budget, then 429 QueueFull; the queue never holds more
    than ``max_bytes`` (memory stays bounded whatever the count limit allows)."""
    limit = 400_000
    node = make_node(PoolLimits(max_bytes=limit))
    senders = [key(f"big-{i}") for i in range(3)]
    uids = list(range(10_000))  # a valid set_weights body of ~60 kB

    async def main() -> None:
        await fund(node, *senders)
        admitted = full = 0
        for n in range(6):
            for s in senders:
                try:
                    await submit(node, s, "set_weights", n + 1, netuid=1, uids=uids, values=uids)
                    admitted += 1
                except ChainError as e:
                    assert e.name == "QueueFull" and http_status(e.name) == 429
                    full += 1
                assert node.pool.bytes <= limit
                assert node.pool.bytes == sum(p.size for p in node.queue)
        assert admitted >= 3 and full > 0
        await node.produce_async()  # leaving the queue frees its bytes
        assert node.pool.bytes == 0 and node.pool.count == 0 and not node.pool.pending

    run(main)


def test_arguments_are_checked_at_submit() -> None:
    node = make_node()

    async def main() -> None:
        await refused(
            node,
            "InvalidArguments",
            ALICE,
            "transfer",
            dest=BOB.ss58_address,
            amount=1,
            memo="x" * 500_000,
        )
        await refused(node, "UnknownCall", ALICE, "mint", amount=1)

    run(main)


def test_faucet_disabled_is_refused_at_submit() -> None:
    node = make_node(faucet_enabled=False)
    run(lambda: refused(node, "FaucetDisabled", key("nobody"), "faucet", amount=1))


# ---- fees --------------------------------------------------------------------------------------
def test_fee_and_tip_are_charged_burned_and_accounted() -> None:
    """A transfer pays base + per byte + tip, taken from the signer and burned (issuance falls
    by it); a FeePaid event records it; balances still add up to the issuance."""
    node = make_node()
    st = node.ledger.state

    async def main() -> None:
        issuance, alice = st.g.issuance, st.balance(ALICE.ss58_address)
        xt = await submit(node, ALICE, "transfer", tip=7, dest=BOB.ss58_address, amount=5)
        rec = await node.produce_async()
        fee = FEES["tx_fee_base"] + FEES["tx_fee_per_byte"] * size_of(xt)
        assert st.balance(ALICE.ss58_address) == alice - 5 - fee - 7
        assert st.g.issuance == issuance - fee - 7
        paid = [e for e in rec.events if e["type"] == "FeePaid"]
        assert paid == [
            {
                "type": "FeePaid",
                "who": ALICE.ss58_address,
                "fee": fee,
                "tip": 7,
                "extrinsic": 0,
                "block": rec.number,
                "index": paid[0]["index"],
            }
        ]
        assert rec.events[0]["type"] == "Transfer"  # the call's own events come first
        assert sum(a.balance for a in st.accounts.values()) == st.g.issuance
        # a rejected extrinsic pays nothing (all or nothing)
        before = st.balance(ALICE.ss58_address)
        await submit(node, ALICE, "transfer", dest=BOB.ss58_address, amount=2**64 - 1)
        rec = await node.produce_async()
        assert rec.extrinsics == [] and st.balance(ALICE.ss58_address) == before

    run(main)


def test_registered_hotkeys_set_weights_and_serve_for_free() -> None:
    """Hotkeys hold no balance by design: set_weights and serve_axon by a hotkey registered on
    the subnet pay no fee (Subtensor's Pays::No); an unregistered key pays, so with no balance
    it is refused at submit."""
    node = make_node()
    hot, stranger = key("free-hotkey"), key("free-stranger")
    st = node.ledger.state

    async def main() -> None:
        await submit(node, ALICE, "register_network", hotkey=hot.ss58_address)
        await node.produce_async()
        assert hot.ss58_address in st.subnets[1].uid_of and st.balance(hot.ss58_address) == 0
        await submit(node, hot, "serve_axon", netuid=1, ip="10.0.0.1", port=8091)
        w = await submit(node, hot, "set_weights", netuid=1, uids=[0], values=[65535])
        rec = await node.produce_async()
        assert len(rec.extrinsics) == 2, node.results[w.hash]
        assert not [e for e in rec.events if e["type"] == "FeePaid"]
        err = await refused(
            node, "CannotPayFee", stranger, "set_weights", netuid=1, uids=[0], values=[1]
        )
        assert "free balance" in err.message

    run(main)


# ---- the queue's order -------------------------------------------------------------------------
@dataclass
class _Q:
    xt: Any
    size: int = 0
    fee: int = 0


@dataclass
class _X:
    signer: str
    nonce: int
    tip: int = 0


def test_priority_order() -> None:
    """Higher tip first; each signer's first before anyone's second; a signer's own extrinsics
    in nonce order (a tip on a later nonce lifts the earlier one with it)."""
    q = [
        _Q(_X("spam", 0)),
        _Q(_X("spam", 1)),
        _Q(_X("spam", 2)),
        _Q(_X("a", 1, tip=50)),
        _Q(_X("a", 0)),
        _Q(_X("honest", 0)),
        _Q(_X("c", 0, tip=10)),
    ]
    got = [(p.xt.signer, p.xt.nonce) for p in by_priority(q)]
    assert got == [
        ("a", 0),
        ("c", 0),
        ("spam", 0),
        ("a", 1),
        ("honest", 0),
        ("spam", 1),
        ("spam", 2),
    ]


def test_tip_orders_the_block() -> None:
    node = make_node(max_extrinsics_per_block=1)

    async def main() -> None:
        await fund(node, BOB)
        plain = await submit(node, ALICE, "transfer", dest=BOB.ss58_address, amount=1)
        tipped = await submit(node, BOB, "transfer", tip=1_000, dest=ALICE.ss58_address, amount=1)
        rec = await node.produce_async()
        assert [x["hash"] for x in rec.extrinsics] == [tipped.hash]
        rec = await node.produce_async()
        assert [x["hash"] for x in rec.extrinsics] == [plain.hash]

    run(main)


# ---- over HTTP: the answers' statuses and JSON bodies ------------------------------------------
def test_http_answers_402_and_429_with_json_bodies() -> None:
    import httpx

    from subnetes.chain.api import create_app

    node = make_node(PoolLimits(per_signer=1))
    g = node.ledger.genesis_hash
    tx = {"dest": BOB.ss58_address, "amount": 1}

    async def main() -> None:
        transport = httpx.ASGITransport(app=create_app(node))
        async with httpx.AsyncClient(transport=transport, base_url="http://chain") as h:

            async def post(body: dict[str, Any]) -> httpx.Response:
                return await h.post("/v1/extrinsics", params={"wait": "false"}, json=body)

            r = await post(sign(key("http-broke"), "transfer", tx, 0, g))
            assert r.status_code == 402 and r.json()["error"] == "CannotPayFee", r.text
            assert (await post(sign(ALICE, "transfer", tx, 0, g))).status_code == 202
            r = await post(sign(ALICE, "transfer", tx, 0, g, tip=1))
            assert r.status_code == 429 and r.json()["error"] == "TooManyPending", r.text

    run(main)


def test_every_call_with_fees_on_keeps_the_ledger_balanced(consensus_fn: Any) -> None:
    """The wire contract's scenario (every call that emits an event, two epochs) with fees on:
    each applied extrinsic that pays has exactly one FeePaid event whose amount the signer lost
    and the issuance lost; the free ones (registered hotkeys' weights and axon, the faucet,
    burned_register, sudo) have none; balances + stake + locks == issuance throughout."""
    from subnetes.chain.fees import fee_of

    from .conftest import Net
    from .test_fuzz import _conserved
    from .test_wire_contract import scenario

    net = Net(dev_config(**FEES), consensus_fn)
    fees: dict[str, int] = {}  # extrinsic hash -> fee + tip, judged on the state before it
    step = net.ledger.step

    def judged(xts: Any) -> Any:
        for xt, _ in xts:
            fees[xt.hash] = fee_of(net.st, xt)
        rec, outs = step(xts)
        assert _conserved(net.st)
        return rec, outs

    net.ledger.step = judged  # type: ignore[method-assign]
    blocks = scenario(net)
    paid = free = 0
    for rec in blocks:
        for i, x in enumerate(rec.extrinsics):
            got = [e for e in rec.events if e["type"] == "FeePaid" and e["extrinsic"] == i]
            if fees[x["hash"]]:
                assert [e["fee"] + e["tip"] for e in got] == [fees[x["hash"]]], x["call"]
                assert got[0]["who"] == x["signer"]
                paid += 1
            else:
                assert got == [], x["call"]
                free += 1
    assert paid >= 8 and free >= 5, (paid, free)
