"""Work the operator did on every reconcile or HTTP request that was the same each time (issue 19,
found with py-spy at 500 neurons): each fix here was 5-7 % of the operator's CPU."""

from __future__ import annotations

import asyncio
import importlib.abc
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpcore
import httpcore2
import pytest
from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data

from subnetes.operator import handlers, keys
from subnetes.operator import neurons as n
from subnetes.operator.applied import AppliedManifests
from subnetes.operator.config import Config
from subnetes.operator.keys import SecretKeyError, hotkey_from_secret
from subnetes.operator.labels import KIND_LABEL
from subnetes.operator.neurons import NeuronRun
from subnetes.operator.runtime import Key, Runtime
from subnetes.operator.status import PodState


class CountingFinder(importlib.abc.MetaPathFinder):
    """Counts the module searches that reach sys.meta_path (a module in sys.modules never does)."""

    def __init__(self) -> None:
        self.searches: Counter[str] = Counter()

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        self.searches[fullname] += 1
        return None


@pytest.fixture
def finder() -> Iterator[CountingFinder]:
    f = CountingFinder()
    sys.meta_path.insert(0, f)
    yield f
    sys.meta_path.remove(f)


def test_http_clients_do_not_search_for_a_module_on_every_request(finder: CountingFinder) -> None:
    """httpcore (the chain client's) and httpcore2 (lightkube's) ask which event loop runs for
    every lock, event and shield they make; without sniffio each ask was a failed import."""

    async def ask() -> set[str]:
        return {
            lib._synchronization.current_async_library()
            for lib in (httpcore, httpcore2)
            for _ in range(50)
        }

    assert asyncio.run(ask()) == {"asyncio"}
    assert finder.searches["sniffio"] == 0, "sniffio is not installed: a failed import per call"


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    calls: list[bytes] = []
    real = keys.deserialize_keypair_from_keyfile_data

    def counting(raw: bytes) -> Keypair:
        calls.append(raw)
        return real(raw)

    monkeypatch.setattr(keys, "deserialize_keypair_from_keyfile_data", counting)
    keys._hotkey_keypair.cache_clear()
    yield calls
    keys._hotkey_keypair.cache_clear()


def test_a_hotkey_is_derived_once_per_secret_content(derivations: list[bytes]) -> None:
    first = Keypair.create_from_uri("//hot-path-1")
    raw = serialized_keypair_to_keyfile_data(first)
    got = {hotkey_from_secret("m-0-hotkey", {"hotkey": raw}).ss58_address for _ in range(5)}
    assert got == {first.ss58_address}
    assert len(derivations) == 1
    # Another Secret's bytes (a rotated key) are derived afresh, and sign as the new key.
    second = Keypair.create_from_uri("//hot-path-2")
    kp = hotkey_from_secret("m-0-hotkey", {"hotkey": serialized_keypair_to_keyfile_data(second)})
    assert kp.ss58_address == second.ss58_address
    assert second.verify(b"msg", kp.sign(b"msg"))
    assert len(derivations) == 2


def test_a_cached_refusal_still_names_the_secret_each_time(derivations: list[bytes]) -> None:
    public_only = serialized_keypair_to_keyfile_data(
        Keypair(ss58_address=Keypair.create_from_uri("//pub").ss58_address)
    )
    for name in ("a-hotkey", "b-hotkey"):
        with pytest.raises(SecretKeyError, match=f"Secret {name} holds a public key only"):
            hotkey_from_secret(name, {"hotkey": public_only})
        with pytest.raises(SecretKeyError, match=f"Secret {name} key 'hotkey' is not a btcli"):
            hotkey_from_secret(name, {"hotkey": b"not json"})
    assert len(derivations) == 2  # one per content, not per call


# -- the workload pod: from the pod watch, one reconcile per burst of moves ----------------------


class _PodReads:
    """A Kube whose only calls are applies (dropped) and pod GETs (counted)."""

    def __init__(self) -> None:
        self.gets: list[str] = []
        self.applied = AppliedManifests()

    async def apply(self, manifest: dict[str, Any]) -> None:
        return None

    async def pod(self, ns: str, name: str) -> PodState | None:
        self.gets.append(name)
        return PodState(name=name, node="from-get")


def _miner_run() -> NeuronRun:
    body = {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {"name": "m", "namespace": "ns", "uid": "u-1", "generation": 1},
        "spec": {"subnetRef": {"name": "sn"}, "image": "img", "coldkeySecretRef": {"name": "ck"}},
    }
    run = NeuronRun.begin("Miner", body, {}, 5.0)
    run.netuid, run.hotkey_secret = 1, "m-hotkey"
    return run


