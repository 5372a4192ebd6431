"""Leader election on a coordination.k8s.io/v1 Lease: only the holder runs Kopf.

Kopf's peering only pauses replicas that see a higher-priority peer; it is not leader election
(equal priorities all freeze, a partitioned replica keeps reconciling). With several replicas,
each first takes a Lease (``--leader-election-lease NAME``) and starts Kopf only once it holds
it; when it can no longer renew, the process exits at once so Kubernetes restarts it as a
standby. Never two active reconcilers: the holder gives up after ``renew_deadline`` without a
successful renewal, strictly before the others may take over (``lease_duration``).

The decision is pure (:func:`decide`, :class:`Observer`): no clock reads, no I/O. Expiry is
judged on the local monotonic clock from when this process last *saw the record change* (as
client-go does), never by comparing the holder's ``renewTime`` with our wall clock, so clock
skew between nodes cannot make a candidate steal a live lease. Writes use the Lease's
resourceVersion (optimistic concurrency): of two candidates racing for one expired lease, the
API server accepts exactly one update.

The I/O edge (:class:`LeaseStore`, :class:`Elector`) is synchronous (lightkube's ``Client``)
and runs before Kopf's event loop starts, then in a daemon thread beside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from . import faults

if TYPE_CHECKING:  # lightkube is imported lazily, when a real Lease is used
    from lightkube import Client
    from lightkube.resources.coordination_v1 import Lease

log = logging.getLogger("subnetes.operator.leader")

LEASE_DURATION = 15.0  # seconds a lease stays valid without renewal (leaseDurationSeconds)
RENEW_DEADLINE = 10.0  # the holder gives up after this long without a successful renewal
RENEW_INTERVAL = 5.0  # the holder renews this often
RETRY_PERIOD = 2.0  # candidates look at the lease this often; the holder retries a failed renew


# ---- pure logic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease spec fields leader election uses."""

    holder: str | None = None
    duration_s: int = int(LEASE_DURATION)
    acquire_time: dt.datetime | None = None
    renew_time: dt.datetime | None = None
    transitions: int = 0


@dataclass(frozen=True)
class Timing:
    lease_duration: float = LEASE_DURATION
    renew_deadline: float = RENEW_DEADLINE
    renew_interval: float = RENEW_INTERVAL
    retry_period: float = RETRY_PERIOD

    def __post_init__(self) -> None:
        # The holder must give up before anyone may take over, and renew before it gives up.
        if not 0 < self.renew_interval < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "need 0 < renew_interval < renew_deadline < lease_duration, got "
                f"{self.renew_interval}, {self.renew_deadline}, {self.lease_duration}"
            )
        if self.retry_period <= 0:
            raise ValueError("retry_period must be positive")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Timing:
        e = os.environ if env is None else env
        p = "SUBNETES_LEADER_ELECTION_"
        return cls(
            lease_duration=float(e.get(p + "LEASE_DURATION", LEASE_DURATION)),
            renew_deadline=float(e.get(p + "RENEW_DEADLINE", RENEW_DEADLINE)),
            renew_interval=float(e.get(p + "RENEW_INTERVAL", RENEW_INTERVAL)),
            retry_period=float(e.get(p + "RETRY_PERIOD", RETRY_PERIOD)),
        )


class Action(Enum):
    CREATE = "create"  # no Lease yet: create it holding it
    RENEW = "renew"  # we hold it: bump renewTime
    ACQUIRE = "acquire"  # free (no holder) or expired: take it over
    WAIT = "wait"  # someone else holds a live lease


@dataclass(frozen=True)
class Decision:
    action: Action
    record: LeaseRecord | None = None  # what to write (None for WAIT)
    holder: str | None = None  # the current holder (for WAIT's log line)
    expires_in: float | None = None  # WAIT: seconds until we may try to take over


