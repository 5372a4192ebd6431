"""Pure builders for the objects the operator applies: StatefulSet, Service, hotkey Secret.

No I/O here: each function takes the custom resource body (a dict as Kopf or the API returns it)
plus the facts it needs and returns a manifest dict ready for server-side apply.
"""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

from .labels import (
    GPU_RESOURCE,
    HOTKEY_CLAIM_ANNOTATION,
    HOTKEY_DIR,
    HOTKEY_KEY,
    HOTKEY_PATH,
    child_metadata,
    common_labels,
    hotkey_claim,
    selector_labels,
)

DEFAULT_AXON_PORT = 8091
# Validators serve /healthz and /readyz here (SUBNETES_HEALTH_PORT, subnetes.sdk.health).
DEFAULT_HEALTH_PORT = 8090
HOTKEY_VOLUME = "subnetes-hotkey"
# The root filesystem is read-only by default; /tmp (HOME, JAX's cache) is this emptyDir.
TMP_VOLUME = "subnetes-tmp"
TMP_SIZE_LIMIT = "1Gi"
# A validator without a memory limit gets twice its request, or this without a request.
DEFAULT_VALIDATOR_MEMORY_LIMIT = "2Gi"
# Annotation on a Miner or Validator: "false" turns the default probes off (images that do not
# serve the SDK's health endpoints and bring no probes of their own).
DEFAULT_PROBES_ANNOTATION = "subnetes.io/default-probes"
# A non-root group that owns the mounted hotkey (0440) when the template sets no fsGroup.
DEFAULT_FS_GROUP = 65532
OPERATOR_ENV = (
    "SUBNETES_CHAIN_ENDPOINT",
    "SUBNETES_NETUID",
    "SUBNETES_HOTKEY_PATH",
    "SUBNETES_AXON_PORT",
    "SUBNETES_AXON_IP",
)
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


def _gpus(container: dict[str, Any]) -> int:
    res = container.get("resources") or {}
    counts = [int(str((res.get(k) or {}).get(GPU_RESOURCE, 0))) for k in ("limits", "requests")]
    return max(counts)


def requested_gpus(pod_spec: dict[str, Any]) -> int:
    """Total ``nvidia.com/gpu`` the pod's containers ask for."""
    return sum(_gpus(ct) for ct in pod_spec.get("containers") or [])


def _tolerates_gpu(tolerations: list[dict[str, Any]]) -> bool:
    """Whether some toleration already covers the usual ``nvidia.com/gpu:NoSchedule`` taint."""
    for t in tolerations:
        key = t.get("key") or ""
        effect_ok = (t.get("effect") or "NoSchedule") == "NoSchedule"
        if effect_ok and (key == GPU_RESOURCE or (not key and t.get("operator") == "Exists")):
            return True
    return False


def _operator_env(chain_endpoint: str, netuid: int, axon_port: int) -> list[dict[str, Any]]:
    return [
        {"name": "SUBNETES_CHAIN_ENDPOINT", "value": chain_endpoint},
        {"name": "SUBNETES_NETUID", "value": str(netuid)},
        {"name": "SUBNETES_HOTKEY_PATH", "value": HOTKEY_PATH},
        {"name": "SUBNETES_AXON_PORT", "value": str(axon_port)},
        {
            "name": "SUBNETES_AXON_IP",
            "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
        },
    ]


