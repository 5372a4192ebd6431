"""examples/gitops/flux reconciled by Flux's own controllers, for real (issue 15 #1-#4).

What runs where (the honest part):
- Flux's source-, kustomize- and helm-controller run as processes on this machine, out of
  cluster, with the local control plane's admin kubeconfig (as `flux install` gives them
  cluster-admin), every listener on 127.0.0.1 (flux_harness.py).
- The Git host is `git http-backend` behind a loopback HTTP server, holding a commit of this
  working tree's charts/ and examples/. The user's two edits are the only ones: the
  GitRepository's URL (in the copy the test applies) and the HelmRelease's genesis-balance
  placeholders (in the commit: the chart refuses them, by design).
- helm-controller installs the platform chart for real (CRDs included); its pods (chain
  StatefulSet, operator Deployment) are scheduled on the kwok nodes, where they are faked Running
  and Ready: nothing runs in them. The network is served instead by a real chain (`subnetes chain
  run`, dev profile, short blocks, so the Subnet's lock cost and burns are affordable) and the
  real operator (`--standalone -n compute` under its least-privilege ClusterRole), both started
  by this test on this machine, as the operator's own cluster tests do. So Flux's part (fetch,
  build, apply, dependsOn, health via kstatus) and the operator's part (registration, status,
  conditions) are both real; only the chart's two pods are stand-ins.

Tests run in file order and build on each other's state: they share the module's controllers,
chain, operator and Git repository.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from argocd_health import argo_health
from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data
from flux_harness import FLUX_NAMESPACE, FluxControllers, GitServer, install_flux_crds

from subnetes.chain.client import ChainClient
from subnetes.localnet.cluster import REPO_ROOT, LocalCluster

# The operator's harness (chain process, restricted kubeconfig) lives with its tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
from operator_harness import (
    ChainProcess,
    OperatorProcess,
    delete_rbac,
    restricted_kubeconfig,
    strip_finalizers,
    wait_for,
)

FLUX_DIR = Path("examples/gitops/flux")
NETWORK_DIR = Path("examples/compute-subnet")
TAO = 10**9
PLACEHOLDERS = {
    "<owner coldkey SS58 address>": "owner-coldkey",
    "<neuron coldkey SS58 address>": "neuron-coldkey",
}
NETWORK_PLURALS = ("subnets", "validators", "miners")

Obj = dict[str, Any]


def docs_of(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kget(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json", check=True).stdout)


def condition(obj: Obj, type_: str) -> Obj:
    conds = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conds if c["type"] == type_), {})


def is_ready(obj: Obj) -> bool:
    """Ready=True for the object's current generation (Flux's and the operator's convention)."""
    status = obj.get("status") or {}
    return condition(obj, "Ready").get("status") == "True" and status.get(
        "observedGeneration"
    ) == obj["metadata"].get("generation")


class Layout:
    """What the examples declare, read from the committed tree (C may rename things: the test
    follows the files, not a copy of their names)."""

    def __init__(self, work: Path) -> None:
        user = [d for f in sorted((work / FLUX_DIR).glob("*.yaml")) for d in docs_of(f)]
        everything = [d for f in sorted((work / FLUX_DIR).rglob("*.yaml")) for d in docs_of(f)]
        self.user_applied = user
        (self.git_repo,) = [d for d in user if d["kind"] == "GitRepository"]
        self.kustomizations = [d for d in everything if d["kind"] == "Kustomization"]
        (self.helm_release,) = [d for d in everything if d["kind"] == "HelmRelease"]
        (self.network,) = [
            k for k in self.kustomizations if Path(k["spec"]["path"]) == Path(f"./{NETWORK_DIR}")
        ]
        self.network_ns: str = self.network["spec"]["targetNamespace"]

    def names(self, kind: str) -> list[tuple[str, str]]:
        objs = self.kustomizations if kind == "Kustomization" else [self.helm_release]
        return [
            (o["metadata"].get("namespace", FLUX_NAMESPACE), o["metadata"]["name"]) for o in objs
        ]


def flux_object(cluster: LocalCluster, plural: str, ns: str, name: str) -> Obj:
    """The object, or {} while it does not exist yet (Flux creates some of them)."""
    proc = cluster.kubectl("get", plural, name, "-n", ns, "-o", "json")
    if proc.returncode != 0 and "NotFound" in proc.stderr:
        return {"metadata": {}}
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def network_objects(cluster: LocalCluster, ns: str) -> list[Obj]:
    return [o for p in NETWORK_PLURALS for o in kget(cluster, p, "-n", ns)["items"]]