class Observer:
    """Remembers when this process last saw the Lease record change (monotonic seconds)."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version: str | None = None
        self.observed_at: float | None = None

    def observe(self, record: LeaseRecord | None, version: str | None, now: float) -> None:
        """Any write (a new record or resourceVersion) proves the holder alive at ``now``."""
        if self.observed_at is None or (record, version) != (self.record, self.version):
            self.observed_at = now
            self.record, self.version = record, version


def expired(record: LeaseRecord, observed_at: float, now: float) -> bool:
    """Expired when unchanged for its full ``leaseDurationSeconds`` since we saw it change."""
    return now >= observed_at + max(record.duration_s, 1)


def decide(
    identity: str,
    record: LeaseRecord | None,
    observed_at: float | None,
    now: float,
    wall_now: dt.datetime,
    timing: Timing = Timing(),
) -> Decision:
    """What ``identity`` should do with the Lease as last read (``record``, seen changing at
    ``observed_at`` on the monotonic clock; ``now`` is that clock, ``wall_now`` the UTC time to
    write into ``renewTime``/``acquireTime``)."""
    duration = max(1, round(timing.lease_duration))
    if record is None:
        return Decision(
            Action.CREATE,
            LeaseRecord(identity, duration, wall_now, wall_now, 0),
        )
    if record.holder == identity:
        return Decision(
            Action.RENEW,
            replace(record, duration_s=duration, renew_time=wall_now),
            holder=identity,
        )
    free = not record.holder
    if free or expired(record, observed_at if observed_at is not None else now, now):
        return Decision(
            Action.ACQUIRE,
            LeaseRecord(identity, duration, wall_now, wall_now, record.transitions + 1),
            holder=record.holder,
        )
    base = observed_at if observed_at is not None else now
    return Decision(
        Action.WAIT,
        holder=record.holder,
        expires_in=max(0.0, base + max(record.duration_s, 1) - now),
    )


def released(record: LeaseRecord) -> LeaseRecord:
    """The record a holder writes when it steps down cleanly: no holder, so candidates take
    it at once instead of waiting out the duration."""
    return replace(record, holder=None, acquire_time=None, renew_time=None, duration_s=1)


def identity_from_env(env: dict[str, str] | None = None) -> str:
    """POD_NAME (the chart sets it from the downward API), else hostname + pid."""
    e = os.environ if env is None else env
    return e.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def split_args(argv: list[str]) -> tuple[str | None, str | None, list[str]]:
    """Take ``--leader-election-lease[=]NAME`` and ``--leader-election-namespace[=]NS`` out of
    the operator's arguments; the rest goes to ``kopf run``."""
    lease = ns = None
    rest: list[str] = []
    it = iter(range(len(argv)))
    for i in it:
        arg = argv[i]
        for flag in ("--leader-election-lease", "--leader-election-namespace"):
            if arg == flag or arg.startswith(flag + "="):
                if arg == flag:
                    if i + 1 >= len(argv):
                        raise SystemExit(f"{flag} needs a value")
                    value = argv[i + 1]
                    next(it)
                else:
                    value = arg.split("=", 1)[1]
                if not value:
                    raise SystemExit(f"{flag} needs a value")
                if flag.endswith("lease"):
                    lease = value
                else:
                    ns = value
                break
        else:
            rest.append(arg)
    return lease, ns, rest


# ---- I/O edge -----------------------------------------------------------------------------------


class Conflict(Exception):
    """Someone else wrote the Lease first (409) or created it first."""


