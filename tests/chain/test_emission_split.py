"""The 18/41/41 split of a subnet's epoch emission (docs/specs/chain.md, "Epochs"), pinned:
the owner cut (subnet_owner_cut = 11796/65535 ≈ 18%) comes off the drained pending emission
first, then Yuma splits the remaining 82% into a miner half and a validator half (41% / 41%).
"""

from __future__ import annotations

from subnetes.chain.emission import owner_cut
from subnetes.chain.params import ChainConfig, dev_config
from subnetes.chain.units import U16_MAX, tao

from .conftest import ALICE, Net, key

OWNER_HK = key("owner-hk")


def test_owner_cut_is_18_percent_floored() -> None:
    assert ChainConfig().subnet_owner_cut == dev_config().subnet_owner_cut == 11_796
    assert abs(11_796 / U16_MAX - 0.18) < 1e-5
    assert owner_cut(10**9, 11_796) == 10**9 * 11_796 // U16_MAX == 179_995_422
    assert owner_cut(0, 11_796) == 0 and owner_cut(65_535, 11_796) == 11_796


def test_epoch_pays_owner_cut_then_miner_half_then_validator_half(make_net) -> None:
    """Two validators weighting two miners: of the drained pending emission the owner coldkey
    gets floor(pending·11796/65535) as balance; the miners' incentive and the validators'
    dividends each are half of the rest (floored per UID, so at most a few rao short)."""
    net: Net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    for name in ("v1", "v2", "m1", "m2"):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(name).ss58_address)
    net.ok(ALICE, "add_stake", hotkey=key("v1").ss58_address, amount=tao(300))
    net.ok(ALICE, "add_stake", hotkey=key("v2").ss58_address, amount=tao(100))
    net.run_to(net.block + 11)
    for v in ("v1", "v2"):
        net.ok(key(v), "set_weights", netuid=1, uids=[3, 4], values=[3, 1])
    net.run_to(net.block + 11)
    balance0 = net.st.balance(ALICE.ss58_address)
    events = net.run_to(net.block + 11)
    ev = next(e for e in events if e["type"] == "EpochResult" and e["netuid"] == 1)
    pending, cut = ev["pending"], ev["owner_cut"]
    assert pending > 0
    assert cut == pending * 11_796 // U16_MAX  # the cut comes first, off the whole pending
    assert net.st.balance(ALICE.ss58_address) - balance0 == cut  # as free balance
    rest = pending - cut
    miners = sum(r["server_emission"] for r in ev["uids"])
    validators = sum(r["validator_emission"] for r in ev["uids"])
    n = len(ev["uids"])
    assert rest // 2 - n <= miners <= rest // 2
    assert rest // 2 - n <= validators <= rest - rest // 2
    assert {r["uid"] for r in ev["uids"] if r["server_emission"]} == {3, 4}
    assert {r["uid"] for r in ev["uids"] if r["validator_emission"]} == {1, 2}
    assert ev["distributed"] == miners + validators
    # As fractions of the whole: 18% / 41% / 41%.
    for part, share in ((cut, 0.18), (miners, 0.41), (validators, 0.41)):
        assert abs(part / pending - share) < 1e-4, (part, pending)
