"""Indexes.observe against late watch events: a body older than a status the operator has
written (or seen) must not roll the in-memory status back, or the next epoch is folded onto an
old totalEmission."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from subnetes.operator import events
from subnetes.operator.config import Config
from subnetes.operator.runtime import Indexes, Runtime

KEY = ("Miner", "ns", "m-0")
REGISTERED = {"phase": "Registered", "netuid": 1, "uid": 0, "hotkey": "hk-0"}


def body(version: str | None, status: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "ns", "name": "m-0"}
    if version is not None:
        meta["resourceVersion"] = version
    return {"apiVersion": "subnetes.io/v1alpha1", "metadata": meta, "status": status}


class FakeServer:
    """One object's /status on an API server: merge patches, increasing resourceVersions, and
    every version kept so a test can replay it as a (late) watch event."""

    def __init__(self, status: dict[str, Any], version: int = 10) -> None:
        self.version = version
        self.status = dict(status)
        self.history: dict[int, dict[str, Any]] = {version: dict(status)}
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, kind, ns, name, patch) -> str:
        await asyncio.sleep(0)
        self.patches.append(patch)
        for k, v in patch.items():
            if v is None:
                self.status.pop(k, None)
            else:
                self.status[k] = v
        self.version += 1
        self.history[self.version] = dict(self.status)
        return str(self.version)

    def event(self, version: int) -> dict[str, Any]:
        return body(str(version), self.history[version])

    async def close(self) -> None:
        pass


def test_a_stale_event_after_a_write_does_not_roll_status_back() -> None:
    ix = Indexes()
    ix.observe("Miner", body("10", REGISTERED | {"lastEpochBlock": 100, "totalEmission": "1"}))
    ix.wrote(KEY, REGISTERED | {"lastEpochBlock": 140, "totalEmission": "2"}, "12")
    ix.observe("Miner", body("11", REGISTERED | {"lastEpochBlock": 100, "totalEmission": "1"}))
    assert ix.status[KEY]["lastEpochBlock"] == 140 and ix.status[KEY]["totalEmission"] == "2"
    assert ix.versions[KEY] == "12"
    # The event of our own write, then a newer one (someone else's patch), are taken.
    ix.observe("Miner", body("12", REGISTERED | {"lastEpochBlock": 140, "totalEmission": "2"}))
    newer = REGISTERED | {"lastEpochBlock": 140, "totalEmission": "2", "axon": "1.2.3.4:8091"}
    ix.observe("Miner", body("13", newer))
    assert ix.status[KEY] == newer and ix.versions[KEY] == "13"


def test_versions_compare_as_integers_not_strings() -> None:
    ix = Indexes()
    ix.wrote(KEY, REGISTERED | {"lastEpochBlock": 140}, "10")
    ix.observe("Miner", body("9", REGISTERED | {"lastEpochBlock": 100}))  # "9" > "10" as text
    assert ix.status[KEY]["lastEpochBlock"] == 140
    ix.observe("Miner", body("100", REGISTERED | {"lastEpochBlock": 180}))
    assert ix.status[KEY]["lastEpochBlock"] == 180


def test_a_write_answered_after_a_newer_event_keeps_the_newer_body() -> None:
    """The watch may bring our patch (and a later one) before the patch call returns."""
    ix = Indexes()
    later = REGISTERED | {"lastEpochBlock": 140, "axon": "1.2.3.4:8091"}
    ix.observe("Miner", body("13", later))
    ix.wrote(KEY, REGISTERED | {"lastEpochBlock": 140}, "12")
    assert ix.status[KEY] == later and ix.versions[KEY] == "13"


def test_without_comparable_versions_lastepochblock_never_moves_back() -> None:
    ix = Indexes()
    ix.wrote(KEY, REGISTERED | {"lastEpochBlock": 140, "totalEmission": "2"}, None)
    ix.observe("Miner", body("abc", REGISTERED | {"lastEpochBlock": 100, "totalEmission": "1"}))
    ix.observe("Miner", body(None, REGISTERED))  # no epoch yet: older too
    assert ix.status[KEY]["lastEpochBlock"] == 140
    ix.observe("Miner", body("abd", REGISTERED | {"lastEpochBlock": 180, "totalEmission": "3"}))
    assert ix.status[KEY]["lastEpochBlock"] == 180
    # A first sighting is always taken, and a deletion forgets the version.
    ix.observe("Miner", body("5", REGISTERED), deleted=True)
    assert KEY not in ix.status and KEY not in ix.versions and "hk-0" not in ix.hotkeys
    ix.observe("Miner", body("3", REGISTERED))
    assert ix.status[KEY] == REGISTERED and ix.hotkeys["hk-0"] == KEY


def test_emission_is_counted_once_when_watch_events_arrive_late() -> None:
    """Epochs 100, 140, 180 (10 rao each) with the watch always one write behind: every
    patch's totalEmission is the chain's total of that epoch (never an older status's)."""
    server = FakeServer(REGISTERED)
    rt = Runtime(Config(), kube=server, chain=object())  # type: ignore[arg-type]
    rt.indexes.observe("Miner", server.event(10))
    row = {"hotkey": "hk-0", "uid": 0, "emission": 10}

    async def go() -> None:
        writer = events.EpochWriter(rt)
        for i, block in enumerate((100, 140, 180)):
            writer.submit(1, block, [row | {"total_emission": 10 * (i + 1)}], time.monotonic())
            await writer.drain()
            # The watch now delivers the version before the one just written (late).
            rt.indexes.observe("Miner", server.event(server.version - 1))
        # A replayed epoch (repair after a reconnect) changes nothing.
        rt.indexes.observe("Miner", server.event(server.version - 2))
        writer.submit(1, 180, [row | {"total_emission": 30}], time.monotonic())
        await writer.drain()

    asyncio.run(go())
    totals = [p["totalEmission"] for p in server.patches]
    assert totals == ["0.000000010", "0.000000020", "0.000000030"]
    assert server.status["totalEmission"] == "0.000000030"
    assert server.status["lastEpochBlock"] == 180
    assert rt.indexes.status[KEY]["lastEpochBlock"] == 180


class NoList:
    async def list(self, kind: str, ns: str) -> list[dict[str, Any]]:
        raise AssertionError("listed every neuron of the namespace")


async def test_a_subnet_turning_ready_kicks_its_neurons_from_the_index() -> None:
    """Scale (issue 19): each Subnet turning Ready listed every Miner and Validator of its
    namespace (32 lists of 5,000 objects at start-up); the watch-fed index knows the refs."""
    from subnetes.operator.subnets import kick_waiting_neurons

    rt = Runtime(Config(), kube=NoList())  # type: ignore[arg-type]
    kicked: list[tuple[str, str, str]] = []
    rt.kick = lambda key, delay=0.0: kicked.append(key)  # type: ignore[method-assign]
    for kind, ns, name, ref in [
        ("Miner", "ns", "a", "sn-1"),
        ("Validator", "ns", "v", "sn-1"),
        ("Miner", "ns", "b", "sn-2"),
        ("Miner", "other", "c", "sn-1"),
    ]:
        meta = {"namespace": ns, "name": name}
        rt.indexes.observe(kind, {"metadata": meta, "spec": {"subnetRef": {"name": ref}}})
    rt.indexes.observe("Subnet", {"metadata": {"namespace": "ns", "name": "sn-1"}, "spec": {}})
    kick_waiting_neurons(rt, "ns", "sn-1")
    assert sorted(kicked) == [("Miner", "ns", "a"), ("Validator", "ns", "v")]
    rt.indexes.observe("Miner", {"metadata": {"namespace": "ns", "name": "a"}}, deleted=True)
    kicked.clear()
    kick_waiting_neurons(rt, "ns", "sn-1")
    assert kicked == [("Validator", "ns", "v")]


def test_the_index_keeps_no_managed_fields_or_annotations() -> None:
    """Scale (issue 19): the index holds a body per neuron; managedFields (a growing list of
    writers) and Kopf's last-handled-configuration annotation (a copy of the spec) were kept
    for 5,000 objects though nothing reads them. What the hotkey check reads stays."""
    idx = Indexes()
    meta = {
        "namespace": "ns",
        "name": "m-0",
        "uid": "u-0",
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "managedFields": [{"manager": "subnetes-operator", "fieldsV1": {"f:status": {}}}],
        "annotations": {"operator.subnetes.io/last-handled-configuration": "{...}"},
    }
    idx.observe("Miner", {"metadata": meta, "status": REGISTERED})
    kept = idx.bodies[KEY]["metadata"]
    assert "managedFields" not in kept and "annotations" not in kept
    assert kept["creationTimestamp"] == "2026-01-01T00:00:00Z" and kept["uid"] == "u-0"
    assert meta["managedFields"]  # the watched body itself is left alone
