"""How a Validator's stake follows spec.stake: top up, keep dividends, return on a lowered spec."""

import contextlib
from types import SimpleNamespace

import pytest
from bittensor_wallet import Keypair

from subnetes.operator.chainlink import ChainError
from subnetes.operator.neuron_run import NeuronRun
from subnetes.operator.stake import ensure_stake, stake_change
from subnetes.operator.status import NeuronView, neuron_status
from subnetes.operator.steps import Wait

TAO = 10**9
COLDKEY = Keypair.create_from_uri("//Alice")


@pytest.mark.parametrize(
    ("want", "have", "target", "change"),
    [
        # First apply, or spec.stake raised: top up to the level (a rerun adds nothing more).
        (100 * TAO, 0, None, 100 * TAO),
        (100 * TAO, 40 * TAO, 100 * TAO, 60 * TAO),
        (150 * TAO, 100 * TAO, 100 * TAO, 50 * TAO),
        (150 * TAO, 150 * TAO, 100 * TAO, 0),
        # Dividends above spec.stake stay while spec.stake is unchanged or raised.
        (100 * TAO, 107 * TAO, 100 * TAO, 0),
        (105 * TAO, 107 * TAO, 100 * TAO, 0),
        # Objects from before status.stakeTarget: no target counts as unchanged (no sweep).
        (100 * TAO, 107 * TAO, None, 0),
        # Lowered below what was applied: back to exactly the new value, dividends included.
        (60 * TAO, 107 * TAO, 100 * TAO, -47 * TAO),
        (0, 107 * TAO, 100 * TAO, -107 * TAO),
        # Lowered, but the coldkey already holds no more than that: nothing to return.
        (60 * TAO, 60 * TAO, 100 * TAO, 0),
        # Lowered, and the stake fell below even that (removed elsewhere): top up again.
        (60 * TAO, 50 * TAO, 100 * TAO, 10 * TAO),
    ],
)
def test_stake_change(want: int, have: int, target: int | None, change: int) -> None:
    assert stake_change(want, have, target) == change


def test_stake_change_is_a_level() -> None:
    """Applying the change and deciding again (a restart before status is written) is a no-op."""
    for want, have, target in [(150, 100, 100), (60, 107, 100), (100, 0, None)]:
        after = have + stake_change(want, have, target)
        assert after == want
        assert stake_change(want, after, target) == 0


class FakeChain:
    """The chain calls ensure_stake makes; ``refuse`` names a call to refuse."""

    def __init__(self, stake: int, refuse: str | None = None) -> None:
        self.stake, self.refuse, self.calls = stake, refuse, []

    async def hotkey(self, ss58: str) -> dict:
        stakes = [{"coldkey": COLDKEY.ss58_address, "amount": self.stake}]
        return {"stakes": stakes, "total_stake": self.stake, "take": None}

    async def _move(self, name: str, amount: int) -> dict:
        self.calls.append((name, amount))
        if name == self.refuse:
            raise ChainError("NotEnoughStakeToWithdraw", "cannot remove")
        self.stake += amount if name == "add_stake" else -amount
        return {}

    async def add_stake(self, coldkey: Keypair, hotkey: str, amount: int) -> dict:
        return await self._move("add_stake", amount)

    async def remove_stake(self, coldkey: Keypair, hotkey: str, amount: int) -> dict:
        return await self._move("remove_stake", amount)


class FakeKube:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def event(self, body: dict, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))


class FakeRuntime:
    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain
        self.kube = FakeKube()
        self.config = SimpleNamespace(retry_delay=2.0)

    @contextlib.asynccontextmanager
    async def unslotted(self):
        yield


async def ensure(chain: FakeChain, stake: str, target: str | None) -> tuple:
    views: list[NeuronView] = []
    spec = {"stake": stake, "coldkeySecretRef": {"name": "c"}}
    body = {"metadata": {"namespace": "ns", "name": "v", "generation": 1}, "spec": spec}
    run = NeuronRun.begin("Validator", body, {}, 2.0)
    run.hotkey, run.hotkey_secret, run.netuid = "hk", "s", 1
    rt = FakeRuntime(chain)
    result = await ensure_stake(rt, run, COLDKEY, target)
    if isinstance(result, Wait):  # the reconcile writes this view and comes back later
        views.append(result.view)
        return None, views
    chain.events = rt.kube.events
    return result, views


async def test_lowered_stake_is_removed_and_recorded() -> None:
    chain = FakeChain(107 * TAO)
    result, views = await ensure(chain, "60", "100.000000000")
    assert chain.calls == [("remove_stake", 47 * TAO)] and chain.stake == 60 * TAO
    assert result == (60 * TAO, "60.000000000") and views == []
    assert chain.events == [
        ("Normal", "StakeRemoved", "Returned 47.000000000 TAO of stake to the coldkey "
         "(spec.stake 60).")
    ]  # fmt: skip
    # Unchanged spec.stake (or an old object without stakeTarget): dividends stay.
    for target in ("60.000000000", None):
        chain = FakeChain(65 * TAO)
        assert (await ensure(chain, "60", target))[0] == (65 * TAO, "60.000000000")
        assert chain.calls == []


async def test_refused_unstake_is_stalled_and_not_recorded() -> None:
    chain = FakeChain(107 * TAO, refuse="remove_stake")
    result, views = await ensure(chain, "60", "100.000000000")
    assert result is None  # Wait: status.stakeTarget keeps 100, so the next run tries again
    (view,) = views
    assert view.problem is not None and view.problem[0] == "UnstakeFailed"
    assert "remove_stake" in view.problem[1] and view.phase == "Registered"
    status = neuron_status(view, {}, "2026-01-01T00:00:00Z")
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "UnstakeFailed"
