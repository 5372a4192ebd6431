"""Process-wide state of the operator: clients, in-memory indexes and a keyed work queue.

Kopf handlers and the chain event dispatcher both end in the same reconcile functions; the work
queue serialises reconciles per object (one at a time per key) and bounds concurrency overall.
The indexes are rebuilt from watch events at every start, so nothing here must survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .chainlink import Chain
from .config import Config
from .kube import Kube, transient_delay
from .status import PodState

log = logging.getLogger("subnetes.operator")

Key = tuple[str, str, str]  # (kind, namespace, name)


class Retry(Exception):
    """Reconcile again after ``delay`` seconds (a wait, not an error)."""

    def __init__(self, delay: float, message: str = "") -> None:
        super().__init__(message or f"retry in {delay:.1f}s")
        self.delay = delay


def _older(version: str | None, than: str | None) -> bool | None:
    """Whether resourceVersion ``version`` is older than ``than``; None if they can't be ordered.

    resourceVersions are opaque strings in general, but one etcd-backed API server hands out
    increasing integers (etcd's revision), so two that both parse as ints are ordered.
    """
    try:
        return int(version) < int(than)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


BODY_METADATA_DROPPED = frozenset({"managedFields", "annotations"})


@dataclass
class Indexes:
    """In-memory maps filled from watch events (no API calls).

    The watch can deliver an object's events late: an event from before a status patch of the
    operator's own may arrive after that patch. Taking such a body would roll the in-memory
    status back (``lastEpochBlock`` and ``totalEmission`` of an older epoch) and the next epoch
    would be folded onto the old total, counting emission twice. So the index keeps, per
    object, the newest resourceVersion it has seen or written (``versions``) and drops
    bodies older than that (see :meth:`stale`).
    """

    hotkeys: dict[str, Key] = field(default_factory=dict)  # ss58 -> neuron
    netuids: dict[int, Key] = field(default_factory=dict)  # netuid -> Subnet
    status: dict[Key, dict[str, Any]] = field(default_factory=dict)  # last seen status
    bodies: dict[Key, dict[str, Any]] = field(default_factory=dict)  # last seen body (no secrets)
    versions: dict[Key, str] = field(default_factory=dict)  # resourceVersion of ``status``
    # Namespaces whose Miners and Validators were listed once (hotkey claims, neurons.py).
    seeded: set[str] = field(default_factory=set)
    # hotkey (ss58) -> neurons whose status above names it: the hotkey claim check asks for the
    # holders of one hotkey on every reconcile; scanning ``status`` for it took ~15 ms at 5,000
    # neurons, on the event loop, several times per neuron (quadratic in the fleet).
    status_hotkeys: dict[str, set[Key]] = field(default_factory=dict)
    # (namespace, pod name) -> what the pod watch last showed of a workload pod: the workload
    # step reads it instead of a GET per reconcile (every pod move kicks a reconcile anyway).
    pods: dict[tuple[str, str], PodState] = field(default_factory=dict)

    def observe_pod(self, namespace: str, name: str, pod: PodState | None) -> bool:
        """Record a watched workload pod (None: deleted); True when what it shows changed."""
        key = (namespace, name)
        if pod is None:
            return self.pods.pop(key, None) is not None
        if self.pods.get(key) == pod:
            return False
        self.pods[key] = pod
        return True

    def set_status(self, key: Key, status: dict[str, Any] | None) -> None:
        """Hold ``status`` for ``key`` (None: forget it), keeping ``status_hotkeys`` in step."""
        old = (self.status.get(key) or {}).get("hotkey")
        new = (status or {}).get("hotkey") if key[0] != "Subnet" else None
        if old and old != new and key in self.status_hotkeys.get(old, ()):
            held = self.status_hotkeys[old]
            held.discard(key)
            if not held:
                del self.status_hotkeys[old]
        if status is None:
            self.status.pop(key, None)
            return
        self.status[key] = status
        if new:
            self.status_hotkeys.setdefault(new, set()).add(key)

    def statuses_naming(self, hotkey: str) -> dict[Key, dict[str, Any]]:
        """The held statuses of neurons that name ``hotkey`` (from the index, no scan)."""
        out = {}
        for key in self.status_hotkeys.get(hotkey, ()):
            status = self.status.get(key) or {}
            if status.get("hotkey") == hotkey:
                out[key] = status
        return out

    def stale(self, key: Key, version: str | None, status: dict[str, Any]) -> bool:
        """Whether a watched body (``version``, ``status``) is older than what the index holds."""
        older = _older(version, self.versions.get(key))
        if older is not None:
            return older
        if key not in self.status:
            return False
        # The versions can't be ordered (our last write's version is unknown, or they are not
        # integers): at least never move the epoch accounting backwards. lastEpochBlock and
        # totalEmission always change in the same patch.
        held = int(self.status[key].get("lastEpochBlock") or 0)
        return int(status.get("lastEpochBlock") or 0) < held

    def neurons_of(self, namespace: str, subnet: str) -> list[Key]:
        """Miners and Validators seen in ``namespace`` whose spec.subnetRef names ``subnet``."""
        return [
            key
            for key, body in self.bodies.items()
            if key[0] != "Subnet"
            and key[1] == namespace
            and ((body.get("spec") or {}).get("subnetRef") or {}).get("name") == subnet
        ]

    def wrote(self, key: Key, status: dict[str, Any], version: str | None) -> None:
        """Record a status the operator has just patched; ``version`` is what the server returned."""
        if _older(version, self.versions.get(key)):
            return  # the watch already brought a later body, which includes this patch
        self.set_status(key, status)
        if version:
            self.versions[key] = version
        else:
            self.versions.pop(key, None)  # unknown: stale() falls back to the epoch guard

    def observe(self, kind: str, body: dict[str, Any], deleted: bool = False) -> None:
        """Record a watched Subnet/Miner/Validator (or forget it); older bodies are ignored."""
        meta = body.get("metadata") or {}
        key: Key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        status = body.get("status") or {}
        if deleted:
            self.set_status(key, None)
            self.bodies.pop(key, None)
            self.versions.pop(key, None)
            indexes: tuple[dict[Any, Key], ...] = (self.hotkeys, self.netuids)
            for index in indexes:
                for k in [k for k, v in index.items() if v == key]:
                    index.pop(k, None)
            return
        version = meta.get("resourceVersion")
        if self.stale(key, version, status):
            log.debug("ignoring a stale watch event of %s/%s/%s (version %s)", *key, version)
            return
        self.set_status(key, dict(status))
        if version:
            self.versions[key] = str(version)
        else:
            self.versions.pop(key, None)
        self.bodies[key] = {
            "apiVersion": body.get("apiVersion"),
            "kind": kind,
            # Not managedFields nor annotations (Kopf's last-handled-configuration is a copy of
            # the spec): nothing reads them here, and per object they outweigh the rest.
            "metadata": {k: v for k, v in meta.items() if k not in BODY_METADATA_DROPPED},
        }
        ref = ((body.get("spec") or {}).get("subnetRef") or {}).get("name")
        if kind != "Subnet" and ref:
            self.bodies[key]["spec"] = {"subnetRef": {"name": ref}}
        if kind == "Subnet":
            if status.get("netuid") is not None and status.get("phase") == "Registered":
                self.netuids[int(status["netuid"])] = key
        elif status.get("hotkey"):
            self.hotkeys[status["hotkey"]] = key


class Slot:
    """One reconcile's hold on the concurrency bound; knows whether it holds it right now."""

    def __init__(self, sem: asyncio.Semaphore) -> None:
        self.sem = sem
        self.held = False

    async def acquire(self) -> None:
        await self.sem.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.sem.release()


def lock_free(lock: asyncio.Lock) -> bool:
    """Whether ``lock.acquire()`` would return at once: unlocked and nobody queued for it (a
    released lock stays unlocked until the waiter it woke runs)."""
    waiters = getattr(lock, "_waiters", None) or ()
    return not lock.locked() and all(w.cancelled() for w in waiters)


_SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("subnetes_slot", default=None)


class Runtime:
    """Everything a reconcile needs; one instance per operator process."""

    def __init__(
        self, config: Config, kube: Kube | None = None, chain: Chain | None = None
    ) -> None:
        self.config = config
        self.kube = kube or Kube()
        self.chain = chain or Chain(config.chain_endpoint)
        self.indexes = Indexes()
        self.locks: dict[Key, asyncio.Lock] = {}
        self.pending: dict[Key, asyncio.TimerHandle | asyncio.Task] = {}
        self.backoff: dict[Key, tuple[int, float]] = {}  # re-registration attempts, next time
        self.dereg_hints: dict[Key, tuple[int, str]] = {}  # (block, reason) from the stream
        self.reconcilers: dict[str, Callable[[Runtime, str, str], Awaitable[None]]] = {}
        self._sem: asyncio.Semaphore | None = None
        self.tasks: set[asyncio.Task] = set()

    @property
    def sem(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.config.max_concurrent_reconciles)
        return self._sem

    def lock(self, key: Key) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    async def run(self, key: Key) -> None:
        """Reconcile ``key`` now (serialised per key); raises Retry like the reconciler.

        The reconcile holds one of ``max_concurrent_reconciles`` slots while it works, but not
        while it waits in :meth:`unslotted` (for its coldkey's turn to sign, for a block).
        """
        kind, ns, name = key
        lock = self.lock(key)
        slot = Slot(self.sem)
        # A slot first, the key's lock after: a reconcile queued for a slot must not hold the
        # lock, or the epoch writer (which takes it) waits for the queue. At a start or a
        # failover with 5,000 neurons every one is reconciled at once: all 5,000 locks were
        # held by runs queued for 32 slots, and epoch status stopped until each one's turn.
        await slot.acquire()
        try:
            if lock_free(lock):
                await lock.acquire()  # free: taken without waiting
            else:
                # Another run of this key holds it, maybe waiting unslotted for its signer: wait
                # for the lock without a slot (slots held by such waiters could all be needed
                # back by the runs holding their locks: deadlock), then take a slot again.
                slot.release()
                await lock.acquire()
                try:
                    await slot.acquire()
                except BaseException:
                    lock.release()
                    raise
        except BaseException:
            slot.release()
            raise
        token = _SLOT.set(slot)
        try:
            await self.reconcilers[kind](self, ns, name)
        finally:
            _SLOT.reset(token)
            slot.release()
            lock.release()

    @contextlib.asynccontextmanager
    async def unslotted(self) -> AsyncIterator[None]:
        """Give the current reconcile's slot back while it waits; take one again after.

        Registrations are serialised per coldkey (one extrinsic per signer per block): at 500
        neurons, reconciles queued on a signer held every slot and already registered neurons
        whose pods had started waited behind them. The key's lock stays held.
        """
        slot = _SLOT.get()
        if slot is None or not slot.held:
            yield
            return
        slot.release()
        try:
            yield
        finally:
            await slot.acquire()

    def kick(self, key: Key, delay: float = 0.0) -> None:
        """Schedule a reconcile of ``key`` (deduplicated: one pending per key)."""
        if key in self.pending or key[0] not in self.reconcilers:
            return
        loop = asyncio.get_running_loop()
        if delay > 0:
            self.pending[key] = loop.call_later(delay, self._start, key)
        else:
            self._start(key)

    def _start(self, key: Key) -> None:
        task = asyncio.get_running_loop().create_task(self._kicked(key))
        self.pending[key] = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _kicked(self, key: Key) -> None:
        retry: float | None = None
        try:
            self.pending.pop(key, None)
            await self.run(key)
        except Retry as r:
            retry = r.delay
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.requeue_if_transient(key, exc):
                return
            log.exception("reconcile of %s/%s/%s failed", *key)
            retry = self.config.retry_delay
        if retry is not None:
            self.kick(key, retry)

    def requeue_if_transient(self, key: Key, exc: BaseException) -> bool:
        """Requeue ``key`` after the delay a temporary API server answer asks for (a warning, no
        traceback: a busy API server is routine); False for any other error. Both ways into a
        reconcile use it: Kopf's handlers and the operator's own kicks."""
        delay = transient_delay(exc)
        if delay is None:
            return False
        log.warning("%s %s/%s: API server busy (%r); retrying in %.0f s", *key, exc, delay)
        self.kick(key, delay)
        return True

    def next_reregister_delay(self, key: Key) -> float:
        """Seconds to wait before the next re-registration of ``key`` (0: go now)."""
        _attempts, at = self.backoff.get(key, (0, 0.0))
        return max(0.0, at - time.monotonic())

    def note_reregister(self, key: Key) -> None:
        """Count a re-registration attempt: the next one waits twice as long (capped)."""
        attempts, _ = self.backoff.get(key, (0, 0.0))
        delay = min(
            self.config.reregister_backoff * (2**attempts), self.config.reregister_backoff_max
        )
        self.backoff[key] = (attempts + 1, time.monotonic() + delay)

    async def close(self) -> None:
        for handle in list(self.pending.values()):
            handle.cancel()
        for task in list(self.tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self.chain.close()
        await self.kube.close()