class _QuietLeaseRequests(logging.Filter):
    """httpx logs every request at INFO: drop the Lease polls (one every retry period)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "/leases/" not in record.getMessage()


class LeaseStore:
    """get/create/update of one Lease (lightkube's sync Client; only these three verbs)."""

    def __init__(
        self, name: str, namespace: str, client: Client | None = None, timeout: float = 5.0
    ) -> None:
        self.name, self.namespace = name, namespace
        if client is None:
            import httpx2
            from lightkube import Client, KubeConfig

            for name in ("httpx", "httpx2"):
                logging.getLogger(name).addFilter(_QuietLeaseRequests())
            client = Client(KubeConfig.from_env(), timeout=httpx2.Timeout(timeout), trust_env=False)
        self.client = client

    def get(self) -> tuple[LeaseRecord | None, str | None]:
        from lightkube.core.exceptions import ApiError
        from lightkube.models.coordination_v1 import LeaseSpec
        from lightkube.resources.coordination_v1 import Lease

        try:
            lease = self.client.get(Lease, self.name, namespace=self.namespace)
        except ApiError as e:
            if e.status.code == 404:
                return None, None
            raise
        s = lease.spec or LeaseSpec()  # a Lease created without a spec has no holder
        record = LeaseRecord(
            holder=s.holderIdentity or None,
            duration_s=s.leaseDurationSeconds or int(LEASE_DURATION),
            acquire_time=s.acquireTime,
            renew_time=s.renewTime,
            transitions=s.leaseTransitions or 0,
        )
        return record, _server_version(lease)

    def _lease(self, record: LeaseRecord, version: str | None) -> Lease:
        from lightkube.models.coordination_v1 import LeaseSpec
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.coordination_v1 import Lease

        return Lease(
            metadata=ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                resourceVersion=version,
                labels={"app.kubernetes.io/name": "subnetes-operator"},
            ),
            spec=LeaseSpec(
                holderIdentity=record.holder,
                leaseDurationSeconds=record.duration_s,
                acquireTime=record.acquire_time,
                renewTime=record.renew_time,
                leaseTransitions=record.transitions,
            ),
        )

    def create(self, record: LeaseRecord) -> str:
        from lightkube.core.exceptions import ApiError

        try:
            obj = self.client.create(self._lease(record, None))
        except ApiError as e:
            if e.status.code == 409:
                raise Conflict(str(e)) from None
            raise
        return _server_version(obj)

    def update(self, record: LeaseRecord, version: str) -> str:
        from lightkube.core.exceptions import ApiError

        try:
            obj = self.client.replace(self._lease(record, version))
        except ApiError as e:
            if e.status.code == 409:
                raise Conflict(str(e)) from None
            raise
        return _server_version(obj)


