"""Chain events, declared once: the kinds the chain emits and the payload of each.

A block's events are plain JSON dicts (hashed into the block's ``events_root`` and served as
they are by ``GET /v1/blocks/{n}`` and the ``/v1/events`` SSE stream, whose ``event:`` field is
the kind). Every event carries ``type`` (its :class:`EventKind`), ``block`` and ``index`` (its
position in the block); events an extrinsic caused carry ``extrinsic`` (its index in the block).
The payload types below are ``TypedDict``s, so the chain keeps emitting plain dicts while
readers, the type checker and the OpenAPI document see one declaration per kind.
"""

# No ``from __future__ import annotations``: TypedDict must see NotRequired[...] unquoted
# to tell optional keys from required ones.
from enum import StrEnum
from typing import Literal, NotRequired

from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only on Python >= 3.12

from .rows import EpochUidRow


class EventKind(StrEnum):
    """Every event type the chain emits (``type`` of an event, ``event:`` of an SSE message)."""

    TRANSFER = "Transfer"
    FEE_PAID = "FeePaid"
    FAUCET = "Faucet"
    BALANCE_SET = "BalanceSet"
    SUBNET_REGISTERED = "SubnetRegistered"
    SUBNET_DEREGISTERED = "SubnetDeregistered"
    HYPERPARAMETER_SET = "HyperparameterSet"
    BONDS_RESET = "BondsReset"
    NEURON_REGISTERED = "NeuronRegistered"
    NEURON_DEREGISTERED = "NeuronDeregistered"
    AXON_SERVED = "AxonServed"
    STAKE_CHANGED = "StakeChanged"
    DELEGATE_TAKE_SET = "DelegateTakeSet"
    WEIGHTS_SET = "WeightsSet"
    WEIGHTS_COMMITTED = "WeightsCommitted"
    EPOCH_RESULT = "EpochResult"
    SENATE_JOINED = "SenateJoined"
    SENATE_LEFT = "SenateLeft"
    PROPOSAL_CREATED = "ProposalCreated"
    VOTED = "Voted"
    PROPOSAL_EXECUTED = "ProposalExecuted"
    PROPOSAL_CLOSED = "ProposalClosed"
    BLOCK = "Block"


# The fields every event has once its block is built. ``type`` is declared by each payload type
# itself (a TypedDict cannot narrow an inherited ``type`` to its own Literal).


class BlockEventFields(TypedDict):
    """Where an event stands: its block and its index among the block's events."""

    block: int
    index: int


class ExtrinsicEventFields(BlockEventFields):
    """An event an extrinsic may cause: ``extrinsic`` is that extrinsic's index in the block."""

    extrinsic: NotRequired[int]


class TransferEvent(ExtrinsicEventFields):
    """``transfer``: ``amount`` rao moved from ``source`` to ``dest``."""

    type: Literal["Transfer"]
    source: str
    dest: str
    amount: int


class FeePaidEvent(ExtrinsicEventFields):
    """Any fee-paying (or tipping) extrinsic: ``fee + tip`` rao taken from ``who`` and burned."""

    type: Literal["FeePaid"]
    who: str
    fee: int
    tip: int


class FaucetEvent(ExtrinsicEventFields):
    """``faucet`` (dev networks): ``amount`` rao minted to ``dest``."""

    type: Literal["Faucet"]
    dest: str
    amount: int


class BalanceSetEvent(ExtrinsicEventFields):
    """``sudo_set_balance``: ``who``'s free balance is now ``amount`` rao."""

    type: Literal["BalanceSet"]
    who: str
    amount: int


class SubnetRegisteredEvent(ExtrinsicEventFields):
    """``register_network``: subnet ``netuid`` created, ``lock`` rao locked from ``owner``."""

    type: Literal["SubnetRegistered"]
    netuid: int
    owner: str
    owner_hotkey: str
    lock: int