def assert_views_agree(cluster: LocalCluster, layout: Layout, revision: str) -> list[Obj]:
    """Flux's kstatus view (the network Kustomization, `wait: true`, Ready at ``revision``), the
    operator's conditions and Argo CD's health.lua say the same: every object Ready/Healthy."""
    ks = flux_object(cluster, "kustomizations", FLUX_NAMESPACE, layout.network["metadata"]["name"])
    assert is_ready(ks), condition(ks, "Ready")
    assert ks["status"]["lastAppliedRevision"].endswith(revision), ks["status"]
    objs = network_objects(cluster, layout.network_ns)
    for obj in objs:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        assert is_ready(obj), (name, obj.get("status"))
        assert condition(obj, "Stalled").get("status") != "True", name
        assert argo_health(obj)["status"] == "Healthy", (name, argo_health(obj))
    # The Kustomization's inventory is exactly the network: nothing more was applied.
    inventory = {e["id"].split("_")[1] + "/" + e["id"].split("_")[-1]
                 for e in ks["status"]["inventory"]["entries"]}  # fmt: skip
    assert {f"{o['metadata']['name']}/{o['kind']}" for o in objs} == inventory
    return objs


@pytest.fixture(scope="module")
def keys() -> dict[str, Keypair]:
    return {secret: Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
            for secret in PLACEHOLDERS.values()}  # fmt: skip


def cleanup(cluster: LocalCluster, ns: str, platform_ns: str) -> None:
    """Whatever an earlier run (or this one) left: Flux objects first (so nothing re-creates
    what follows), then the network's objects (finalizers stripped: no operator), the release's
    namespaces and the PV."""
    for plural in ("kustomizations", "helmreleases", "helmcharts", "gitrepositories"):
        for item in kget(cluster, plural, "-A")["items"]:
            meta = item["metadata"]
            # No controller may be left to run the finalizer: strip it, then delete.
            cluster.kubectl("patch", plural, meta["name"], "-n", meta["namespace"],
                            "--type=merge", "-p", '{"metadata":{"finalizers":null}}')  # fmt: skip
            cluster.kubectl("delete", plural, meta["name"], "-n", meta["namespace"],
                            "--ignore-not-found")  # fmt: skip
    if cluster.kubectl("get", "namespace", ns).returncode == 0:
        strip_finalizers(cluster, ns)
    for name in (ns, platform_ns):
        cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=true",
                        "--timeout=120s")  # fmt: skip
    cluster.kubectl("delete", "pv", "flux-chain-data", "--ignore-not-found", "--wait=true",
                    "--timeout=60s")  # fmt: skip
    cluster.kubectl("delete", "clusterrolebinding,clusterrole", "-l",
                    "app.kubernetes.io/instance=subnetes", "--ignore-not-found")  # fmt: skip