_MEMORY_SUFFIXES = {
    **{s: 1024**i for i, s in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{s: 1000**i for i, s in enumerate(("", "k", "M", "G", "T", "P", "E")) if s},
    "m": 0.001,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[mkMGTPE])?$")


def memory_bytes(quantity: str | int) -> float | None:
    """A memory quantity (``512Mi``, ``2G``, ``1e9``, 1024) in bytes; None when unparsable."""
    match = _QUANTITY.match(str(quantity).strip())
    if match is None:
        return None
    number, suffix = match.groups()
    if suffix and suffix[0] in "eE":
        return float(number + suffix)
    return float(number) * _MEMORY_SUFFIXES[suffix or ""]


def _default_memory_limit(resources: dict[str, Any]) -> str:
    """Twice the memory request (in Mi, rounded up), or DEFAULT_VALIDATOR_MEMORY_LIMIT."""
    request = (resources.get("requests") or {}).get("memory")
    if request is None:
        return DEFAULT_VALIDATOR_MEMORY_LIMIT
    size = memory_bytes(request)
    if size is None:
        return str(request)  # the API server will report the quantity; never limit < request
    return f"{-(-int(2 * size) // 2**20)}Mi"


def _env_value(env: list[dict[str, Any]], name: str) -> str | None:
    return next((e.get("value") for e in env if e.get("name") == name), None)


def _health_port(ct: dict[str, Any]) -> int | None:
    """The validator's health port: the template's SUBNETES_HEALTH_PORT, else the default;
    None when it is turned off (0) or not a literal we can probe."""
    env = ct.get("env") or []
    if not any(e.get("name") == "SUBNETES_HEALTH_PORT" for e in env):
        return DEFAULT_HEALTH_PORT
    raw = _env_value(env, "SUBNETES_HEALTH_PORT")
    return int(raw) if raw is not None and raw.isdigit() and 0 < int(raw) < 65536 else None


def _http_probes(port: int, ready_path: str) -> dict[str, dict[str, Any]]:
    """Startup (5 min for JAX/CUDA start and the first chain read), liveness, readiness."""

    def get(path: str, **timing: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": port}, "timeoutSeconds": 5, **timing}

    return {
        "startupProbe": get("/healthz", periodSeconds=5, failureThreshold=60),
        "livenessProbe": get("/healthz", periodSeconds=20, failureThreshold=3),
        "readinessProbe": get(ready_path, periodSeconds=10, failureThreshold=3),
    }


def _neuron_defaults(ct: dict[str, Any], kind: str, axon_port: int, probes: bool) -> None:
    """Defaults for the neuron container that a real kubelet needs; template values win."""
    env = ct.setdefault("env", [])
    names = {e.get("name") for e in env}
    if "HOME" not in names:  # the image's user has no home; Python tools expect a writable one
        env.append({"name": "HOME", "value": "/tmp"})
    if kind == "Validator":
        health = _health_port(ct)
        if "SUBNETES_HEALTH_PORT" not in names:
            env.append({"name": "SUBNETES_HEALTH_PORT", "value": str(DEFAULT_HEALTH_PORT)})
        if health is not None:
            ports = ct.setdefault("ports", [])
            if not any(p.get("containerPort") == health for p in ports):
                taken = {p.get("name") for p in ports}
                entry = {"containerPort": health, "protocol": "TCP"}
                ports.append(({"name": "health"} if "health" not in taken else {}) | entry)
        defaults = _http_probes(health, "/readyz") if health is not None else {}
        limits = ct.setdefault("resources", {}).setdefault("limits", {})
        limits.setdefault("memory", _default_memory_limit(ct["resources"]))
    else:  # a miner's axon answers GET /healthz on the axon port (subnetes.sdk.axon)
        defaults = _http_probes(axon_port, "/healthz")
    if probes:
        for key, probe in defaults.items():
            ct.setdefault(key, probe)
    ct.setdefault("securityContext", {}).setdefault("readOnlyRootFilesystem", True)
    mounts = ct.setdefault("volumeMounts", [])
    if not any(m.get("mountPath", "").rstrip("/") == "/tmp" for m in mounts):
        mounts.append({"name": TMP_VOLUME, "mountPath": "/tmp"})


def _harden_container(ct: dict[str, Any]) -> None:
    # Defaults of the "restricted" Pod Security Standard; explicit template values win.
    sc = ct.setdefault("securityContext", {})
    sc.setdefault("runAsNonRoot", True)
    sc.setdefault("allowPrivilegeEscalation", False)
    sc.setdefault("capabilities", {"drop": ["ALL"]})
    sc.setdefault("seccompProfile", {"type": "RuntimeDefault"})


def _neuron_container(
    ct: dict[str, Any], chain_endpoint: str, netuid: int, axon_port: int, serve_axon: bool
) -> None:
    ours = _operator_env(chain_endpoint, netuid, axon_port)
    # The operator's variables replace same-named ones from the template.
    env = [e for e in ct.get("env") or [] if e.get("name") not in OPERATOR_ENV]
    ct["env"] = env + ours
    mounts = [m for m in ct.get("volumeMounts") or [] if m.get("name") != HOTKEY_VOLUME]
    mounts.append({"name": HOTKEY_VOLUME, "mountPath": HOTKEY_DIR, "readOnly": True})
    ct["volumeMounts"] = mounts
    if serve_axon:
        ports = [p for p in ct.get("ports") or [] if p.get("name") != "axon"]
        if not any(p.get("containerPort") == axon_port for p in ports):
            ports.append({"name": "axon", "containerPort": axon_port, "protocol": "TCP"})
        ct["ports"] = ports


def build_pod_template(
    owner: dict[str, Any],
    *,
    hotkey_secret: str,
    chain_endpoint: str,
    netuid: int,
) -> dict[str, Any]:
    """The StatefulSet's pod template, from ``owner.spec.template`` plus what the operator adds."""
    kind, name = owner["kind"], owner["metadata"]["name"]
    spec = owner.get("spec") or {}
    axon_port = int(spec.get("axonPort") or DEFAULT_AXON_PORT)
    template = copy.deepcopy(spec.get("template") or {})
    meta = template.get("metadata") or {}
    pod_spec = template.get("spec") or {}

    labels = dict(meta.get("labels") or {})
    labels |= common_labels(kind, name, (spec.get("subnetRef") or {}).get("name"))
    pod_meta: dict[str, Any] = {"labels": labels}
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])

    probes = (owner["metadata"].get("annotations") or {}).get(DEFAULT_PROBES_ANNOTATION) != "false"
    containers = pod_spec.get("containers") or []
    for i, ct in enumerate(containers):
        if i == 0:  # the neuron process; sidecars get neither key nor chain env
            _neuron_container(ct, chain_endpoint, netuid, axon_port, serve_axon=kind == "Miner")
            _neuron_defaults(ct, kind, axon_port, probes)
        _harden_container(ct)
    for ct in pod_spec.get("initContainers") or []:
        _harden_container(ct)

    volumes = [v for v in pod_spec.get("volumes") or [] if v.get("name") != HOTKEY_VOLUME]
    volumes.append(
        {
            "name": HOTKEY_VOLUME,
            "secret": {
                "secretName": hotkey_secret,
                "items": [{"key": HOTKEY_KEY, "path": HOTKEY_KEY}],
                "defaultMode": 0o440,
            },
        }
    )
    tmp_mounted = any(
        m.get("name") == TMP_VOLUME for ct in containers for m in ct.get("volumeMounts") or []
    )
    if tmp_mounted and not any(v.get("name") == TMP_VOLUME for v in volumes):
        volumes.append({"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}})
    pod_spec["volumes"] = volumes

    if requested_gpus(pod_spec) > 0:
        tolerations = list(pod_spec.get("tolerations") or [])
        if not _tolerates_gpu(tolerations):
            tolerations.append(dict(GPU_TOLERATION))
        pod_spec["tolerations"] = tolerations

    psc = pod_spec.setdefault("securityContext", {})
    psc.setdefault("runAsNonRoot", True)
    psc.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    psc.setdefault("fsGroup", DEFAULT_FS_GROUP)
    # Workloads talk to the chain, not to the Kubernetes API.
    pod_spec.setdefault("automountServiceAccountToken", False)
    pod_spec.setdefault("enableServiceLinks", False)
    return {"metadata": pod_meta, "spec": pod_spec}


def build_workload_statefulset(
    owner: dict[str, Any],
    *,
    hotkey_secret: str,
    chain_endpoint: str,
    netuid: int,
    stopped: bool = False,
) -> dict[str, Any]:
    """A one-replica StatefulSet (stable pod ``<name>-0``) running the neuron's pod template.

    ``stopped`` (policy Stop after deregistration) scales it to zero so no GPU is held.
    """
    kind, name = owner["kind"], owner["metadata"]["name"]
    subnet = ((owner.get("spec") or {}).get("subnetRef") or {}).get("name")
    sts_spec: dict[str, Any] = {
        "replicas": 0 if stopped else 1,
        "selector": {"matchLabels": selector_labels(kind, name)},
        "template": build_pod_template(
            owner, hotkey_secret=hotkey_secret, chain_endpoint=chain_endpoint, netuid=netuid
        ),
        "podManagementPolicy": "Parallel",
        # Stop or delete never leaves volumes behind without the user's say-so.
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
    }
    if kind == "Miner":
        sts_spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": child_metadata(owner, name, common_labels(kind, name, subnet)),
        "spec": sts_spec,
    }


def build_axon_service(owner: dict[str, Any]) -> dict[str, Any]:
    """A ClusterIP Service in front of a miner's axon port (named like the miner)."""
    kind, name = owner["kind"], owner["metadata"]["name"]
    spec = owner.get("spec") or {}
    port = int(spec.get("axonPort") or DEFAULT_AXON_PORT)
    subnet = (spec.get("subnetRef") or {}).get("name")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(owner, name, common_labels(kind, name, subnet)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(kind, name),
            "ports": [{"name": "axon", "port": port, "targetPort": "axon", "protocol": "TCP"}],
            # The operator serves the axon before the pod reports ready.
            "publishNotReadyAddresses": True,
        },
    }


def build_hotkey_secret(owner: dict[str, Any], name: str, keyfile_json: bytes) -> dict[str, Any]:
    """A Secret holding a hotkey the operator created (btcli hotkey file under data key ``hotkey``).

    Owned by the resource: deleting the Miner deletes the key (its UID stays until pruned).
    """
    kind = owner["kind"]
    labels = common_labels(kind, owner["metadata"]["name"])
    labels["app.kubernetes.io/component"] = "hotkey"
    metadata = child_metadata(owner, name, labels)
    # The claim, next to the owner reference: who the key is for, as imported keys say it.
    metadata["annotations"] = {
        HOTKEY_CLAIM_ANNOTATION: hotkey_claim(kind, owner["metadata"]["name"])
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata,
        "data": {HOTKEY_KEY: base64.b64encode(keyfile_json).decode("ascii")},
        "immutable": True,
    }
