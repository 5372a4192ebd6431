"""Typed rows that cross the wire: metagraph (neuron) rows and epoch-result rows.

``TypedDict``s: at run time a row stays the plain JSON dict the chain has always served (so
hashes of blocks and events do not change), while readers, the type checker and the chain's
OpenAPI document (FastAPI reads these as response models) see one declaration. Amounts are
rao (int); rank/trust/consensus/incentive/dividends/validator_trust/pruning_score are u16
fractions (parts of 65535); block numbers are ints, ``-1`` meaning "never".
"""

from __future__ import annotations

from typing import TypedDict


class AxonRow(TypedDict):
    """Where a neuron serves, as recorded by serve_axon."""

    block: int
    ip: str
    port: int
    ip_type: int
    protocol: int
    version: int


class NeuronRow(TypedDict):
    """One UID of a subnet's metagraph (``GET /v1/subnets/{netuid}/metagraph``)."""

    uid: int
    hotkey: str
    coldkey: str | None
    stake: int
    rank: int
    trust: int
    consensus: int
    incentive: int
    dividends: int
    validator_trust: int
    emission: int  # rao this UID earned in its subnet's last epoch
    total_emission: int  # rao, cumulative over this registration's epochs
    pruning_score: int
    validator_permit: bool
    active: bool
    last_update: int  # block of the last set_weights, or of the registration
    weights_block: int  # block of the last set_weights (or commit); -1: never
    registered_at: int
    immune_until: int
    immune: bool
    axon: AxonRow | None
    weights: list[tuple[int, int]]  # (uid, u16 weight) pairs, sorted by uid


class MetagraphRow(TypedDict):
    """A subnet's metagraph at ``block``."""

    netuid: int
    block: int
    n: int
    neurons: list[NeuronRow]


class EpochUidRow(TypedDict):
    """One UID's outcome of an epoch (in the ``EpochResult`` event's ``uids``)."""

    uid: int
    hotkey: str
    stake: int
    active: bool
    validator_permit: bool
    rank: int
    trust: int
    consensus: int
    incentive: int
    dividends: int
    validator_trust: int
    pruning_score: int
    emission: int  # rao this epoch (server_emission + validator_emission)
    total_emission: int  # rao, cumulative over this registration's epochs (this one included)
    weights_block: int  # block of the last set_weights (or commit); -1: never
    server_emission: int
    validator_emission: int
