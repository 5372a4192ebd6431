"""Scenarios from the spec, each run for a Yuma 2 and a Yuma 3 copy of the subnet in one batch."""

from __future__ import annotations

import numpy as np
import pytest

from .network import Network

A, B, C, D = 0, 1, 2, 3  # validators (as many as a scenario uses)
VERSIONS = {"yuma_version": [2, 3]}


def relative_dividends(net: Network, stakes: list[float], first: int = 1) -> np.ndarray:
    """Sum of dividends per unit of stake from epoch ``first`` on, [copy, validator]."""
    total = sum(o.dividends[:, : len(stakes)] for o in net.history[first:])
    return total / np.asarray(stakes)


def test_kappa_moves_first() -> None:
    """The big validator (> kappa) moves to a new miner first: incentive follows it at once, and
    the validators that follow later earn less per unit of stake (yuma-simulation case 1)."""
    stakes = [0.8, 0.1, 0.1]
    s1, s2 = 3, 4
    net = Network(stakes, n_uids=5, **VERSIONS)
    schedule = {0: (s1, s1, s1), 1: (s2, s1, s1), 2: (s2, s2, s1)}
    for epoch in range(12):
        for v, m in zip((A, B, C), schedule.get(epoch, (s2, s2, s2)), strict=True):
            net.set_weights(v, {m: 1.0})
        out = net.step()
        if epoch == 1:
            np.testing.assert_allclose(out.incentive[:, s2], 1.0)
            np.testing.assert_allclose(out.incentive[:, s1], 0.0)
            np.testing.assert_allclose(out.consensus[:, s2], 1.0)
    rel = relative_dividends(net, stakes)
    assert np.all(rel[:, A] > rel[:, B]) and np.all(rel[:, B] > rel[:, C]), rel


def test_late_copier_earns_fewer_dividends() -> None:
    """Two validators of equal stake: the one copying the consensus three epochs late earns less."""
    stakes = [0.6, 0.2, 0.2]
    s1, s2 = 3, 4
    net = Network(stakes, n_uids=5, **VERSIONS)
    for epoch in range(12):
        late = s1 if epoch < 4 else s2
        for v, m in ((A, s1 if epoch == 0 else s2), (B, s1 if epoch == 0 else s2), (C, late)):
            net.set_weights(v, {m: 1.0})
        net.step()
    rel = relative_dividends(net, stakes)
    assert np.all(rel[:, B] > rel[:, C] * 1.05), rel
    assert np.all(net.history[-1].validator_trust[:, C] == net.history[-1].validator_trust[:, B])


def test_deviating_validator_gets_lower_trust_and_dividends() -> None:
    stakes = [0.25, 0.25, 0.25, 0.25]
    s1, s2 = 4, 5
    net = Network(stakes, n_uids=6, **VERSIONS)
    for _ in range(8):
        for v in (A, B, C):
            net.set_weights(v, {s1: 0.5, s2: 0.5})
        net.set_weights(D, {s1: 1.0})
        out = net.step()
    assert np.all(out.validator_trust[:, D] < out.validator_trust[:, A] - 0.4)
    assert np.all(out.dividends[:, D] < out.dividends[:, A])
    np.testing.assert_allclose(out.consensus[:, [s1, s2]], 0.5)


def test_minority_below_kappa_cannot_raise_its_miner() -> None:
    """Validators holding 40% (< kappa) weight only their own miner; the majority does not."""
    stakes = [0.6, 0.3, 0.1]
    honest, own = 3, 4
    net = Network(stakes, n_uids=5, **VERSIONS)
    for _ in range(5):
        net.set_weights(A, {honest: 1.0})
        net.set_weights(B, {own: 1.0})
        net.set_weights(C, {own: 1.0})
        out = net.step()
        np.testing.assert_array_equal(out.incentive[:, own], 0.0)
        np.testing.assert_array_equal(out.consensus[:, own], 0.0)
        np.testing.assert_allclose(out.incentive[:, honest], 1.0)