class SubnetDeregisteredEvent(ExtrinsicEventFields):
    """A subnet was removed (``reason``: ``"dissolved"`` or ``"pruned"``); its lock returned."""

    type: Literal["SubnetDeregistered"]
    netuid: int
    owner: str | None
    lock_returned: int
    reason: str


class HyperparameterSetEvent(ExtrinsicEventFields):
    """A subnet hyperparameter changed (owner or sudo)."""

    type: Literal["HyperparameterSet"]
    netuid: int
    name: str
    value: bool | int | float


class BondsResetEvent(ExtrinsicEventFields):
    """``reset_bonds``: the bonds of ``uid`` on ``netuid`` were cleared."""

    type: Literal["BondsReset"]
    netuid: int
    uid: int


class NeuronRegisteredEvent(ExtrinsicEventFields):
    """``hotkey`` took ``uid`` on ``netuid`` (``burn``: rao recycled, for burned_register)."""

    type: Literal["NeuronRegistered"]
    netuid: int
    uid: int
    hotkey: str
    burn: NotRequired[int]


class NeuronDeregisteredEvent(ExtrinsicEventFields):
    """``hotkey`` lost ``uid`` on ``netuid`` (replaced, or its subnet was removed)."""

    type: Literal["NeuronDeregistered"]
    netuid: int
    uid: int
    hotkey: str


class AxonServedEvent(ExtrinsicEventFields):
    """``serve_axon``: where ``uid`` on ``netuid`` serves."""

    type: Literal["AxonServed"]
    netuid: int
    uid: int
    hotkey: str
    ip: str
    port: int
    protocol: int


class StakeChangedEvent(ExtrinsicEventFields):
    """``add_stake``/``remove_stake``: ``coldkey``'s stake on ``hotkey`` changed by ``delta``."""

    type: Literal["StakeChanged"]
    hotkey: str
    coldkey: str
    delta: int
    stake: int
    total_stake: int


class DelegateTakeSetEvent(ExtrinsicEventFields):
    """The take (u16 fraction) of ``hotkey`` changed."""

    type: Literal["DelegateTakeSet"]
    hotkey: str
    take: int


class WeightsSetEvent(ExtrinsicEventFields):
    """``set_weights``/``reveal_weights``: ``uid`` set ``count`` weights on ``netuid``."""

    type: Literal["WeightsSet"]
    netuid: int
    uid: int
    hotkey: str
    count: int


class WeightsCommittedEvent(ExtrinsicEventFields):
    """``commit_weights``: ``uid`` committed the hash of its next weights."""

    type: Literal["WeightsCommitted"]
    netuid: int
    uid: int
    hotkey: str
    commit_hash: str


class EpochResultEvent(BlockEventFields):
    """An epoch ran on ``netuid``: ``pending`` rao drained, ``owner_cut`` paid to the owner,
    ``distributed`` minted to the UIDs (per UID in ``uids``)."""

    type: Literal["EpochResult"]
    netuid: int
    pending: int
    owner_cut: int
    distributed: int
    uids: list[EpochUidRow]


class SenateJoinedEvent(BlockEventFields):
    """At the start of a block: ``hotkey`` (a root validator) entered the senate, the top
    ``senate_size`` root validators by stake."""

    type: Literal["SenateJoined"]
    hotkey: str
    stake: int


class SenateLeftEvent(BlockEventFields):
    """At the start of a block: ``hotkey`` left the senate (outranked, unstaked, or no longer a
    root validator); its votes on open proposals were withdrawn."""

    type: Literal["SenateLeft"]
    hotkey: str
    stake: int


class ProposalCreatedEvent(ExtrinsicEventFields):
    """``propose``: proposal ``proposal`` sets network parameter ``name`` (``netuid`` null) or
    subnet ``netuid``'s hyperparameter ``name`` to ``value``; voting closes at block ``end``."""

    type: Literal["ProposalCreated"]
    proposal: int
    proposer: str
    netuid: int | None
    name: str
    value: bool | int | str
    end: int