@pytest.fixture(scope="module")
def flux(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory,
         keys: dict[str, Keypair]) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Flux's controllers, the Git server with the seed commit, the chain, the applied
    examples; the operator starts once the platform (its CRDs, the namespace) is in place."""
    tmp = tmp_path_factory.mktemp("flux")
    server = GitServer(tmp / "git")
    server.seed(REPO_ROOT, ["charts", "examples"])
    layout = Layout(server.work)
    hr_ns, _ = layout.names("HelmRelease")[0]
    cluster.kubectl("create", "namespace", FLUX_NAMESPACE)  # what `flux install` creates
    install_flux_crds(cluster)
    cleanup(cluster, layout.network_ns, hr_ns)

    # The user's edit in their fork: real coldkey addresses instead of the placeholders.
    def fund_at_genesis(work: Path) -> None:
        for path in (work / FLUX_DIR).rglob("*.yaml"):
            text = path.read_text()
            for placeholder, secret in PLACEHOLDERS.items():
                text = text.replace(placeholder, keys[secret].ss58_address)
            path.write_text(text)

    seed = server.commit("flux: our coldkeys funded at genesis", fund_at_genesis)

    chain = ChainProcess(tmp)
    with ChainClient(chain.endpoint) as client:
        for kp in keys.values():
            client.faucet(kp, 50_000 * TAO)

    # The chain's PVC (volumeClaimTemplate `data` of StatefulSet subnetes-chain) binds to this
    # PV, reserved for it: the kwok cluster has no provisioner, a real one would make it.
    cluster.apply_manifests([{
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "flux-chain-data"},
        "spec": {
            "capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "", "hostPath": {"path": str(tmp / "pv")},
            "claimRef": {"namespace": hr_ns, "name": "data-subnetes-chain-0"},
        },
    }])  # fmt: skip

    controllers = FluxControllers(cluster.kubeconfig, tmp / "controllers")
    (tmp / "controllers").mkdir()
    controllers.start()
    state: dict[str, Any] = {
        "server": server, "layout": layout, "controllers": controllers, "chain": chain,
        "revisions": [seed], "operator": None, "role": None, "tmp": tmp,
    }  # fmt: skip
    try:
        yield state
    finally:
        if state["operator"] is not None:
            # Let the operator see the network go (prune), then stop everything.
            cluster.kubectl("delete", "kustomization", layout.network["metadata"]["name"],
                            "-n", FLUX_NAMESPACE, "--timeout=60s")  # fmt: skip
            state["operator"].stop()
        controllers.stop()
        cleanup(cluster, layout.network_ns, hr_ns)
        if state["role"]:
            delete_rbac(cluster, state["role"])
        chain.stop()
        server.stop()


def debug(cluster: LocalCluster, state: dict[str, Any]) -> str:
    op = state["operator"]
    flux = cluster.kubectl("get", "gitrepositories,kustomizations,helmreleases", "-A", "-o",
                           "yaml").stdout  # fmt: skip
    return (flux[-5000:] + state["controllers"].output(2000)
            + (op.output()[-3000:] if op else ""))  # fmt: skip


def test_flux_reconciles_the_examples(cluster: LocalCluster, flux: dict[str, Any],
                                      keys: dict[str, Keypair]) -> None:  # fmt: skip
    """As a user would: `kubectl apply -f examples/gitops/flux/` with the URL changed; the
    GitRepository, the HelmRelease and every Kustomization become Ready, and so do the network's
    Subnet, Validators and Miners, with UIDs."""
    layout: Layout = flux["layout"]
    server: GitServer = flux["server"]
    dbg = lambda: debug(cluster, flux)  # noqa: E731
    applied = []
    for doc in layout.user_applied:
        doc = json.loads(json.dumps(doc))
        if doc["kind"] == "GitRepository":
            doc["spec"]["url"] = server.url  # the one edit: your fork's URL
        applied.append(doc)
    cluster.apply_manifests(applied)

    repo_ns = layout.git_repo["metadata"]["namespace"]
    repo = wait_for("GitRepository Ready", lambda: is_ready(
        g := flux_object(cluster, "gitrepositories", repo_ns, layout.git_repo["metadata"]["name"])
    ) and g, 120, debug=dbg)  # fmt: skip
    assert repo["status"]["artifact"]["revision"].endswith(flux["revisions"][-1])
    assert repo["status"]["artifact"]["url"].startswith("http://127.0.0.1:")

    ((hr_ns, hr_name),) = layout.names("HelmRelease")
    hr = wait_for("HelmRelease Ready", lambda: is_ready(
        h := flux_object(cluster, "helmreleases", hr_ns, hr_name)) and h, 300, debug=dbg)  # fmt: skip
    assert hr["status"]["history"][0]["status"] == "deployed", hr["status"]
    # The chart's CRDs came with the release; the network's namespace with the platform.
    cluster.kubectl("get", "crd/subnets.subnetes.io", check=True)
    wait_for("network namespace", lambda: cluster.kubectl(
        "get", "serviceaccount/default", "-n", layout.network_ns).returncode == 0, 60)  # fmt: skip

    # What the examples tell the user to do next: the coldkey Secrets; here also the operator
    # and chain that the kwok nodes cannot run (module docstring).
    ns = layout.network_ns
    for secret, kp in keys.items():
        data = base64.b64encode(serialized_keypair_to_keyfile_data(kp)).decode()
        cluster.apply_manifests([{
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": secret, "namespace": ns}, "data": {"coldkey": data},
        }])  # fmt: skip
    kubeconfig = flux["tmp"] / "operator.kubeconfig"
    flux["role"] = restricted_kubeconfig(cluster, ns, kubeconfig)
    op = OperatorProcess(ns, kubeconfig, flux["chain"].endpoint, flux["tmp"] / "operator.log")
    op.start()
    flux["operator"] = op

    for ks_ns, ks_name in layout.names("Kustomization"):
        wait_for(f"Kustomization {ks_name} Ready", lambda n=ks_ns, k=ks_name: is_ready(
            flux_object(cluster, "kustomizations", n, k)), 300, debug=dbg)  # fmt: skip
    objs = assert_views_agree(cluster, layout, flux["revisions"][-1])
    expected = {(d["kind"], d["metadata"]["name"])
                for f in sorted((server.work / NETWORK_DIR).glob("*.yaml")) for d in docs_of(f)}  # fmt: skip
    assert {(o["kind"], o["metadata"]["name"]) for o in objs} == expected
    assert all(o["metadata"]["uid"] for o in objs)
    neurons = [o for o in objs if o["kind"] != "Subnet"]
    uids = [o["status"]["uid"] for o in neurons]
    assert len(set(uids)) == len(neurons) and 0 not in uids  # UID 0 is the subnet owner's
    # The HelmRelease stays Ready, and so does the platform's view in Argo CD terms.
    assert is_ready(flux_object(cluster, "helmreleases", hr_ns, hr_name))


def test_a_pushed_change_is_reconciled(cluster: LocalCluster, flux: dict[str, Any]) -> None:
    """A commit that changes a Subnet hyperparameter and a Miner's axon port: Flux applies it,
    the operator applies it to the chain, and Flux reports Ready only once the operator has
    observed the new generation (kstatus), as health.lua says Healthy."""
    layout: Layout = flux["layout"]
    server: GitServer = flux["server"]
    ns = layout.network_ns
    dbg = lambda: debug(cluster, flux)  # noqa: E731
    subnet = kget(cluster, "subnets", "-n", ns)["items"][0]
    netuid = subnet["status"]["netuid"]
    miner = sorted(o["metadata"]["name"] for o in kget(cluster, "miners", "-n", ns)["items"])[-1]
    before = {o["metadata"]["name"]: o for o in network_objects(cluster, ns)}
    cutoff = int(subnet["spec"]["hyperparameters"]["activityCutoff"]) + 100

    def edit(work: Path) -> None:
        for path in sorted((work / NETWORK_DIR).glob("*.yaml")):
            docs = docs_of(path)
            for d in docs:
                if d["kind"] == "Subnet":
                    d["spec"]["hyperparameters"]["activityCutoff"] = cutoff
                if d["kind"] == "Miner" and d["metadata"]["name"] == miner:
                    d["spec"]["axonPort"] = 8092
            path.write_text(yaml.safe_dump_all(docs, sort_keys=False))

    # The operator is stopped while Flux applies the commit, so the in-between state holds
    # still: the new generations are not observed yet. Flux (kstatus, through the
    # healthCheckExprs) must not call the network Ready, and health.lua must say Progressing.
    op: OperatorProcess = flux["operator"]
    op.stop()
    sha = server.commit(f"network: activityCutoff {cutoff}, {miner} serves on 8092", edit)
    flux["revisions"].append(sha)
    request_reconcile(cluster, layout)
    changed = (subnet["metadata"]["name"], miner)

    def applied() -> bool:
        live = {o["metadata"]["name"]: o for o in network_objects(cluster, ns)}
        return all(
            live[n]["metadata"]["generation"] > before[n]["metadata"]["generation"] for n in changed
        )

    wait_for("Flux to apply the new commit", applied, 120, debug=dbg)
    ks_name = layout.network["metadata"]["name"]
    ks = wait_for("Flux to check the network's health at the new commit", lambda: (
        k := flux_object(cluster, "kustomizations", FLUX_NAMESPACE, ks_name)
    )["status"].get("lastAttemptedRevision", "").endswith(sha) and k, 60, debug=dbg)  # fmt: skip
    assert condition(ks, "Ready").get("status") != "True", condition(ks, "Ready")
    assert not ks["status"]["lastAppliedRevision"].endswith(sha) or not is_ready(ks)
    for obj in network_objects(cluster, ns):
        if obj["metadata"]["name"] in changed:
            assert not is_ready(obj)
            assert argo_health(obj)["status"] == "Progressing", argo_health(obj)
    op.start()

    def reconciled() -> bool:
        ks = flux_object(cluster, "kustomizations", FLUX_NAMESPACE,
                         layout.network["metadata"]["name"])  # fmt: skip
        return is_ready(ks) and ks["status"]["lastAppliedRevision"].endswith(sha)

    wait_for("network Kustomization Ready at the new commit", reconciled, 240, debug=dbg)
    objs = {o["metadata"]["name"]: o for o in assert_views_agree(cluster, layout, sha)}
    assert objs[miner]["metadata"]["generation"] > before[miner]["metadata"]["generation"]
    subnet_now = objs[subnet["metadata"]["name"]]
    assert subnet_now["metadata"]["uid"] == subnet["metadata"]["uid"]  # updated, not replaced
    assert condition(subnet_now, "HyperparametersApplied").get("status") == "True"
    # On the chain: the new hyperparameter, the miner's axon on its new port.
    with ChainClient(flux["chain"].endpoint) as client:
        assert client.subnet(netuid)["hyperparameters"]["activity_cutoff"] == cutoff
    wait_for(f"{miner}'s axon on 8092", lambda: kget(cluster, "miner", miner, "-n", ns)[
        "status"].get("axon", "").endswith(":8092"), 60, debug=dbg)  # fmt: skip
    # Updated in place: the same UIDs on the chain.
    for name, obj in objs.items():
        assert obj["metadata"]["uid"] == before[name]["metadata"]["uid"]
        if obj["kind"] != "Subnet":
            assert obj["status"]["uid"] == before[name]["status"]["uid"], name


def request_reconcile(cluster: LocalCluster, layout: Layout) -> None:
    """What `flux reconcile kustomization --with-source` does: annotate, so the test does not
    wait for the GitRepository's interval."""
    stamp = "reconcile.fluxcd.io/requestedAt=" + str(__import__("time").time())
    repo = layout.git_repo["metadata"]
    cluster.kubectl("annotate", "--overwrite", "gitrepository", repo["name"], "-n",
                    repo["namespace"], stamp, check=True)  # fmt: skip
    cluster.kubectl("annotate", "--overwrite", "kustomization", layout.network["metadata"]["name"],
                    "-n", FLUX_NAMESPACE, stamp, check=True)  # fmt: skip