def _server_version(lease: Lease) -> str:
    """The resourceVersion of a Lease the API server returned (it always sets one)."""
    if lease.metadata is None or lease.metadata.resourceVersion is None:
        raise RuntimeError(f"the API server returned a Lease without a resourceVersion: {lease}")
    return lease.metadata.resourceVersion


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Elector:
    """Acquire (blocking), then keep renewing in a daemon thread; ``on_lost`` when we can't."""

    def __init__(
        self,
        store: LeaseStore,
        identity: str,
        timing: Timing = Timing(),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store, self.identity, self.timing = store, identity, timing
        self.clock, self.wall, self.sleep = clock, wall, sleep
        self.observer = Observer()
        self.last_renewed: float | None = None  # monotonic time of our last successful write
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_for: object = object()  # holder we last logged about

    @property
    def where(self) -> str:
        return f"{self.store.namespace}/{self.store.name}"

    def try_once(self) -> bool:
        """Read the Lease and act once; True when we hold it afterwards."""
        try:
            record, version = self.store.get()
            started = self.clock()
            self.observer.observe(record, version, started)
            d = decide(
                self.identity, record, self.observer.observed_at, started, self.wall(), self.timing
            )
            if d.action is Action.WAIT:
                if d.holder != self._waiting_for:
                    log.info(
                        "leader election: waiting for lease %s, held by %s (expires in %.0fs "
                        "unless renewed)",
                        self.where,
                        d.holder,
                        d.expires_in or 0,
                    )
                    self._waiting_for = d.holder
                return False
            assert d.record is not None
            if d.action is Action.CREATE:
                new_version = self.store.create(d.record)
            else:
                assert version is not None
                new_version = self.store.update(d.record, version)
            self.observer.observe(d.record, new_version, started)
            self.last_renewed = started
            if d.action is not Action.RENEW:
                log.info(
                    "leader election: %s acquired lease %s (previous holder: %s)",
                    self.identity,
                    self.where,
                    d.holder or "none",
                )
            return True
        except Conflict:
            log.info("leader election: lost a race for lease %s; retrying", self.where)
            return False
        except Exception as e:  # API down, timeouts: keep trying, the deadline decides
            log.warning("leader election: lease %s: %s: %s", self.where, type(e).__name__, e)
            return False

    def acquire(self) -> None:
        """Block until this process holds the Lease."""
        log.info("leader election: %s campaigning for lease %s", self.identity, self.where)
        while not self._stop.is_set():
            if self.try_once():
                return
            self.sleep(self.timing.retry_period)
        raise SystemExit(0)

    def renew_loop(self, on_lost: Callable[[str], None]) -> None:
        """Renew every ``renew_interval``; retry failures every ``retry_period`` (or sooner);
        call ``on_lost`` once the lease is someone else's or ``renew_deadline`` has passed
        since the last successful renewal."""
        t = self.timing
        while not self._stop.is_set():
            assert self.last_renewed is not None
            now = self.clock()
            if now - self.last_renewed >= t.renew_interval:
                ok = self.try_once()
                holder = self.observer.record.holder if self.observer.record else None
                if not ok and holder not in (None, self.identity):
                    on_lost(f"lease {self.where} is now held by {holder}")
                    return
            now = self.clock()
            if now - self.last_renewed >= t.renew_deadline:
                on_lost(f"could not renew lease {self.where} for {t.renew_deadline:.0f}s")
                return
            due = self.last_renewed + t.renew_interval - now
            self._stop.wait(max(0.05, min(due if due > 0 else t.retry_period, t.retry_period)))

    def holds_lease(self) -> bool:
        """Whether this process may still write: it held the Lease at its last renewal and that
        renewal started less than ``renew_deadline`` ago (monotonic), so no other replica can
        have taken the Lease over yet (they wait ``lease_duration`` from seeing that write)."""
        if self.last_renewed is None:
            return False
        holder = self.observer.record.holder if self.observer.record else None
        return (
            holder == self.identity
            and self.clock() - self.last_renewed < self.timing.renew_deadline
        )

    def start_renewing(self, on_lost: Callable[[str], None]) -> None:
        global _active
        _active = self
        self._thread = threading.Thread(
            target=self.renew_loop, args=(on_lost,), name="lease-renewal", daemon=True
        )
        self._thread.start()

    def release(self) -> None:
        """Stop renewing and hand the Lease back (best effort) so a standby takes over now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            record, version = self.store.get()
            if record is not None and record.holder == self.identity and version:
                self.store.update(released(record), version)
                log.info("leader election: released lease %s", self.where)
        except Exception as e:
            log.warning("leader election: could not release lease %s: %s", self.where, e)


_active: Elector | None = None  # the elector of this process once it holds the Lease


def fence(what: str) -> None:
    """Call before every write (status patch, apply, Event, chain extrinsic): exit at once
    unless this process still holds the Lease with a renewal inside ``renew_deadline``.

    The renewal thread alone is not enough: a process frozen past its lease (SIGSTOP, a long GC
    or VM pause) resumes with a reconcile half done, and its event loop may write before the
    renewal thread runs and notices. Without leader election (no Lease) nothing is fenced.
    """
    elector = _active
    if elector is not None and not elector.holds_lease():
        exit_now(f"lease {elector.where} no longer held; refusing to {what}")
    faults.note_write(what)


def exit_now(reason: str) -> None:
    """Leadership lost: stop reconciling immediately (no cleanup that could still write)."""
    log.critical("leader election: %s; exiting so a single replica reconciles", reason)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(1)


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"leaderElection": "standby"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def standby_health(liveness_url: str | None) -> Callable[[], None]:
    """Answer the liveness endpoint while waiting (else the probe would restart standbys);
    returns a function that frees the port before Kopf binds it."""
    if not liveness_url:
        return lambda: None
    u = urlparse(liveness_url)
    try:
        server = http.server.ThreadingHTTPServer((u.hostname or "0.0.0.0", u.port or 80), _Health)
    except OSError as e:
        log.warning("leader election: no standby liveness endpoint on %s: %s", liveness_url, e)
        return lambda: None
    threading.Thread(target=server.serve_forever, name="standby-health", daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
