"""Leader election: the pure Lease decision and the Elector against an in-memory Lease store."""

from __future__ import annotations

import datetime as dt

import pytest

from subnetes.operator import leader
from subnetes.operator.__main__ import _liveness
from subnetes.operator.leader import Action, Conflict, LeaseRecord, Observer, Timing, decide

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def test_no_lease_creates_it_holding_it() -> None:
    d = decide("a", None, None, 100.0, T0)
    assert d.action is Action.CREATE
    assert d.record == LeaseRecord("a", 15, T0, T0, 0)


def test_holder_renews_keeping_acquire_time_and_transitions() -> None:
    rec = LeaseRecord("a", 15, T0, T0, 3)
    later = T0 + dt.timedelta(seconds=5)
    d = decide("a", rec, 100.0, 105.0, later)
    assert d.action is Action.RENEW
    assert d.record == LeaseRecord("a", 15, T0, later, 3)


def test_live_lease_of_another_means_wait() -> None:
    rec = LeaseRecord("b", 15, T0, T0, 0)
    d = decide("a", rec, 100.0, 110.0, T0)
    assert d.action is Action.WAIT and d.holder == "b" and d.record is None
    assert d.expires_in == pytest.approx(5.0)


def test_expired_lease_is_taken_over_with_a_transition() -> None:
    rec = LeaseRecord("b", 15, T0, T0, 2)
    now = T0 + dt.timedelta(seconds=60)
    d = decide("a", rec, 100.0, 115.0, now)
    assert d.action is Action.ACQUIRE and d.holder == "b"
    assert d.record == LeaseRecord("a", 15, now, now, 3)


def test_expiry_uses_local_observation_not_the_remote_clock() -> None:
    # renewTime a day in the past (skewed holder clock), but we only just saw it change: wait.
    rec = LeaseRecord("b", 15, T0, T0 - dt.timedelta(days=1), 0)
    assert decide("a", rec, 100.0, 101.0, T0).action is Action.WAIT
    # Never seen before (observed_at None): a fresh candidate waits a full duration.
    assert decide("a", rec, None, 101.0, T0).action is Action.WAIT


def test_released_lease_is_free_at_once() -> None:
    rec = leader.released(LeaseRecord("b", 15, T0, T0, 4))
    assert rec.holder is None
    d = decide("a", rec, 100.0, 100.0, T0)
    assert d.action is Action.ACQUIRE and d.record.transitions == 5


def test_observer_restarts_the_clock_only_on_change() -> None:
    o = Observer()
    rec = LeaseRecord("b", 15, T0, T0, 0)
    o.observe(rec, "1", 10.0)
    o.observe(rec, "1", 20.0)
    assert o.observed_at == 10.0
    o.observe(rec, "2", 25.0)  # any write (new resourceVersion) shows the holder alive
    assert o.observed_at == 25.0
    o.observe(LeaseRecord("b", 15, T0, T0 + dt.timedelta(seconds=5), 0), "2", 30.0)
    assert o.observed_at == 30.0


def test_timing_holder_gives_up_before_others_take_over() -> None:
    Timing()  # defaults are consistent
    with pytest.raises(ValueError):
        Timing(lease_duration=10, renew_deadline=10, renew_interval=5)
    with pytest.raises(ValueError):
        Timing(lease_duration=15, renew_deadline=4, renew_interval=5)
    t = Timing.from_env({"SUBNETES_LEADER_ELECTION_LEASE_DURATION": "6",
                         "SUBNETES_LEADER_ELECTION_RENEW_DEADLINE": "4",
                         "SUBNETES_LEADER_ELECTION_RENEW_INTERVAL": "1"})  # fmt: skip
    assert (t.lease_duration, t.renew_deadline, t.renew_interval) == (6, 4, 1)


def test_split_args_and_identity() -> None:
    assert leader.split_args(["-n", "x", "--leader-election-lease=op", "--standalone"]) == (
        "op", None, ["-n", "x", "--standalone"],
    )  # fmt: skip
    assert leader.split_args(
        ["--leader-election-lease", "op", "--leader-election-namespace", "ns", "-A"]
    ) == ("op", "ns", ["-A"])
    assert leader.split_args(["-A"]) == (None, None, ["-A"])
    with pytest.raises(SystemExit):
        leader.split_args(["--leader-election-lease"])
    assert leader.identity_from_env({"POD_NAME": "op-7f9"}) == "op-7f9"
    assert leader.identity_from_env({}).endswith(f"-{__import__('os').getpid()}")
    assert _liveness(["--liveness", "http://h:1/x"]) == "http://h:1/x"
    assert _liveness(["--liveness=http://h:2/x"]) == "http://h:2/x"


# ---- the Elector with a fake clock and an in-memory store (optimistic concurrency) ----------


