"""Pure builders for a Subnet's gateway (``spec.gateway``): its Deployment and Service.

No I/O here, as in manifests.py: each function takes the Subnet body plus the facts it needs
(netuid, the chain endpoint workloads use) and returns a manifest ready for server-side apply.
The Deployment and Service are owned by the Subnet (deleting it deletes them).
"""

from __future__ import annotations

import copy
from typing import Any

from .labels import HOTKEY_KEY, PART_OF, child_metadata, common_labels
from .manifests import DEFAULT_FS_GROUP, TMP_SIZE_LIMIT, TMP_VOLUME

GATEWAY_SUFFIX = "-gateway"
GATEWAY_COMPONENT = "gateway"
GATEWAY_HOTKEY_DIR = "/var/run/subnetes/hotkey"
GATEWAY_KEYS_DIR = "/var/run/subnetes/gateway-keys"
HOTKEY_VOLUME = "subnetes-hotkey"
KEYS_VOLUME = "gateway-keys"
DEFAULT_PORT = 8080


def gateway_name(subnet: str) -> str:
    """Name of a Subnet's gateway Deployment and Service."""
    return f"{subnet}{GATEWAY_SUFFIX}"


def gateway_selector(subnet: str) -> dict[str, str]:
    """Labels that select a Subnet's gateway pods (stable for the life of the Subnet)."""
    return {"app.kubernetes.io/name": GATEWAY_COMPONENT, "app.kubernetes.io/instance": subnet}


def gateway_labels(subnet: str) -> dict[str, str]:
    """Labels on the gateway's objects and pods."""
    return (
        common_labels("Subnet", subnet, subnet)
        | gateway_selector(subnet)
        | {
            "app.kubernetes.io/component": GATEWAY_COMPONENT,
            "app.kubernetes.io/part-of": PART_OF,
        }
    )


def gateway_env(gw: dict[str, Any], *, chain_endpoint: str, netuid: int) -> list[dict[str, Any]]:
    """The gateway's environment (subnetes.gateway.config) from ``spec.gateway``."""
    limits = gw.get("rateLimits") or {}
    routing = gw.get("routing") or {}
    keys_key = (gw.get("authSecretRef") or {}).get("key") or "keys.yaml"
    values = {
        "SUBNETES_CHAIN_ENDPOINT": chain_endpoint,
        "SUBNETES_NETUID": str(netuid),
        "SUBNETES_HOTKEY_PATH": f"{GATEWAY_HOTKEY_DIR}/{HOTKEY_KEY}",
        "SUBNETES_GATEWAY_PORT": str(int(gw.get("port") or DEFAULT_PORT)),
        "SUBNETES_GATEWAY_KEYS_PATH": f"{GATEWAY_KEYS_DIR}/{keys_key}",
        "SUBNETES_GATEWAY_CAPABILITIES": ",".join(gw.get("capabilities") or ["matmul"]),
        "SUBNETES_GATEWAY_RATE": str(limits.get("requestsPerSecond", 10)),
        "SUBNETES_GATEWAY_BURST": str(limits.get("burst", 20)),
        "SUBNETES_GATEWAY_QUOTA": str(limits.get("quota", 0)),
        "SUBNETES_GATEWAY_QUOTA_PERIOD": str(limits.get("quotaPeriodSeconds", 86400)),
        "SUBNETES_GATEWAY_POLICY": str(routing.get("policy", "Incentive")).lower(),
        "SUBNETES_GATEWAY_RETRIES": str(routing.get("retries", 2)),
        "SUBNETES_GATEWAY_HEDGE_AFTER": str(int(routing.get("hedgeAfterMilliseconds", 500)) / 1000),
        "SUBNETES_GATEWAY_DEADLINE": str(int(routing.get("deadlineMilliseconds", 10_000)) / 1000),
        "HOME": "/tmp",  # the image's user has no home; Python tools expect a writable one
    }
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in values.items()]
    # Listen on the pod's IP (the Service and the kubelet's probes reach it there).
    env.append(
        {
            "name": "SUBNETES_GATEWAY_IP",
            "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
        }
    )
    return env


def build_gateway_deployment(
    subnet: dict[str, Any], *, netuid: int, chain_endpoint: str
) -> dict[str, Any]:
    """The gateway's Deployment (``spec.gateway.replicas`` pods of ``spec.gateway.image``)."""
    name = subnet["metadata"]["name"]
    gw = (subnet.get("spec") or {}).get("gateway") or {}
    port = int(gw.get("port") or DEFAULT_PORT)

    def get(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http"}, "timeoutSeconds": 5}

    container: dict[str, Any] = {
        "name": "gateway",
        "image": gw["image"],
        "command": ["python", "-m", "subnetes.gateway"],
        "env": gateway_env(gw, chain_endpoint=chain_endpoint, netuid=netuid),
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "volumeMounts": [
            {"name": HOTKEY_VOLUME, "mountPath": GATEWAY_HOTKEY_DIR, "readOnly": True},
            {"name": KEYS_VOLUME, "mountPath": GATEWAY_KEYS_DIR, "readOnly": True},
            {"name": TMP_VOLUME, "mountPath": "/tmp"},
        ],
        "startupProbe": get("/healthz") | {"periodSeconds": 5, "failureThreshold": 60},
        "livenessProbe": get("/healthz") | {"periodSeconds": 20, "failureThreshold": 3},
        # Ready once the metagraph was read: no traffic before the pool exists.
        "readinessProbe": get("/readyz") | {"periodSeconds": 5, "failureThreshold": 3},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if gw.get("resources"):
        container["resources"] = copy.deepcopy(gw["resources"])
    labels = gateway_labels(name)
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [
            {
                "name": HOTKEY_VOLUME,
                "secret": {
                    "secretName": gw["hotkeySecretRef"]["name"],
                    "items": [{"key": HOTKEY_KEY, "path": HOTKEY_KEY}],
                    "defaultMode": 0o440,
                },
            },
            {
                # The whole Secret (no items): a mounted Secret is updated in place, so the
                # gateway sees key changes without a restart.
                "name": KEYS_VOLUME,
                "secret": {"secretName": gw["authSecretRef"]["name"], "defaultMode": 0o440},
            },
            {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
            "fsGroup": DEFAULT_FS_GROUP,
        },
        # The gateway talks to the chain and to miners, not to the Kubernetes API.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": child_metadata(subnet, gateway_name(name), labels),
        "spec": {
            "replicas": int(gw.get("replicas", 1)),
            "selector": {"matchLabels": gateway_selector(name)},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def build_gateway_service(subnet: dict[str, Any]) -> dict[str, Any]:
    """A ClusterIP Service in front of the gateway pods (ready ones only)."""
    name = subnet["metadata"]["name"]
    gw = (subnet.get("spec") or {}).get("gateway") or {}
    port = int(gw.get("port") or DEFAULT_PORT)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(subnet, gateway_name(name), gateway_labels(name)),
        "spec": {
            "type": "ClusterIP",
            "selector": gateway_selector(name),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }
