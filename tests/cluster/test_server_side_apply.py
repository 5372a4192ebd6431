"""GitOps tools see no drift: re-applying the manifests server-side changes nothing, even
after the operator has written status (it never writes spec)."""

from __future__ import annotations

import json
from pathlib import Path

from subnetes.localnet.cluster import LocalCluster
from subnetes.operator import status as st

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "compute-subnet"


def versions(cluster: LocalCluster, namespace: str) -> dict[str, tuple[int, str]]:
    out = cluster.kubectl(
        "get", "subnets,miners,validators", "-n", namespace, "-o", "json", check=True
    )
    return {
        f"{i['kind']}/{i['metadata']['name']}": (
            i["metadata"]["generation"],
            i["metadata"]["resourceVersion"],
        )
        for i in json.loads(out.stdout)["items"]
    }


def test_second_server_side_apply_is_a_no_op_and_status_is_not_drift(
    cluster: LocalCluster, namespace: str
) -> None:
    cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"), check=True)
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/miners.subnetes.io", "--timeout=60s", check=True
    )
    apply = (
        "apply",
        "--server-side",
        "--field-manager=gitops",
        "-n",
        namespace,
        "-f",
        str(EXAMPLE),
    )
    cluster.kubectl(*apply, check=True)
    first = versions(cluster, namespace)
    assert len(first) == 7

    cluster.kubectl(*apply, check=True)
    assert versions(cluster, namespace) == first  # nothing written, not even metadata

    # The operator's status write (its own field manager, status subresource) is not drift.
    view = st.NeuronView(generation=1, phase=st.REGISTERED, uid=1, netuid=1, hotkey="5F" + "x" * 46)
    status = st.neuron_status(view, None, "2026-11-25T00:00:00Z")
    cluster.kubectl(
        "patch", "miner", "miner-0", "-n", namespace, "--subresource=status", "--type=merge",
        "--field-manager=subnetes-operator", "-p", json.dumps({"status": status}), check=True,
    )  # fmt: skip
    diff = cluster.kubectl(
        "diff", "--server-side", "--field-manager=gitops", "-n", namespace, "-f", str(EXAMPLE)
    )
    assert diff.returncode == 0, diff.stdout + diff.stderr
    after = versions(cluster, namespace)
    assert after["Miner/miner-0"][0] == first["Miner/miner-0"][0]  # generation: spec untouched
