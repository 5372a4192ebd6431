"""Kopf wiring: thin handlers that hand every object to the shared reconcilers.

Run with ``python -m subnetes.operator`` (or ``kopf run -m subnetes.operator.handlers``).
Handlers never write spec and return nothing (so Kopf stores no results in status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from . import events, metrics, tracing
from .config import Config
from .diffbase import LeanAnnotationsDiffBaseStorage
from .labels import FINALIZER, GROUP, KIND_LABEL, MANAGED_BY, VERSION
from .neurons import reconcile_miner, reconcile_validator, release
from .runtime import Retry, Runtime
from .status import PodState
from .subnets import delete_subnet, reconcile_subnet

log = logging.getLogger("subnetes.operator")
PLURALS = {"subnets": "Subnet", "miners": "Miner", "validators": "Validator"}
STATE: dict[str, Any] = {}


def runtime() -> Runtime:
    return STATE["runtime"]


def configure(settings: kopf.OperatorSettings, env: dict[str, str] | None = None) -> None:
    """Kopf settings for many resources (see docs/operator.md, "Scale and HA")."""
    e = os.environ if env is None else env
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="operator.subnetes.io"
    )
    settings.persistence.diffbase_storage = LeanAnnotationsDiffBaseStorage(
        prefix="operator.subnetes.io", key="last-handled-configuration"
    )
    # Kopf's per-handler "succeeded" Events would be thousands of writes; ours are explicit.
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = 4  # handlers are async; the pool is for sync code only
    timeout = int(e.get("SUBNETES_WATCH_TIMEOUT", "300"))
    settings.watching.server_timeout = timeout
    settings.watching.client_timeout = timeout + 30
    settings.networking.request_timeout = 60
    settings.networking.error_backoffs = [1, 2, 5, 10, 20]
    settings.queueing.error_delays = [1, 2, 5, 10, 30, 60]
    # Peering: one active replica; replicas need distinct priorities (equal ones all freeze).
    settings.peering.name = e.get("SUBNETES_PEERING_NAME", "subnetes-operator")
    if e.get("SUBNETES_PEERING_PRIORITY"):
        settings.peering.priority = int(e["SUBNETES_PEERING_PRIORITY"])


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    configure(settings)
    config = Config.from_env()
    tracing.setup(config.otel_exporter)
    if config.metrics_port and not STATE.get("metrics"):
        metrics.serve(config.metrics_host, config.metrics_port)
        STATE["metrics"] = True
    rt = Runtime(config)
    rt.reconcilers = {
        "Subnet": reconcile_subnet,
        "Miner": reconcile_miner,
        "Validator": reconcile_validator,
    }
    STATE["runtime"] = rt
    STATE["stream"] = asyncio.get_running_loop().create_task(events.follow(rt))
    log.info("subnetes operator started; chain at %s", config.chain_endpoint)


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    task = STATE.pop("stream", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    rt = STATE.pop("runtime", None)
    if rt is not None:
        await rt.close()


# The liveness endpoint answers only once every probe has: a probe that waits on the chain
# made the kubelet kill a healthy operator whenever the chain was down or restarting.
PROBE_TIMEOUT_S = 2.0


@kopf.on.probe(id="chainBlock")
async def chain_block(**_: Any) -> int | None:
    """Liveness detail: the chain head the operator sees, or None while the chain does not
    answer. Bounded and never failing: the operator's liveness must not depend on the chain."""
    try:
        return await asyncio.wait_for(runtime().chain.head(), timeout=PROBE_TIMEOUT_S)
    except Exception as exc:  # any failure means "chain unreachable" here
        log.debug("chain head for the liveness probe: %r", exc)
        return None