def test_deregistered_uid_bonds_are_gone() -> None:
    stakes = [0.5, 0.3, 0.2]
    s1, s2 = 3, 4
    net = Network(stakes, n_uids=5, **VERSIONS)
    for _ in range(5):
        for v in (A, B, C):
            net.set_weights(v, {s1: 0.5, s2: 0.5})
        net.step()
    built = net.bond_matrix(1)[:3, s2].copy()
    assert np.all(built > 0.15)
    net.register(s2)  # a new occupant: the old weights on s2 are outdated, its column resets
    out = net.step()
    assert not np.any(out.bonds[:, :, s2]) and not np.any(net.bonds[:, :, s2])
    assert np.all(out.incentive[:, s2] == 0) and np.all(out.bonds[:, :3, s1] > 0)
    for v in (A, B, C):  # weights set after the registration count again, bonds restart at 0
        net.set_weights(v, {s1: 0.5, s2: 0.5})
    net.step()
    assert np.all(net.bond_matrix(1)[:3, s2] < built)
    assert np.all(net.bond_matrix(1)[:3, s2] > 0)


@pytest.mark.parametrize("enabled", [True, False])
def test_bonds_reset(enabled: bool) -> None:
    stakes = [0.5, 0.5]
    s1 = 2
    net = Network(stakes, n_uids=3, bonds_reset_enabled=[enabled, enabled], **VERSIONS)
    for _ in range(6):
        for v in (A, B):
            net.set_weights(v, {s1: 1.0})
        net.step()
    before = net.bond_matrix(1)[:2, s1].copy()
    net.reset[:, s1] = True
    net.step()
    after = net.bond_matrix(1)[:2, s1]
    if enabled:  # Yuma 3: Bn = alpha * Wb with alpha = 0.1 from zero bonds
        np.testing.assert_allclose(after, 0.1, atol=1 / 65535)
    else:
        assert np.all(after >= before)


def test_permits_lag_one_epoch() -> None:
    """A newly staked validator gets its permit from this epoch but counts from the next."""
    net = Network([0.5, 0.5], n_uids=4, **VERSIONS)
    miner, other = 2, 3
    for _ in range(3):
        net.set_weights(A, {miner: 1.0})
        net.set_weights(B, {miner: 1.0})
        net.step()
    net.stake[:, other] = 2e12  # a big new validator on the other UID
    net.set_weights(other, {other - 1: 1.0})
    out = net.step()
    assert np.all(out.validator_permit[:, other])
    assert np.all(out.dividends[:, other] == 0) and np.all(out.validator_trust[:, other] == 0)
    out = net.step()
    assert np.all(out.validator_trust[:, other] > 0)


def test_no_weights_falls_back_to_active_stake() -> None:
    net = Network([0.75, 0.25], n_uids=3, **VERSIONS)
    net.set_weights(A, {2: 1.0})
    net.set_weights(B, {2: 1.0})
    for _ in range(3):
        net.step()
    net.weights[:] = 0
    out = net.step()
    np.testing.assert_array_equal(out.incentive, 0)
    np.testing.assert_array_equal(out.server_share, 0)
    np.testing.assert_allclose(out.validator_share[:, :2], [[0.75, 0.25]] * 2)
    np.testing.assert_allclose(out.combined_share[:, :2], [[0.75, 0.25]] * 2)
    # Yuma 2 bonds persist (column re-normalized), Yuma 3 bonds decay by (1 - alpha).
    assert out.bonds_u16[0, 0, 2] >= 65534 and out.bonds[1, 0, 2] < net.history[-2].bonds[1, 0, 2]


def test_single_validator() -> None:
    net = Network([1.0], n_uids=4, **VERSIONS)
    for _ in range(3):
        net.set_weights(A, {1: 0.2, 2: 0.3, 3: 0.5})
        out = net.step()
    w = np.array([0.2, 0.3, 0.5]) * 65535 / 0.5
    np.testing.assert_allclose(out.consensus[:, 1:4], [np.round(w) / np.round(w).sum()] * 2)
    np.testing.assert_allclose(out.incentive[:, 1:4], out.consensus[:, 1:4])
    np.testing.assert_allclose(out.dividends[:, 0], 1.0)
