"""Pure rule functions: halvings, lock cost, burn adjustment, prune choice, shares, take."""

from __future__ import annotations

from subnetes.chain.emission import (
    block_emission,
    equal_shares,
    owner_cut,
    root_shares,
    split_dividends,
    subnet_block_emission,
)
from subnetes.chain.registration import (
    Candidate,
    adjust_burn,
    is_immune,
    lock_cost,
    prune_candidate,
    subnet_to_prune,
)
from subnetes.chain.rules.coinbase import epoch_due
from subnetes.chain.units import RAO_PER_TAO, SHARE_ONE, U64_MAX, fmt_tao, tao

T = RAO_PER_TAO


def test_halvings_by_issuance() -> None:
    assert block_emission(0) == T
    assert block_emission(tao(10_500_000) - 1) == T
    assert block_emission(tao(10_500_000)) == T // 2
    assert block_emission(tao(15_750_000) - 1) == T // 2
    assert block_emission(tao(15_750_000)) == T // 4
    assert block_emission(tao(18_375_000)) == T // 8
    assert block_emission(tao(21_000_000)) == 0
    assert block_emission(tao(30_000_000)) == 0


def test_owner_cut_is_18_percent() -> None:
    assert owner_cut(65535, 11796) == 11796
    assert owner_cut(T, 11796) == T * 11796 // 65535


def test_lock_cost_doubles_and_decays_linearly() -> None:
    m = tao(100)
    assert lock_cost(0, 0, None, m, 1000) == m  # first registration: the minimum
    assert lock_cost(10, m, 10, m, 1000) == 2 * m  # right after: doubled
    assert lock_cost(510, m, 10, m, 1000) == 2 * m - (m // 1000) * 500
    assert lock_cost(1010, m, 10, m, 1000) == m  # back to the paid price after one interval
    assert lock_cost(5000, m, 10, m, 1000) == m  # floor


def test_burn_adjustment() -> None:
    alpha = int(0.97 * U64_MAX)
    b = T
    up = adjust_burn(b, regs=3, target=1, alpha_u64=alpha, min_burn=1, max_burn=100 * T)
    down = adjust_burn(b, regs=0, target=1, alpha_u64=alpha, min_burn=1, max_burn=100 * T)
    same = adjust_burn(b, regs=1, target=1, alpha_u64=alpha, min_burn=1, max_burn=100 * T)
    assert down < same <= b < up
    assert abs(up - int(0.97 * b + 0.03 * 2 * b)) <= 2
    assert adjust_burn(b, 100, 1, 0, 1, 2 * T) == 2 * T  # clamped to max
    assert adjust_burn(b, 0, 1, 0, T, 2 * T) == T  # clamped to min
    assert adjust_burn(b, 5, 0, alpha, 1, 100 * T) == b  # no target: unchanged


def test_prune_candidate_rules() -> None:
    c = [
        Candidate(0, 0, 0, immune=False, protected=True),  # owner: never
        Candidate(1, 5, 3, immune=False),
        Candidate(2, 5, 2, immune=False),  # same score, earlier registration -> chosen
        Candidate(3, 1, 9, immune=True),  # immune, lower score: not chosen
    ]
    assert prune_candidate(c) == 2
    all_immune = [Candidate(1, 7, 1, True), Candidate(2, 3, 2, True), Candidate(3, 3, 2, True)]
    assert prune_candidate(all_immune) == 2  # lowest among immune; tie -> lowest uid
    assert prune_candidate([Candidate(0, 0, 0, False, protected=True)]) is None
    assert is_immune(10, 5, 6) and not is_immune(11, 5, 6)


def test_subnet_to_prune() -> None:
    c = [
        Candidate(1, 10, 0, False),
        Candidate(2, 3, 5, False),
        Candidate(3, 3, 4, False),
        Candidate(4, 0, 9, True),
    ]
    assert subnet_to_prune(c) == 3
    assert subnet_to_prune([Candidate(1, 0, 0, True)]) is None


def test_epoch_schedule() -> None:
    assert epoch_due(359, 1, 360) and epoch_due(720, 1, 360)
    assert epoch_due(358, 2, 360) and not epoch_due(359, 2, 360)
    assert not any(epoch_due(b, 1, 0) for b in range(1000))  # tempo 0 disables
    assert [b for b in range(40) if epoch_due(b, 1, 10)] == [9, 20, 31]


def test_root_shares() -> None:
    # no root weights -> equal
    assert root_shares([1], [{}], [1, 2], 32767, 10, [1, 2]) == equal_shares([1, 2])
    shares = root_shares([3, 1], [{1: 100, 2: 100}, {2: 100}], [1, 2], 32767, 10, [1, 2])
    assert shares[2] > shares[1] > 0
    assert sum(shares.values()) <= SHARE_ONE
    assert subnet_block_emission(T, SHARE_ONE // 2) == T // 2


def test_split_dividends_take_and_nominators() -> None:
    out = split_dividends(1000, 11796, "own", {"own": 100, "nom": 300})
    take = 1000 * 11796 // 65535
    assert out["own"] == take + (1000 - take) * 100 // 400
    assert out["nom"] == (1000 - take) * 300 // 400
    assert sum(out.values()) <= 1000
    assert split_dividends(500, 0, "own", {}) == {"own": 500}


def test_tao_units() -> None:
    assert tao("1.5") == 1_500_000_000 and tao(2) == 2 * T and tao("0.000000001") == 1
    assert fmt_tao(41_000_000) == "0.041000000"
