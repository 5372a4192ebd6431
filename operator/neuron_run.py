"""The record one reconcile of a Miner or Validator fills in (:class:`NeuronRun`), and what
the neuron steps share: status writes, the coldkey, Secret problems, chain errors that need a
user's action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bittensor_wallet import Keypair

from subnetes.chain.units import tao_to_rao
from subnetes.wire.errors import ErrorName
from subnetes.wire.rows import NeuronRow

from . import conditions as c
from . import metrics
from .keys import SecretKeyError, coldkey_from_secret, new_hotkey
from .manifests import build_hotkey_secret
from .runtime import Key, Runtime
from .status import DEREGISTERED, FAILED, PENDING, NeuronView, PodState, status_patch
from .steps import Outcome, Wait

# Chain errors that need a user's action (Stalled) rather than a retry soon.
USER_ERRORS: dict[str, str] = {
    ErrorName.BURN_EXCEEDS_LIMIT: "BurnAboveLimit",
    ErrorName.NOT_ENOUGH_BALANCE_TO_STAKE: "InsufficientBalance",
    ErrorName.INSUFFICIENT_BALANCE: "InsufficientBalance",
    ErrorName.CANNOT_PAY_FEE: "InsufficientBalance",  # the coldkey cannot pay the chain's fee
    ErrorName.SUB_NET_REGISTRATION_DISABLED: "RegistrationDisabled",
    ErrorName.NO_NEURON_ID_AVAILABLE: "SubnetFull",
    ErrorName.HOT_KEY_ALREADY_REGISTERED_IN_SUB_NET: "HotkeyInUse",
    ErrorName.NON_ASSOCIATED_COLD_KEY: "HotkeyOwnedElsewhere",
}

NeuronOutcome = Outcome[NeuronView]


async def write_status(rt: Runtime, kind: str, ns: str, name: str, old: dict, new: dict) -> bool:
    """Patch only what changed; True when a patch was sent."""
    metrics.observe_status(kind, ns, name, new)  # also unchanged: set after a restart
    patch = status_patch(old, new)
    if patch is None:
        return False
    version = await rt.kube.patch_status(kind, ns, name, patch)
    metrics.STATUS_PATCHES.labels(kind).inc()
    rt.indexes.wrote((kind, ns, name), new, version)
    return True


async def begin_reconcile(rt: Runtime, kind: str, ns: str, name: str) -> tuple[dict, dict] | None:
    """The object and its status for a reconcile, or None when it is gone or being deleted.

    On the first visit it writes ``Ready=Unknown`` before any work, so kstatus waits for us.
    """
    body = await rt.kube.get(kind, ns, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        metrics.observe_status(kind, ns, name, None)
        return None
    old: dict[str, Any] = body.get("status") or {}
    if not old.get("conditions"):
        gen = body["metadata"].get("generation")
        first = {"phase": PENDING, "conditions": c.first_visit(gen, c.now_rfc3339())}
        await write_status(rt, kind, ns, name, old, first)
        old = first
    return body, old


# -- the run's record ---------------------------------------------------------------------------


class ObjectRun:
    """The object a reconcile run works on: its namespace and name, from ``body``."""

    body: dict[str, Any]

    @property
    def ns(self) -> str:
        return self.body["metadata"]["namespace"]

    @property
    def name(self) -> str:
        return self.body["metadata"]["name"]


@dataclass
class NeuronRun(ObjectRun):
    """What one reconcile of a Miner/Validator has learned so far; the steps fill it in order.

    ``old`` is the status the next write is compared with (it moves on when a step writes an
    intermediate status). ``hotkey``, ``hotkey_secret`` and ``netuid`` start from the last
    status and are carried into every view until the chain or the API server says otherwise.
    """

    kind: str
    body: dict[str, Any]
    old: dict[str, Any]
    delay: float  # config.retry_delay: the wait after a problem
    was_phase: str = PENDING
    hotkey: str | None = None  # ss58
    hotkey_secret: str | None = None
    netuid: int | None = None
    keypair: Keypair | None = None  # the hotkey (signs serve_axon)
    uid: int | None = None
    dereg: tuple[int | None, str | None] | None = None  # (block, reason) while deregistered
    burn: int | None = None  # the registration burn seen before registering (rao)
    burn_paid: int | None = None
    coldkey: Keypair | None = None
    row: NeuronRow | None = None  # the UID's metagraph row
    stake_rao: int | None = None
    pod: PodState | None = None
    axon: str | None = None

    @classmethod
    def begin(cls, kind: str, body: dict[str, Any], old: dict[str, Any], delay: float) -> NeuronRun:
        """A run of ``body`` whose current status is ``old``."""
        return cls(
            kind=kind,
            body=body,
            old=old,
            delay=delay,
            was_phase=old.get("phase", PENDING),
            hotkey=old.get("hotkey"),
            hotkey_secret=old.get("hotkeySecretName"),
            netuid=old.get("netuid"),
        )

    @property
    def key(self) -> Key:
        return (self.kind, self.ns, self.name)

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}

    @property
    def policy(self) -> str:
        """spec.registration.policy: Reregister (default) or Stop."""
        return (self.spec.get("registration") or {}).get("policy", "Reregister")

    @property
    def max_burn(self) -> int | None:
        """spec.registration.maxBurn in rao; None when unset."""
        text = (self.spec.get("registration") or {}).get("maxBurn")
        return tao_to_rao(text) if text else None

    @property
    def stopped(self) -> bool:
        """Deregistered under policy Stop: no re-registration, the workload at zero replicas."""
        return self.uid is None and self.was_phase == DEREGISTERED and self.policy == "Stop"

    @property
    def needs_registration(self) -> bool:
        return self.uid is None and not self.stopped

    def view(self, phase: str, *, with_dereg: bool = False, **fields: Any) -> NeuronView:
        """A view with the carried facts and ``fields`` (problem, progress, uid, ...);
        ``with_dereg`` adds the deregistration block and reason."""
        if with_dereg and self.dereg is not None:
            fields["deregistered_block"], fields["deregistration_reason"] = self.dereg
        return NeuronView(
            generation=self.body["metadata"].get("generation"),
            phase=phase,
            hotkey=self.hotkey,
            hotkey_secret=self.hotkey_secret,
            netuid=self.netuid,
            **fields,
        )

    def unless_deregistered(self, phase: str) -> str:
        """``phase``, or Deregistered while the neuron was deregistered."""
        return DEREGISTERED if self.was_phase == DEREGISTERED else phase


def missing_secret(run: NeuronRun, phase: str, secret: str, field: str, with_dereg: bool) -> Wait:
    """Stalled on a Secret the spec names that does not exist."""
    msg = f"Secret {secret} ({field}) does not exist."
    return Wait(run.view(phase, with_dereg=with_dereg, problem=("SecretNotFound", msg)), run.delay)


def unusable_key(run: NeuronRun, phase: str, e: SecretKeyError, with_dereg: bool) -> Wait:
    """Stalled on a Secret whose key cannot be read."""
    return Wait(run.view(phase, with_dereg=with_dereg, problem=(e.reason, str(e))), run.delay)


async def load_coldkey(rt: Runtime, run: NeuronRun, registering: bool) -> Keypair | Wait:
    """The coldkey paying registration and stake, or a Wait when its Secret is unusable.

    While registering, a deregistered neuron stays Deregistered (with its block and reason);
    otherwise the phase is Failed.
    """
    name = run.spec["coldkeySecretRef"]["name"]
    data = await rt.kube.secret_data(run.ns, name)
    phase = run.unless_deregistered(FAILED) if registering else FAILED
    if data is None:
        return missing_secret(run, phase, name, "spec.coldkeySecretRef", registering)
    try:
        return coldkey_from_secret(name, data)
    except SecretKeyError as e:
        return unusable_key(run, phase, e, registering)


async def create_hotkey_secret(
    rt: Runtime, owner: dict[str, Any], ns: str, secret_name: str
) -> tuple[dict[str, bytes], bool]:
    """A new hotkey in Secret ``secret_name`` owned by ``owner``: (key data, created). If
    another reconcile created the Secret first, its data and False. Never logs the key."""
    _kp, raw = new_hotkey()
    if await rt.kube.create_secret_if_absent(build_hotkey_secret(owner, secret_name, raw)):
        return {"hotkey": raw}, True
    return await rt.kube.secret_data(ns, secret_name) or {}, False
