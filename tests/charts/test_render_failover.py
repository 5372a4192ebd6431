"""Issue 18 #5: the platform chart's two chain replicas (chain.replicas=2, postgres storage only),
rendered offline with the pinned helm (``cluster``-marked only because helm is built with the
control plane). The flags the chart renders are the ones `subnetes chain run` takes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from subnetes.chain.cli import chain_group

from .render import FULL, chain_container, env_of, one, render, template

pytestmark = pytest.mark.cluster

PG = ["chain.storage.type=postgres", "chain.storage.postgres.urlSecretRef.name=chain-db"]


def test_one_replica_by_default() -> None:
    docs = render()
    sts = one(docs, "StatefulSet")
    assert sts["spec"]["replicas"] == 1
    assert not any(a.startswith("--failover") for a in chain_container(docs)["args"])
    assert "affinity" not in sts["spec"]["template"]["spec"]


def test_two_replicas_lead_or_stand_by_behind_one_service() -> None:
    # a values file: --set passes 4.5 as a string
    docs = render("chain.replicas=2", *PG, values={"chain": {"takeoverAfter": 4.5}})
    sts = one(docs, "StatefulSet")
    assert sts["spec"]["replicas"] == 2
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    c = chain_container(docs)
    assert {"--failover", "--takeover-after=4.5", "--advertise-url=http://$(POD_IP):9944"} <= set(
        c["args"]
    )
    assert env_of(c)["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    # both replicas answer readers: one Service selects both pods, ready while standing by
    svc = one(docs, "Service", f"{FULL}-chain")
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # the standby forwards submissions to the leader's pod: the chain's NetworkPolicy admits it
    policy = one(docs, "NetworkPolicy", f"{FULL}-chain")
    peers = [p["podSelector"]["matchLabels"] for p in policy["spec"]["ingress"][0]["from"]]
    assert any(peer.items() <= labels.items() for peer in peers if peer), peers
    anti = sts["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= labels.items()
    # every rendered flag is one `chain run` knows (it parses them before opening anything)
    run = CliRunner().invoke(chain_group, ["run", "--help"])
    for flag in ("--failover", "--takeover-after", "--advertise-url"):
        assert flag in run.output


def test_two_replicas_need_postgres_and_at_most_two() -> None:
    out = template("chain.replicas=2")
    assert out.returncode != 0
    assert "/chain/storage/type" in out.stderr and "postgres" in out.stderr
    out = template("chain.replicas=3", *PG)
    assert out.returncode != 0 and "/chain/replicas" in out.stderr
    out = template("chain.replicas=2", *PG, values={"chain": {"takeoverAfter": 0}})
    assert out.returncode != 0 and "/chain/takeoverAfter" in out.stderr


def test_the_chain_pdb_lets_one_of_two_replicas_go() -> None:
    one_pod = one(render("chain.podDisruptionBudget.enabled=true"), "PodDisruptionBudget")
    assert one_pod["spec"]["maxUnavailable"] == 0
    two = render("chain.podDisruptionBudget.enabled=true", "chain.replicas=2", *PG)
    pdb = one(two, "PodDisruptionBudget", f"{FULL}-chain")
    assert pdb["spec"]["maxUnavailable"] == 1