def test_the_workload_step_takes_the_pod_from_the_watch() -> None:
    kube = _PodReads()
    rt = Runtime(Config(), kube=kube, chain=object())  # type: ignore[arg-type]
    run = _miner_run()
    asyncio.run(n.workload(rt, run))
    assert kube.gets == ["m-0"] and run.pod == PodState(name="m-0", node="from-get")  # not seen yet
    watched = PodState(name="m-0", node="kwok-0", ip="127.64.0.9", running=True)
    rt.indexes.observe_pod("ns", "m-0", watched)
    run = _miner_run()
    asyncio.run(n.workload(rt, run))
    assert kube.gets == ["m-0"] and run.pod == watched  # no GET


def _pod_event(node: str | None, ip: str | None, phase: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "m-0",
            "namespace": "ns",
            "labels": {KIND_LABEL: "Miner", "app.kubernetes.io/instance": "m"},
        },
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase, **({"podIP": ip} if ip else {})},
    }


def test_a_burst_of_pod_moves_is_one_reconcile() -> None:
    async def scenario() -> tuple[list[Key], dict[tuple[str, str], PodState]]:
        runs: list[Key] = []
        rt = Runtime(Config(), kube=_PodReads(), chain=object())  # type: ignore[arg-type]

        async def reconcile(rt_: Runtime, ns: str, name: str) -> None:
            runs.append(("Miner", ns, name))

        rt.reconcilers = {"Miner": reconcile}
        handlers.STATE["runtime"] = rt
        try:
            # Created, scheduled, running (kwok makes these moves within milliseconds), and a
            # relisting that shows nothing new.
            for event in (
                ("ADDED", _pod_event(None, None, "Pending")),
                ("MODIFIED", _pod_event("kwok-0", None, "Pending")),
                ("MODIFIED", _pod_event("kwok-0", "127.64.0.9", "Running")),
                (None, _pod_event("kwok-0", "127.64.0.9", "Running")),
            ):
                await handlers.workload_pod(body=event[1], type=event[0])
            await asyncio.sleep(handlers.POD_KICK_DELAY_S + 0.3)
            assert len(runs) == 1
            await handlers.workload_pod(
                body=_pod_event("kwok-0", "127.64.0.9", "Running"), type=None
            )
            await asyncio.sleep(handlers.POD_KICK_DELAY_S + 0.3)
            assert len(runs) == 1  # nothing moved: no reconcile
            await handlers.workload_pod(body=_pod_event("kwok-0", None, "Running"), type="DELETED")
            await asyncio.sleep(0.05)  # a deletion is not delayed
            return runs, dict(rt.indexes.pods)
        finally:
            handlers.STATE.pop("runtime", None)

    runs, pods = asyncio.run(scenario())
    assert runs == [("Miner", "ns", "m")] * 2
    assert pods == {}


# -- Kopf's essence of every watched body, without deep-copying status and managedFields ---------


class _NoCopy:
    """A value that fails when deep-copied (stands for status and managedFields)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        raise AssertionError("deep-copied a part of the body the essence drops")


def _watched_body(status: Any, managed: Any) -> dict[str, Any]:
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {
            "name": "m",
            "namespace": "ns",
            "uid": "u-1",
            "resourceVersion": "42",
            "generation": 3,
            "labels": {"team": "a"},
            "annotations": {
                "note": "kept",
                "operator.subnetes.io/last-handled-configuration": '{"spec":{}}\n',
                "kopf.zalando.org/other-operator": "x",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
            },
            "ownerReferences": [{"kind": "Thing", "name": "t", "uid": "o-1"}],
            "finalizers": ["subnetes.io/finalizer"],
            "managedFields": managed,
        },
        "spec": {"subnetRef": {"name": "sn"}, "axonPort": 8091, "resources": {"gpu": 1}},
        "status": status,
    }


@pytest.mark.parametrize("extra", [None, [], ["status.phase"], [("spec", "axonPort")]])
def test_the_lean_diffbase_builds_kopfs_essence(extra: list[Any] | None) -> None:
    import kopf

    from subnetes.operator.diffbase import LeanAnnotationsDiffBaseStorage

    args = {"prefix": "operator.subnetes.io", "key": "last-handled-configuration"}
    status = {"phase": "Registered", "uid": 4, "conditions": [{"type": "Ready"}]}
    managed = [{"manager": "subnetes-operator", "fieldsV1": {"f:status": {}}}]
    body = kopf.Body(_watched_body(status, managed))
    want = kopf.AnnotationsDiffBaseStorage(**args).build(body=body, extra_fields=extra)
    got = LeanAnnotationsDiffBaseStorage(**args).build(body=body, extra_fields=extra)
    assert got == want
    assert got["spec"]["resources"] is not body["spec"]["resources"]  # still a copy
    if not extra:
        # Kopf's own build deep-copies the whole body first; the lean one never touches them.
        lean = kopf.Body(_watched_body(_NoCopy(), [_NoCopy()]))
        assert LeanAnnotationsDiffBaseStorage(**args).build(body=lean) == want
        with pytest.raises(AssertionError, match="deep-copied"):
            kopf.AnnotationsDiffBaseStorage(**args).build(body=lean)
