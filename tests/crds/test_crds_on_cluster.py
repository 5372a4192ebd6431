"""The CRDs on the real control plane: established, usable with kubectl, strict on bad input."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from subnetes.localnet.cluster import LocalCluster
from subnetes.operator.crds import KINDS

from .helpers import CRDS_DIR, EXAMPLES_DIR, InvalidCase, invalid_cases

HOTKEY = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"  # //Bob, a public dev key
NOW = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def crds(cluster: LocalCluster) -> LocalCluster:
    """The CRDs applied (idempotently: they are cluster-scoped and shared) and Established."""
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=subnetes-tests",
        "-f", str(CRDS_DIR), check=True,
    )  # fmt: skip
    names = [f"crd/{k.crd_name}" for k in KINDS]
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names, check=True)
    # Refresh kubectl's discovery cache so short names and the category resolve at once.
    cluster.kubectl("api-resources", "--api-group=subnetes.io", check=True)
    return cluster


@pytest.fixture(scope="module")
def corpus_namespace(crds: LocalCluster) -> Iterator[str]:
    """One namespace for the whole invalid corpus (each case uses its own object names)."""
    name = f"t-crd-corpus-{uuid.uuid4().hex[:6]}"
    crds.kubectl("create", "namespace", name, check=True)
    yield name
    crds.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def examples(crds: LocalCluster, namespace: str) -> str:
    """examples/ applied into a fresh namespace; returns the namespace."""
    crds.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES_DIR), check=True)
    return namespace


def get_json(cluster: LocalCluster, *args: str) -> dict:
    return json.loads(cluster.kubectl("get", *args, "-o", "json", check=True).stdout)


def patch_status(cluster: LocalCluster, namespace: str, ref: str, status: dict):
    return cluster.kubectl(
        "patch", ref, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip


def ready(reason: str = "Registered") -> list[dict]:
    return [
        {
            "type": "Ready",
            "status": "True",
            "reason": reason,
            "message": "registered and running",
            "lastTransitionTime": NOW,
            "observedGeneration": 1,
        }
    ]


def test_crds_are_established_with_names_accepted(crds: LocalCluster) -> None:
    for kind in KINDS:
        crd = get_json(crds, "crd", kind.crd_name)
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert crd["status"]["acceptedNames"]["shortNames"] == list(kind.short_names)


def test_examples_create_a_subnet_two_validators_and_six_miners(
    crds: LocalCluster, examples: str
) -> None:
    items = get_json(crds, "subnetes", "-n", examples)["items"]
    assert Counter(i["kind"] for i in items) == {"Subnet": 1, "Validator": 2, "Miner": 6}
    gpu = [
        i
        for i in items
        if i["kind"] == "Miner"
        and "nvidia.com/gpu"
        in i["spec"]["template"]["spec"]["containers"][0]["resources"].get("limits", {})
    ]
    assert len(gpu) == 3
    # Defaults are filled in by the API server (the operator never writes spec).
    miner = get_json(crds, "miner", "miner-1", "-n", examples)
    assert miner["spec"]["axonPort"] == 8091
    assert miner["spec"]["registration"]["policy"] == "Stop"
    validator = get_json(crds, "validator", "validator-1", "-n", examples)
    assert validator["spec"]["registration"]["policy"] == "Reregister"
    subnet = get_json(crds, "subnet", "text-prompting", "-n", examples)
    assert subnet["spec"]["hyperparameters"]["kappa"] == 32767


def test_get_subnetes_category_and_short_names(crds: LocalCluster, examples: str) -> None:
    out = crds.kubectl("get", "subnetes", "-n", examples, check=True).stdout
    for kind in ("subnet", "miner", "validator"):
        assert f"{kind}.subnetes.io/" in out
    for short, count in (("sn", 1), ("mnr", 6), ("vali", 2)):
        names = crds.kubectl("get", short, "-n", examples, "-o", "name", check=True).stdout
        assert len(names.split()) == count


def test_printer_columns_show_status(crds: LocalCluster, examples: str) -> None:
    miner_status = {
        "observedGeneration": 1,
        "conditions": ready(),
        "phase": "Registered",
        "hotkey": HOTKEY,
        "netuid": 1,
        "uid": 3,
        "incentive": "0.042137",
        "trust": "1.000000",
        "consensus": "0.040000",
        "rank": "0.041000",
        "lastEmission": "0.041000000",
        "totalEmission": "1.230000000",
        "podName": "miner-0-0",
        "nodeName": "gpu-node-0",
        "immuneUntilBlock": 120,
    }
    assert patch_status(crds, examples, "miner/miner-0", miner_status).returncode == 0
    lines = crds.kubectl("get", "miners", "-n", examples, check=True).stdout.splitlines()
    assert lines[0].split() == ["NAME", "SUBNET", "UID", "PHASE", "INCENTIVE", "EMISSION", "NODE", "AGE"]  # fmt: skip
    row = next(line.split() for line in lines if line.startswith("miner-0 "))
    assert row[:7] == ["miner-0", "text-prompting", "3", "Registered", "0.042137", "0.041000000", "gpu-node-0"]  # fmt: skip

    validator_status = {
        "conditions": ready(),
        "phase": "Registered",
        "uid": 1,
        "validatorPermit": True,
        "stake": "1000.000000000",
        "dividends": "0.500000",
        "validatorTrust": "0.987654",
        "lastWeightsBlock": 1234,
    }
    assert patch_status(crds, examples, "validator/validator-0", validator_status).returncode == 0
    lines = crds.kubectl("get", "validators", "-n", examples, check=True).stdout.splitlines()
    assert lines[0].split() == ["NAME", "SUBNET", "UID", "PHASE", "PERMIT", "STAKE", "DIVIDENDS", "VTRUST", "AGE"]  # fmt: skip
    row = next(line.split() for line in lines if line.startswith("validator-0 "))
    assert row[:8] == ["validator-0", "text-prompting", "1", "Registered", "true", "1000.000000000", "0.500000", "0.987654"]  # fmt: skip

    subnet_status = {
        "conditions": ready("SubnetRegistered"),
        "phase": "Registered",
        "netuid": 1,
        "neurons": {"total": 9, "validators": 2, "maxAllowed": 64},
        "emissionShare": "0.125000",
        "lockCostPaid": "100.000000000",
        "registeredBlock": 10,
        "immunityEnd": 50410,
    }
    assert patch_status(crds, examples, "subnet/text-prompting", subnet_status).returncode == 0
    lines = crds.kubectl("get", "subnets", "-n", examples, check=True).stdout.splitlines()
    assert lines[0].split() == ["NAME", "NETUID", "PHASE", "NEURONS", "EMISSION", "AGE"]
    assert lines[1].split()[:5] == ["text-prompting", "1", "Registered", "9", "0.125000"]


def test_status_is_validated_too(crds: LocalCluster, examples: str) -> None:
    """A status the operator gets wrong is refused, naming the field (catches operator bugs)."""
    bad = patch_status(crds, examples, "miner/miner-2", {"incentive": "0.5"})
    assert bad.returncode != 0 and "status.incentive" in bad.stderr
    bad = patch_status(crds, examples, "miner/miner-2", {"phase": "Running"})
    assert bad.returncode != 0 and "status.phase" in bad.stderr


def test_explain_teaches_registration(crds: LocalCluster) -> None:
    out = crds.kubectl("explain", "miner.spec.registration", check=True).stdout
    assert "maxBurn" in out and "policy" in out and "Reregister" in out and "TAO" in out
    out = crds.kubectl("explain", "subnet.spec.hyperparameters.kappa", check=True).stdout
    assert "u16" in out


def test_mutable_fields_can_change(crds: LocalCluster, examples: str) -> None:
    patch = {
        "spec": {
            "registration": {"maxBurn": "2"},
            "template": {"spec": {"containers": [{"name": "miner", "image": "example/miner:2"}]}},
        }
    }
    proc = crds.kubectl(
        "patch", "miner", "miner-3", "-n", examples, "--type=merge", "-p", json.dumps(patch)
    )
    assert proc.returncode == 0, proc.stderr


def test_hotkey_ref_cannot_be_added_after_the_operator_created_one(
    crds: LocalCluster, namespace: str
) -> None:
    miner = {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {"name": "generated-key"},
        "spec": {
            "subnetRef": {"name": "sn"},
            "coldkeySecretRef": {"name": "ck"},
            "template": {"spec": {"containers": [{"name": "m", "image": "example/m:1"}]}},
        },
    }
    crds.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(miner), check=True)
    status = {"hotkey": HOTKEY, "hotkeySecretName": "generated-key-hotkey", "phase": "Registered"}
    assert patch_status(crds, namespace, "miner/generated-key", status).returncode == 0
    miner["spec"]["hotkeySecretRef"] = {"name": "my-own-hotkey"}
    proc = crds.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(miner))
    assert proc.returncode != 0
    assert "spec.hotkeySecretRef" in proc.stderr


@pytest.mark.parametrize("case", invalid_cases(), ids=lambda c: c.path.stem)
def test_invalid_manifest_is_rejected_naming_the_field(
    crds: LocalCluster, corpus_namespace: str, case: InvalidCase
) -> None:
    apply = ("apply", "-n", corpus_namespace, "-f", "-")
    if case.is_update:
        first = crds.kubectl(*apply, input=case.documents[0])
        assert first.returncode == 0, f"the valid first document was refused: {first.stderr}"
    proc = crds.kubectl(*apply, input=case.documents[-1])
    assert proc.returncode != 0, f"{case.path.name} was accepted: {proc.stdout}"
    assert case.expect in proc.stderr, proc.stderr
