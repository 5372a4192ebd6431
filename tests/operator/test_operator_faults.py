"""Test-only fault injection (operator/faults.py) and the lease fence before every write.

Pure: a subprocess for the kill itself, fakes for the Lease and the reconcile steps.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from test_operator_leader import Clock, FakeStore, elector

from subnetes.operator import faults, leader
from subnetes.operator.paths import REPO_ROOT
from subnetes.operator.steps import CONTINUE, Done, run_steps


def test_parse_point_and_count() -> None:
    assert faults.parse(None) is None and faults.parse("") is None
    assert faults.parse("burned_register") == ("burned_register", 1)
    assert faults.parse("add_stake:3") == ("add_stake", 3)
    assert faults.parse("step:register") == ("step:register", 1)
    assert faults.parse("step:register:2") == ("step:register", 2)


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "from subnetes.operator import faults\n"
        "for i in range(3):\n"
        "    faults.reached('other'); faults.reached('add_stake'); print('passed', i, flush=True)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin"} | env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )


def test_kill_at_the_nth_time_a_point_is_reached() -> None:
    r = _run({faults.KILL_ENV: "add_stake:2"})
    assert r.returncode == -signal.SIGKILL
    assert r.stdout.split("\n")[:-1] == ["passed 0"]
    assert "fault injection: kill at add_stake" in r.stderr


def test_unset_is_a_no_op() -> None:
    r = _run({})
    assert r.returncode == 0 and r.stdout.count("passed") == 3


def test_no_shipped_manifest_sets_a_fault_variable() -> None:
    """Test-only: the chart, the image and the examples never set the hooks."""
    for top in ("charts", "examples", "localnet"):
        for path in (REPO_ROOT / top).rglob("*"):
            if path.is_file() and path.suffix in {".yaml", ".yml", ".tpl", ".py", ".json"}:
                assert "SUBNETES_FAULT_" not in path.read_text(errors="replace"), path
    assert "SUBNETES_FAULT_" not in (REPO_ROOT / "Dockerfile").read_text()


def test_run_steps_reaches_a_point_after_each_step(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(faults, "reached", seen.append)

    async def pay(rt: object, run: object) -> object:
        return CONTINUE

    async def report(rt: object, run: object) -> object:
        return Done("view")

    asyncio.run(run_steps((pay, report), None, None))  # type: ignore[arg-type]
    assert seen == ["step:pay", "step:report"]


# ---- the fence ------------------------------------------------------------------------------


@pytest.fixture
def fenced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """exit_now records the reason and raises instead of ending the test process."""
    exits: list[str] = []

    def fake_exit(reason: str) -> None:
        exits.append(reason)
        raise SystemExit(1)

    monkeypatch.setattr(leader, "exit_now", fake_exit)
    monkeypatch.setattr(leader, "_active", None)
    return exits


def test_without_leader_election_writes_are_not_fenced(fenced: list[str]) -> None:
    leader.fence("patch Miner/m/status")
    assert fenced == []


def test_the_holder_writes_until_its_renew_deadline_then_exits(
    fenced: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, clock = FakeStore(), Clock()
    a = elector(store, "a", clock)
    assert a.try_once()
    a._stop.set()  # the renewal thread ends at once: the fake clock decides
    a.start_renewing(lambda reason: None)
    monkeypatch.setenv(faults.WRITE_LOG_ENV, str(tmp_path / "writes"))
    clock.t += a.timing.renew_deadline - 0.01
    leader.fence("patch Miner/m/status")
    assert fenced == []
    assert (tmp_path / "writes").read_text().endswith(" patch Miner/m/status\n")
    clock.t += 0.02  # frozen past its renew deadline (SIGSTOP, a GC pause): not a leader now
    with pytest.raises(SystemExit):
        leader.fence("submit add_stake")
    assert "refusing to submit add_stake" in fenced[0]
    assert "add_stake" not in (tmp_path / "writes").read_text()


def test_a_holder_that_saw_another_take_the_lease_writes_nothing(fenced: list[str]) -> None:
    store, clock = FakeStore(), Clock()
    a, b = elector(store, "a", clock), elector(store, "b", clock)
    assert a.try_once() and not b.try_once()
    a._stop.set()
    a.start_renewing(lambda reason: None)
    clock.t += 16
    assert b.try_once()  # b takes over the expired lease
    clock.t -= 15  # even within a's deadline (clocks differ), seeing b's record fences a
    assert not a.try_once()
    with pytest.raises(SystemExit):
        leader.fence("apply StatefulSet/m")
    assert fenced


def test_every_kube_write_and_extrinsic_goes_through_the_fence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The facades call the fence first: a refused fence means no request at all."""
    from subnetes.operator import chainlink, kube

    class Refused(Exception):
        pass

    def refuse(what: str) -> None:
        raise Refused(what)

    monkeypatch.setattr(kube, "fence", refuse)
    monkeypatch.setattr(chainlink, "fence", refuse)

    class NoClient:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"the client was used: {name}")

    k = kube.Kube(client=NoClient())  # type: ignore[arg-type]
    body = {"kind": "Miner", "metadata": {"name": "m", "namespace": "ns"}}
    writes = [
        k.apply({"kind": "StatefulSet", "metadata": {"name": "m"}}),
        k.create_secret_if_absent({"kind": "Secret", "metadata": {"name": "s"}}),
        k.patch_status("Miner", "ns", "m", {}),
        k.patch_metadata("Miner", "ns", "m", {}),
        k.event(body, "Normal", "R", "msg"),
    ]
    chain = chainlink.Chain("http://127.0.0.1:9", client=_Recorder())  # type: ignore[arg-type]
    kp = None
    writes += [
        chain.register_network(kp, "hk", None),  # type: ignore[arg-type]
        chain.dissolve_network(kp, 1),  # type: ignore[arg-type]
        chain.set_hyperparameter(kp, 1, "tempo", 10),  # type: ignore[arg-type]
        chain.burned_register(kp, 1, "hk", None),  # type: ignore[arg-type]
        chain.add_stake(kp, "hk", 1),  # type: ignore[arg-type]
        chain.remove_stake(kp, "hk", 1),  # type: ignore[arg-type]
        chain.set_take(kp, "hk", 1),  # type: ignore[arg-type]
        chain.serve_axon(kp, 1, "127.0.0.1", 1),  # type: ignore[arg-type]
    ]
    for w in writes:
        with pytest.raises(Refused):
            asyncio.run(w)
    assert _Recorder.sent == []


class _Recorder:
    """A chain client whose calls only record that they ran."""

    sent: ClassVar[list[str]] = []

    def __getattr__(self, name: str) -> object:
        async def call(*args: object, **kwargs: object) -> dict[str, object]:
            _Recorder.sent.append(name)
            return {"events": []}

        return call