class FakeStore:
    namespace, name = "ns", "lease"

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.down = False

    def get(self):
        if self.down:
            raise ConnectionError("api down")
        return self.record, (str(self.version) if self.record else None)

    def create(self, record):
        if self.down:
            raise ConnectionError("api down")
        if self.record is not None:
            raise Conflict("exists")
        self.record, self.version = record, 1
        return "1"

    def update(self, record, version):
        if self.down:
            raise ConnectionError("api down")
        if version != str(self.version):
            raise Conflict("stale")
        self.record, self.version = record, self.version + 1
        return str(self.version)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def elector(store, name, clock) -> leader.Elector:
    return leader.Elector(store, name, Timing(), clock=clock, wall=lambda: T0)


def test_two_electors_one_holder_and_takeover_after_expiry() -> None:
    store, clock = FakeStore(), Clock()
    a, b = elector(store, "a", clock), elector(store, "b", clock)
    assert a.try_once() is True
    assert b.try_once() is False and store.record.holder == "a"
    clock.t += 5
    assert a.try_once() is True  # renew
    clock.t += 2
    assert b.try_once() is False  # saw the renewal: its clock restarts
    clock.t += 14
    assert b.try_once() is False  # 14 s since it saw a change: still a's
    clock.t += 1.5
    assert b.try_once() is True and store.record.holder == "b"
    assert store.record.transitions == 1
    # a comes back: the record changed under it, and it is b's now.
    assert a.try_once() is False and store.record.holder == "b"


def test_racing_candidates_exactly_one_wins() -> None:
    store, clock = FakeStore(), Clock()
    store.record, store.version = LeaseRecord("dead", 15, T0, T0, 0), 7
    a, b = elector(store, "a", clock), elector(store, "b", clock)
    assert not a.try_once() and not b.try_once()  # both start observing
    clock.t += 16
    real_update = store.update

    def a_writes_first(record, version):  # a wins between b's read and b's write
        store.update = real_update
        assert a.try_once() is True
        return real_update(record, version)

    store.update = a_writes_first
    assert b.try_once() is False  # b's write carried a stale resourceVersion: 409
    assert store.record.holder == "a" and store.record.transitions == 1


def test_renew_loop_gives_up_after_the_deadline() -> None:
    store, clock = FakeStore(), Clock()
    e = elector(store, "a", clock)
    assert e.try_once()
    lost: list[str] = []

    class Stop(Exception):
        pass

    def wait(seconds: float) -> bool:
        clock.t += seconds
        if clock.t > 1100:
            raise Stop
        return False

    e._stop.wait = wait  # drive the loop with the fake clock
    clock.t += 5
    store.down = True
    e.renew_loop(lost.append)
    assert lost and "could not renew" in lost[0]
    assert clock.t - 1000 >= 10 and clock.t - 1000 < 15  # before anyone may take over


def test_renew_loop_stops_when_someone_else_holds_it() -> None:
    store, clock = FakeStore(), Clock()
    e = elector(store, "a", clock)
    assert e.try_once()
    store.record = LeaseRecord("b", 15, T0, T0, 1)
    store.version += 1
    e._stop.wait = lambda s: bool(setattr(clock, "t", clock.t + s))
    lost: list[str] = []
    e.renew_loop(lost.append)
    assert lost == ["lease ns/lease is now held by b"]


def test_release_hands_the_lease_back() -> None:
    store, clock = FakeStore(), Clock()
    a, b = elector(store, "a", clock), elector(store, "b", clock)
    assert a.try_once() and not b.try_once()
    a.release()
    assert store.record.holder is None
    assert b.try_once() is True  # no waiting out the duration


def test_standby_health_answers_then_frees_the_port() -> None:
    import urllib.request

    from subnetes.localnet.cluster import free_port

    port = free_port()
    stop = leader.standby_health(f"http://127.0.0.1:{port}/healthz")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        assert r.status == 200
    stop()
    import socket

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))  # Kopf can bind it now
    s.close()


def test_chart_leader_role_matches_rbac_data() -> None:
    """The chart's namespaced "-operator-leader" Role grants exactly LEADER_ELECTION_RULES."""
    import yaml

    from subnetes.operator import rbac
    from subnetes.operator.paths import REPO_ROOT

    text = (REPO_ROOT / "charts/subnetes/templates/operator-rbac.yaml").read_text()
    # The leader Role, not the per-namespace operator Role that precedes it (watchNamespaces).
    block = text[text.index("kind: Role\nmetadata:\n  name: {{ $full }}-operator-leader\n") :]
    rules = block[block.index("rules:") : block.index("---")]
    assert yaml.safe_load(rules)["rules"] == rbac.LEADER_ELECTION_RULES
    role = rbac.leader_election_role("ops")
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "ops"
    binding = rbac.leader_election_role_binding("ops", "sa", "r")
    assert binding["roleRef"]["name"] == "r" and binding["subjects"][0]["name"] == "sa"
