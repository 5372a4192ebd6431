"""The block audit (ledger_audit.py) sees an extrinsic applied twice; conservation does not."""

from __future__ import annotations

import pytest

from subnetes.chain.context import Ctx
from subnetes.chain.rules.balances import faucet
from subnetes.chain.units import tao

from .conftest import Net, key
from .ledger_audit import audit
from .test_service import conservation


def blocks_of(net: Net) -> list[dict]:
    storage = net.ledger.storage
    if storage is None:
        raise AssertionError("the audit test needs stored blocks")
    return [storage.block(n).to_json() for n in range(net.block + 1)]  # type: ignore[union-attr]


def test_a_faucet_applied_twice_passes_conservation_but_not_the_audit(make_net, tmp_path) -> None:
    net: Net = make_net(db=str(tmp_path / "audit.db"))
    kps = [key(f"audit{i}") for i in range(3)]
    for i, kp in enumerate(kps):
        net.ok(kp, "faucet", amount=tao(1 + i))
    net.ok(kps[0], "transfer", dest=kps[1].ss58_address, amount=tao(0.5))
    net.step()
    st, addrs = net.st, [kp.ss58_address for kp in kps]
    audit(blocks_of(net), st.g.issuance, st.balance, addrs)  # the honest state passes
    # A restart that re-applies a committed faucet to the state: balance and issuance both grow.
    faucet(st, Ctx(block=net.block), addrs[2], {"amount": tao(3), "dest": None})
    conservation(st)  # the old check cannot tell
    with pytest.raises(AssertionError, match="issuance"):
        audit(blocks_of(net), st.g.issuance, st.balance, addrs)
    with pytest.raises(AssertionError, match=addrs[2]):  # nor could a balance on its own
        audit(blocks_of(net), int(blocks_of(net)[-1]["events"][-1]["issuance"]), st.balance, addrs)