def test_a_stalled_miner_is_failed_in_flux_and_degraded_in_argo(
    cluster: LocalCluster, flux: dict[str, Any]
) -> None:
    """A commit adding a Miner whose coldkey Secret does not exist: the operator says Stalled,
    Flux's health check (healthCheckExprs: Stalled=True is Failed) fails the Kustomization naming
    it, health.lua says Degraded; the rest of the network stays Ready. Removing the file from
    Git prunes it and the Kustomization is Ready again."""
    layout: Layout = flux["layout"]
    server: GitServer = flux["server"]
    ns = layout.network_ns
    ks_name = layout.network["metadata"]["name"]
    dbg = lambda: debug(cluster, flux)  # noqa: E731
    path = NETWORK_DIR / "30-miner-nokey.yaml"
    nokey = {
        "apiVersion": "subnetes.io/v1alpha1", "kind": "Miner",
        "metadata": {"name": "miner-nokey"},
        "spec": {"subnetRef": {"name": "compute"}, "coldkeySecretRef": {"name": "no-such-coldkey"},
                 "axonPort": 8093, "registration": {"maxBurn": "10"},
                 "template": {"spec": {"containers": [{"name": "miner", "image": "x"}]}}},
    }  # fmt: skip
    sha = server.commit("network: a miner whose coldkey Secret is missing", lambda work: (
        work / path).write_text(yaml.safe_dump(nokey)))  # fmt: skip
    flux["revisions"].append(sha)
    request_reconcile(cluster, layout)

    stalled = wait_for("miner-nokey Stalled", lambda: condition(
        m := flux_object(cluster, "miners", ns, "miner-nokey"), "Stalled"
    ).get("status") == "True" and m, 90, debug=dbg)  # fmt: skip
    health = argo_health(stalled)
    assert health["status"] == "Degraded" and "no-such-coldkey" in health["message"], health

    def flux_failed() -> Obj | None:
        ks = flux_object(cluster, "kustomizations", FLUX_NAMESPACE, ks_name)
        ready = condition(ks, "Ready")
        attempted = ks["status"].get("lastAttemptedRevision", "").endswith(sha)
        return ks if attempted and ready.get("status") == "False" else None

    ks = wait_for("Flux to fail the network's health check", flux_failed, 120, debug=dbg)
    assert "miner-nokey" in condition(ks, "Ready")["message"], condition(ks, "Ready")
    for obj in network_objects(cluster, ns):
        if obj["metadata"]["name"] != "miner-nokey":
            assert is_ready(obj) and argo_health(obj)["status"] == "Healthy", obj["metadata"]

    fixed = server.commit("network: drop the miner without a key", lambda work: (
        work / path).unlink())  # fmt: skip
    flux["revisions"].append(fixed)
    request_reconcile(cluster, layout)
    wait_for("miner-nokey pruned", lambda: cluster.kubectl(
        "get", "miner", "miner-nokey", "-n", ns).returncode != 0, 120, debug=dbg)  # fmt: skip
    wait_for("network Kustomization Ready again", lambda: is_ready(
        k := flux_object(cluster, "kustomizations", FLUX_NAMESPACE, ks_name)
    ) and k["status"]["lastAppliedRevision"].endswith(fixed), 120, debug=dbg)  # fmt: skip
    assert_views_agree(cluster, layout, fixed)