async def _run(kind: str, namespace: str, name: str) -> None:
    """Reconcile now. A wait (``Retry``: the Subnet is not registered yet, a burn above
    maxBurn, ...) is requeued on the operator's own timer, as controller-runtime's RequeueAfter:
    not as a Kopf TemporaryError, which Kopf logs at ERROR and records in annotations on the
    object. The status already tells the user what is awaited; unexpected errors still go to
    Kopf (logged, retried with its backoff)."""
    key = (kind, namespace, name)
    try:
        await runtime().run(key)
    except Retry as r:
        log.debug("%s %s/%s: %s", kind, namespace, name, r)
        runtime().kick(key, r.delay)
    except Exception as exc:
        if not runtime().requeue_if_transient(key, exc):
            raise


for _plural, _kind in PLURALS.items():

    def _make(
        kind: str,
    ) -> tuple[Callable[..., Awaitable[None]], Callable[..., Awaitable[None]]]:  # bind kind
        async def reconcile_handler(namespace: str, name: str, **_: Any) -> None:
            await _run(kind, namespace, name)

        async def index_handler(event: dict[str, Any], type: str | None, **_: Any) -> None:
            rt = STATE.get("runtime")
            if rt is not None:
                # The raw event's object (observe only reads it): copying Kopf's Body view with
                # dict() walked it key by key, 6 % of the operator's CPU in a rollout.
                rt.indexes.observe(kind, event["object"], deleted=type == "DELETED")

        reconcile_handler.__name__ = f"reconcile_{kind.lower()}"
        index_handler.__name__ = f"index_{kind.lower()}"
        return reconcile_handler, index_handler

    _rec, _idx = _make(_kind)
    kopf.on.resume(GROUP, VERSION, _plural, id="reconcile")(_rec)
    kopf.on.create(GROUP, VERSION, _plural, id="reconcile")(_rec)
    kopf.on.update(GROUP, VERSION, _plural, id="reconcile", field="spec")(_rec)
    kopf.on.event(GROUP, VERSION, _plural, id="index")(_idx)


@kopf.on.delete(GROUP, VERSION, "validators", id="release")
async def release_validator(body: kopf.Body, **_: Any) -> None:
    """Finalizer: return the validator's stake to its coldkey."""
    await release(runtime(), "Validator", dict(body))


@kopf.on.delete(GROUP, VERSION, "subnets", id="deletion-policy")
async def delete_subnet_handler(body: kopf.Body, **_: Any) -> None:
    """Finalizer: honour spec.deletionPolicy (Wait refuses while neurons remain)."""
    try:
        await delete_subnet(runtime(), dict(body))
    except Retry as r:
        raise kopf.TemporaryError(str(r), delay=r.delay) from None


# Pod moves (created, scheduled, given an IP, running) come within moments of each other: the
# reconcile is kicked this long after the first one, so one reconcile sees them all (three per
# neuron were a third of the operator's reconciles in a rollout).
POD_KICK_DELAY_S = 0.5


@kopf.on.event(
    "", "v1", "pods", labels={"app.kubernetes.io/managed-by": MANAGED_BY, KIND_LABEL: kopf.PRESENT}
)
async def workload_pod(body: kopf.Body, type: str | None, **_: Any) -> None:
    """A workload pod moved (scheduled, got an IP, started): refresh its owner."""
    meta = body.get("metadata", {})
    labels = meta.get("labels", {})
    kind, owner = labels.get(KIND_LABEL), labels.get("app.kubernetes.io/instance")
    ns = meta.get("namespace")
    if kind not in ("Miner", "Validator") or not owner or "runtime" not in STATE:
        return
    rt = runtime()
    if type == "DELETED":
        rt.indexes.observe_pod(ns, meta["name"], None)
        # Its StatefulSet may be gone too (deleted by hand, or with the pod): apply it again.
        rt.kube.applied.forget_instance(ns, owner)
        rt.kick((kind, ns, owner))
        return
    pod = PodState(
        name=meta["name"],
        node=body.get("spec", {}).get("nodeName"),
        ip=body.get("status", {}).get("podIP"),
        running=body.get("status", {}).get("phase") == "Running",
    )
    if rt.indexes.observe_pod(ns, pod.name, pod):
        rt.kick((kind, ns, owner), POD_KICK_DELAY_S)