class VotedEvent(ExtrinsicEventFields):
    """``propose`` (the proposer's aye) or ``vote``: ``hotkey`` voted; the tally after it."""

    type: Literal["Voted"]
    proposal: int
    hotkey: str
    approve: bool
    ayes: int
    nays: int


class ProposalExecutedEvent(ExtrinsicEventFields):
    """Proposal ``proposal`` passed (ayes more than half of the ``senate`` members) and its
    change took effect in this block (in a vote's extrinsic, or at the start of a block)."""

    type: Literal["ProposalExecuted"]
    proposal: int
    netuid: int | None
    name: str
    value: bool | int | str
    ayes: int
    nays: int
    senate: int


class ProposalClosedEvent(ExtrinsicEventFields):
    """Proposal ``proposal`` closed without effect: ``outcome`` ``rejected`` (nays at least half
    of the senate), ``expired`` (its voting period ended) or ``failed`` (it passed, but its
    change was refused when executed: ``error``)."""

    type: Literal["ProposalClosed"]
    proposal: int
    outcome: Literal["rejected", "expired", "failed"]
    ayes: int
    nays: int
    senate: int
    error: NotRequired[str]


class BlockEvent(BlockEventFields):
    """The last event of every block: extrinsics applied, rao emitted, issuance after it."""

    type: Literal["Block"]
    extrinsics: int
    block_emission: int
    issuance: int


Event = (
    TransferEvent
    | FeePaidEvent
    | FaucetEvent
    | BalanceSetEvent
    | SubnetRegisteredEvent
    | SubnetDeregisteredEvent
    | HyperparameterSetEvent
    | BondsResetEvent
    | NeuronRegisteredEvent
    | NeuronDeregisteredEvent
    | AxonServedEvent
    | StakeChangedEvent
    | DelegateTakeSetEvent
    | WeightsSetEvent
    | WeightsCommittedEvent
    | EpochResultEvent
    | SenateJoinedEvent
    | SenateLeftEvent
    | ProposalCreatedEvent
    | VotedEvent
    | ProposalExecutedEvent
    | ProposalClosedEvent
    | BlockEvent
)

# The payload type of each kind (a test checks that every kind has one with a matching Literal).
PAYLOADS: dict[EventKind, type] = {
    EventKind.TRANSFER: TransferEvent,
    EventKind.FEE_PAID: FeePaidEvent,
    EventKind.FAUCET: FaucetEvent,
    EventKind.BALANCE_SET: BalanceSetEvent,
    EventKind.SUBNET_REGISTERED: SubnetRegisteredEvent,
    EventKind.SUBNET_DEREGISTERED: SubnetDeregisteredEvent,
    EventKind.HYPERPARAMETER_SET: HyperparameterSetEvent,
    EventKind.BONDS_RESET: BondsResetEvent,
    EventKind.NEURON_REGISTERED: NeuronRegisteredEvent,
    EventKind.NEURON_DEREGISTERED: NeuronDeregisteredEvent,
    EventKind.AXON_SERVED: AxonServedEvent,
    EventKind.STAKE_CHANGED: StakeChangedEvent,
    EventKind.DELEGATE_TAKE_SET: DelegateTakeSetEvent,
    EventKind.WEIGHTS_SET: WeightsSetEvent,
    EventKind.WEIGHTS_COMMITTED: WeightsCommittedEvent,
    EventKind.EPOCH_RESULT: EpochResultEvent,
    EventKind.SENATE_JOINED: SenateJoinedEvent,
    EventKind.SENATE_LEFT: SenateLeftEvent,
    EventKind.PROPOSAL_CREATED: ProposalCreatedEvent,
    EventKind.VOTED: VotedEvent,
    EventKind.PROPOSAL_EXECUTED: ProposalExecutedEvent,
    EventKind.PROPOSAL_CLOSED: ProposalClosedEvent,
    EventKind.BLOCK: BlockEvent,
}
