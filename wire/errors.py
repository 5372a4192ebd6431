"""Chain errors, declared once: the one ``ChainError`` class and the list of error names.

Every refusal the chain answers is ``{"error": <name>, "message": <text>}``; ``name`` follows
Subtensor's error names where one exists. The chain raises :class:`ChainError` from its rules,
the clients raise it for a refusal they receive, and the SDK's workloads tell the two kinds
apart through the subclasses :class:`ChainUnavailable` (retry with backoff) and
:class:`ChainRejected` (the chain said no; retrying now won't help).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NoReturn


class ErrorName(StrEnum):
    """Every error name the chain (and its clients, for transport trouble) can answer.

    A ``StrEnum``: members compare equal to, hash like and serialize as their plain names, so
    ``e.name == "StaleNonce"`` and JSON bodies keep working unchanged.
    """

    # -- the request itself (HTTP layer, extrinsic shape, signature, nonce) --
    MALFORMED_JSON = "MalformedJSON"
    MALFORMED_EXTRINSIC = "MalformedExtrinsic"
    INVALID_REQUEST = "InvalidRequest"
    INVALID_ARGUMENTS = "InvalidArguments"
    INVALID_ADDRESS = "InvalidAddress"
    UNKNOWN_CALL = "UnknownCall"
    INVALID_SIGNER = "InvalidSigner"
    WRONG_GENESIS = "WrongGenesis"
    BAD_SIGNATURE = "BadSignature"
    STALE_NONCE = "StaleNonce"
    FUTURE_NONCE = "FutureNonce"
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"
    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_MANUAL = "NotManual"
    MALFORMED_HTTP = "MalformedHTTP"  # not HTTP/1.1 the server could parse (uvicorn's 400)
    REQUEST_TIMEOUT = "RequestTimeout"  # request headers or body stalled (408)
    # -- the service (worth retrying) --
    QUEUE_FULL = "QueueFull"
    TOO_MANY_PENDING = "TooManyPending"  # the signer has its limit of extrinsics waiting
    BLOCK_PRODUCTION_FAILED = "BlockProductionFailed"
    NOT_READY = "NotReady"
    INTERNAL_ERROR = "InternalError"
    HTTP_ERROR = "HTTPError"  # a non-JSON error answer (proxy, crash): set by the clients
    SERVICE_UNAVAILABLE = "ServiceUnavailable"
    CHAIN_UNAVAILABLE = "ChainUnavailable"  # the chain could not be reached (SDK)
    # -- permissions --
    NOT_SUDO = "NotSudo"
    NOT_SUBNET_OWNER = "NotSubnetOwner"
    NON_ASSOCIATED_COLD_KEY = "NonAssociatedColdKey"
    # -- balances --
    AMOUNT_TOO_LOW = "AmountTooLow"
    INSUFFICIENT_BALANCE = "InsufficientBalance"
    CANNOT_PAY_FEE = "CannotPayFee"  # free balance below the fee (+ tip) of what is pending
    CANNOT_AFFORD_LOCK_COST = "CannotAffordLockCost"
    NOT_ENOUGH_BALANCE_TO_STAKE = "NotEnoughBalanceToStake"
    FAUCET_DISABLED = "FaucetDisabled"
    FAUCET_AMOUNT_TOO_HIGH = "FaucetAmountTooHigh"
    # -- subnets --
    SUB_NETWORK_DOES_NOT_EXIST = "SubNetworkDoesNotExist"
    SUB_NET_REGISTRATION_DISABLED = "SubNetRegistrationDisabled"
    ROOT_NETWORK_NOT_ALLOWED = "RootNetworkNotAllowed"
    NETWORK_TX_RATE_LIMIT_EXCEEDED = "NetworkTxRateLimitExceeded"
    LOCK_COST_EXCEEDS_LIMIT = "LockCostExceedsLimit"
    ALL_NETWORKS_IN_IMMUNITY = "AllNetworksInImmunity"
    INVALID_HYPERPARAMETER = "InvalidHyperparameter"
    MAX_ALLOWED_UIDS_LESS_THAN_CURRENT_UIDS = "MaxAllowedUidsLessThanCurrentUids"
    # -- registration --
    HOT_KEY_ALREADY_REGISTERED_IN_SUB_NET = "HotKeyAlreadyRegisteredInSubNet"
    HOT_KEY_NOT_REGISTERED_IN_SUB_NET = "HotKeyNotRegisteredInSubNet"
    HOT_KEY_ACCOUNT_NOT_EXISTS = "HotKeyAccountNotExists"
    REGISTRATION_NOT_PERMITTED_ON_ROOT_SUBNET = "RegistrationNotPermittedOnRootSubnet"
    TOO_MANY_REGISTRATIONS_THIS_BLOCK = "TooManyRegistrationsThisBlock"
    TOO_MANY_REGISTRATIONS_THIS_INTERVAL = "TooManyRegistrationsThisInterval"
    BURN_EXCEEDS_LIMIT = "BurnExceedsLimit"
    NO_NEURON_ID_AVAILABLE = "NoNeuronIdAvailable"
    STAKE_TOO_LOW_FOR_ROOT = "StakeTooLowForRoot"
    UID_NOT_FOUND = "UidNotFound"
    # -- serving --
    INVALID_IP_ADDRESS = "InvalidIpAddress"
    INVALID_PORT = "InvalidPort"
    SERVING_RATE_LIMIT_EXCEEDED = "ServingRateLimitExceeded"
    # -- staking --
    NOT_ENOUGH_STAKE_TO_WITHDRAW = "NotEnoughStakeToWithdraw"
    DELEGATE_TAKE_TOO_HIGH = "DelegateTakeTooHigh"
    DELEGATE_TX_RATE_LIMIT_EXCEEDED = "DelegateTxRateLimitExceeded"
    # -- weights --
    NEURON_NO_VALIDATOR_PERMIT = "NeuronNoValidatorPermit"
    NOT_ENOUGH_STAKE_TO_SET_WEIGHTS = "NotEnoughStakeToSetWeights"
    INCORRECT_WEIGHT_VERSION_KEY = "IncorrectWeightVersionKey"
    SETTING_WEIGHTS_TOO_FAST = "SettingWeightsTooFast"
    WEIGHT_VEC_NOT_EQUAL_SIZE = "WeightVecNotEqualSize"
    WEIGHT_VEC_LENGTH_IS_LOW = "WeightVecLengthIsLow"
    DUPLICATE_UIDS = "DuplicateUids"
    UID_VEC_CONTAIN_INVALID_ONE = "UidVecContainInvalidOne"
    UIDS_LENGTH_EXCEED_UIDS_IN_SUB_NET = "UidsLengthExceedUidsInSubNet"
    MAX_WEIGHT_EXCEEDED = "MaxWeightExceeded"
    COMMIT_REVEAL_ENABLED = "CommitRevealEnabled"
    COMMIT_REVEAL_DISABLED = "CommitRevealDisabled"
    TOO_MANY_UNREVEALED_COMMITS = "TooManyUnrevealedCommits"
    NO_WEIGHTS_COMMIT_FOUND = "NoWeightsCommitFound"
    REVEAL_TOO_EARLY = "RevealTooEarly"
    EXPIRED_WEIGHT_COMMIT = "ExpiredWeightCommit"
    # -- governance (senate and proposals) --
    NOT_SENATE_MEMBER = "NotSenateMember"
    PROPOSAL_CALL_NOT_ALLOWED = "ProposalCallNotAllowed"  # not on the allow-list
    INVALID_NETWORK_PARAMETER = "InvalidNetworkParameter"
    DUPLICATE_PROPOSAL = "DuplicateProposal"  # the same change is already open
    TOO_MANY_PROPOSALS = "TooManyProposals"
    PROPOSAL_MISSING = "ProposalMissing"
    PROPOSAL_EXPIRED = "ProposalExpired"  # its voting period ended
    PROPOSAL_NOT_OPEN = "ProposalNotOpen"  # executed, rejected or failed
    DUPLICATE_VOTE = "DuplicateVote"  # the member already voted this way


# HTTP status of each error answer; every other (rule) refusal answers 422.
HTTP_STATUS: dict[str, int] = {
    ErrorName.MALFORMED_JSON: 400,
    ErrorName.MALFORMED_EXTRINSIC: 400,
    ErrorName.INVALID_ARGUMENTS: 400,
    ErrorName.UNKNOWN_CALL: 400,
    ErrorName.INVALID_SIGNER: 400,
    ErrorName.WRONG_GENESIS: 400,
    ErrorName.BAD_SIGNATURE: 401,
    ErrorName.STALE_NONCE: 409,
    ErrorName.FUTURE_NONCE: 409,
    ErrorName.NOT_SUDO: 403,
    ErrorName.NOT_SUBNET_OWNER: 403,
    ErrorName.NOT_SENATE_MEMBER: 403,
    ErrorName.NON_ASSOCIATED_COLD_KEY: 403,
    ErrorName.PAYLOAD_TOO_LARGE: 413,
    ErrorName.MALFORMED_HTTP: 400,
    ErrorName.REQUEST_TIMEOUT: 408,
    ErrorName.QUEUE_FULL: 429,
    ErrorName.TOO_MANY_PENDING: 429,
    ErrorName.CANNOT_PAY_FEE: 402,
    ErrorName.BLOCK_PRODUCTION_FAILED: 503,
    ErrorName.NOT_FOUND: 404,
    ErrorName.INVALID_ADDRESS: 400,
}
RULE_STATUS = 422

# Names that mean "the service could not answer", not "the service said no": retry these.
UNAVAILABLE: frozenset[str] = frozenset(
    {
        ErrorName.HTTP_ERROR,
        ErrorName.NOT_READY,
        ErrorName.INTERNAL_ERROR,
        ErrorName.SERVICE_UNAVAILABLE,
    }
)


def http_status(name: str) -> int:
    """HTTP status of an error answer named ``name`` (4xx/5xx; rule violations: 422)."""
    return HTTP_STATUS.get(name, RULE_STATUS)


class ChainError(Exception):
    """The chain refused or could not answer; ``name`` is one of :class:`ErrorName`."""

    def __init__(self, name: str, message: str) -> None:
        name = str(name)  # a plain str, also when given an ErrorName member
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The HTTP/JSON form ``{"error", "message"}``."""
        return {"error": self.name, "message": self.message}


class ChainUnavailable(ChainError):
    """The chain could not be reached (connection, timeout, 5xx): worth retrying with backoff."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorName.CHAIN_UNAVAILABLE, message)


class ChainRejected(ChainError):
    """The chain answered and refused (e.g. ``SettingWeightsTooFast``): retrying now won't help."""


def fail(name: str, message: str) -> NoReturn:
    """Raise a :class:`ChainError` (a small helper that keeps rule code one line per check)."""
    raise ChainError(name, message)


def require(cond: object, name: str, message: str) -> None:
    """Raise ``ChainError(name, message)`` unless ``cond`` holds."""
    if not cond:
        raise ChainError(name, message)
