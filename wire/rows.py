"""Typed rows that cross the wire: metagraph (neuron) rows and epoch-result rows.

``TypedDict``s: at run time a row stays the plain JSON dict the chain has always served (so
hashes of blocks and events do not change), while readers, the type checker and the chain's
OpenAPI document (FastAPI reads these as response models) see one declaration. Amounts are
rao (int); rank/trust/consensus/incentive/dividends/validator_trust/pruning_score are u16
fractions (parts of 65535); block numbers are ints, ``-1`` meaning "never".
"""

# No ``from __future__ import annotations``: TypedDict must see NotRequired[...] unquoted
# to tell optional keys from required ones.
from typing import NotRequired

from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only on Python >= 3.12


class AxonRow(TypedDict):
    """Where a neuron serves, as recorded by serve_axon."""

    block: int
    ip: str
    port: int
    ip_type: int
    protocol: int
    version: int


class UidScores(TypedDict):
    """What an epoch decides for one UID: the fields a metagraph row and an epoch-result row
    share (declared once here, built once by ``subnetes.chain.views.uid_scores``)."""

    uid: int
    hotkey: str
    stake: int  # rao staked on the hotkey (all coldkeys)
    active: bool
    validator_permit: bool
    rank: int
    trust: int
    consensus: int
    incentive: int
    dividends: int
    validator_trust: int
    pruning_score: int
    emission: int  # rao this UID earned in its subnet's last epoch
    total_emission: int  # rao, cumulative over this registration's epochs
    weights_block: int  # block of the last set_weights (or commit); -1: never


class NeuronRow(UidScores):
    """One UID of a subnet's metagraph (``GET /v1/subnets/{netuid}/metagraph`` and
    ``GET /v1/subnets/{netuid}/neurons/{uid}``)."""

    coldkey: str | None
    last_update: int  # block of the last set_weights, or of the registration
    registered_at: int
    immune_until: int
    immune: bool
    axon: AxonRow | None
    # (uid, u16 weight) pairs, sorted by uid; absent from a lite metagraph's rows (?lite=true)
    weights: NotRequired[list[tuple[int, int]]]


class MetagraphRow(TypedDict):
    """A subnet's metagraph at ``block``."""

    netuid: int
    block: int
    n: int
    neurons: list[NeuronRow]


class EpochUidRow(UidScores):
    """One UID's outcome of an epoch (in the ``EpochResult`` event's ``uids``): its scores
    after the epoch, and the parts of this epoch's emission it earned serving (incentive) and
    validating (dividends)."""

    server_emission: int  # rao
    validator_emission: int  # rao