def test_an_invalid_manifest_is_reported_and_the_network_keeps_running(
    cluster: LocalCluster, flux: dict[str, Any]
) -> None:
    """A commit with a Miner the API server rejects (axonPort out of range): Flux's Kustomization
    is not Ready and carries the API server's validation message, applies nothing of that
    commit, and the network stays Ready and Healthy at the previous revision."""
    layout: Layout = flux["layout"]
    server: GitServer = flux["server"]
    ns = layout.network_ns
    dbg = lambda: debug(cluster, flux)  # noqa: E731
    good = flux["revisions"][-1]
    bad_miner = {
        "apiVersion": "subnetes.io/v1alpha1", "kind": "Miner",
        "metadata": {"name": "miner-bad"},
        "spec": {"subnetRef": {"name": "compute"}, "coldkeySecretRef": {"name": "neuron-coldkey"},
                 "axonPort": 70000,
                 "template": {"spec": {"containers": [{"name": "miner", "image": "x"}]}}},
    }  # fmt: skip
    # The API server's own words for this object (a server-side dry run).
    dry = cluster.kubectl("apply", "--dry-run=server", "-n", ns, "-f", "-",
                          input=json.dumps(bad_miner))  # fmt: skip
    assert dry.returncode != 0
    api_message = "spec.axonPort: Invalid value: 70000"
    assert api_message in dry.stderr, dry.stderr

    sha = server.commit("network: a miner with an impossible port", lambda work: (
        work / NETWORK_DIR / "30-miner-bad.yaml").write_text(yaml.safe_dump(bad_miner)))  # fmt: skip
    request_reconcile(cluster, layout)

    def failed() -> Obj | None:
        ks = flux_object(cluster, "kustomizations", FLUX_NAMESPACE,
                         layout.network["metadata"]["name"])  # fmt: skip
        ready = condition(ks, "Ready")
        return ks if ready.get("status") == "False" and sha[:12] in json.dumps(ks) else None

    ks = wait_for("the network Kustomization to fail at the bad commit", failed, 180, debug=dbg)
    message = condition(ks, "Ready")["message"]
    assert api_message in message and "miner-bad" in message, message
    assert ks["status"]["lastAppliedRevision"].endswith(good)  # nothing of the bad commit
    assert cluster.kubectl("get", "miner", "miner-bad", "-n", ns).returncode != 0
    # The network keeps running: every object Ready and Healthy, the chain producing blocks.
    with ChainClient(flux["chain"].endpoint) as client:
        height = client.block()["number"]
        wait_for("blocks", lambda: client.block()["number"] > height + 2, 30)
    for obj in network_objects(cluster, ns):
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        assert is_ready(obj), (name, obj.get("status"))
        assert argo_health(obj)["status"] == "Healthy", (name, argo_health(obj))
    ((hr_ns, hr_name),) = layout.names("HelmRelease")
    assert is_ready(flux_object(cluster, "helmreleases", hr_ns, hr_name))
