"""The operator skips re-applying children it applied unchanged lately (operator/applied.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from subnetes.operator.applied import AppliedManifests, manifest_digest
from subnetes.operator.kube import Kube


def sts(name: str = "m", replicas: int = 1, instance: str = "m", ns: str = "ns") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app.kubernetes.io/instance": instance},
        },
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": instance}},
            "template": {"spec": {"containers": [{"name": "c", "image": "example/c:1"}]}},
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_digest_ignores_key_order_and_sees_any_change() -> None:
    a = {"kind": "Service", "metadata": {"name": "x", "namespace": "n"}, "spec": {"a": 1, "b": 2}}
    b = {"spec": {"b": 2, "a": 1}, "metadata": {"namespace": "n", "name": "x"}, "kind": "Service"}
    assert manifest_digest(a) == manifest_digest(b)
    assert manifest_digest(a) != manifest_digest(a | {"spec": {"a": 1, "b": 3}})


def test_unchanged_until_changed_expired_or_forgotten() -> None:
    clock = Clock()
    seen = AppliedManifests(ttl=600, clock=clock)
    assert not seen.unchanged(sts())
    seen.remember(sts())
    assert seen.unchanged(sts())
    assert not seen.unchanged(sts(replicas=0))  # a changed spec is applied
    assert not seen.unchanged(sts(ns="other"))  # another object
    clock.now = 599.0
    assert seen.unchanged(sts())
    clock.now = 600.0  # resync: a hand edit is repaired within ttl
    assert not seen.unchanged(sts())
    seen.remember(sts())
    seen.forget(sts())
    assert not seen.unchanged(sts())


def test_forget_instance_drops_only_that_owners_children() -> None:
    seen = AppliedManifests()
    svc = sts() | {"apiVersion": "v1", "kind": "Service"}
    for m in (sts(), svc, sts("n", instance="n"), sts(ns="other")):
        seen.remember(m)
    seen.forget_instance("ns", "m")
    assert not seen.unchanged(sts()) and not seen.unchanged(svc)
    assert seen.unchanged(sts("n", instance="n")) and seen.unchanged(sts(ns="other"))
    seen.forget_named("StatefulSet", "ns", "n")
    assert not seen.unchanged(sts("n", instance="n")) and len(seen) == 1


class RecordingClient:
    """Records server-side applies; ``fail`` makes the next one raise."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.fail = False

    async def apply(self, obj: Any, field_manager: str, force: bool) -> None:
        if self.fail:
            self.fail = False
            raise RuntimeError("API server unavailable")
        self.applied.append(obj.to_dict())


def test_kube_apply_sends_an_unchanged_child_once() -> None:
    """Before: every reconcile re-sent its StatefulSet and Service (578 + 560 applies in 40 s
    at 2,000 neurons), ahead of the epoch status writes."""
    client = RecordingClient()
    kube = Kube(client)  # type: ignore[arg-type]

    async def go() -> None:
        await kube.apply(sts())
        await kube.apply(sts())
        await kube.apply(sts(replicas=0))  # changed: sent
        client.fail = True
        with pytest.raises(RuntimeError):
            await kube.apply(sts(replicas=1))
        await kube.apply(sts(replicas=1))  # the failed apply is not remembered

    asyncio.run(go())
    assert [m["spec"]["replicas"] for m in client.applied] == [1, 0, 1]
