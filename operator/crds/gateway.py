"""``Subnet.spec.gateway``: a gateway that routes users' requests to the subnet's miners.

The operator runs it as a Deployment and a ClusterIP Service named ``<subnet>-gateway``
(``python -m subnetes.gateway``, configured by environment; see docs/gateway.md).
"""

from __future__ import annotations

from .common import DNS_SUBDOMAIN, secret_ref
from .schema import Schema, array, integer, obj, opaque, string

GATEWAY_SUFFIX = "-gateway"
#: Capabilities a gateway can serve (subnetes.gateway.capabilities.builtin; a test keeps the two
#: equal): the compute subnet's matmul and the linear-solve subnet's linsolve.
CAPABILITIES = ("matmul", "linsolve")
#: What a gateway serves when spec.gateway.capabilities is unset (the compute subnet's).
DEFAULT_CAPABILITIES = ("matmul",)
#: A Subnet with a gateway: its name plus GATEWAY_SUFFIX must stay a DNS-1035 label (Service).
MAX_NAME_WITH_GATEWAY = 63 - len(GATEWAY_SUFFIX)


def gateway_spec() -> Schema:
    """``Subnet.spec.gateway``."""
    return obj(
        "A gateway for users: it reads the metagraph from the chain, sends each request to miners "
        "chosen by incentive and observed health (retries, hedging, circuit breaking), verifies "
        "every answer with the subnet's own check and returns only verified ones. Runs as the "
        "Deployment and Service <subnet>-gateway. Unset: no gateway.",
        {
            "image": string(
                "Image that runs `python -m subnetes.gateway` (the subnetes image).",
                min_length=1,
                max_length=512,
            ),
            "replicas": integer("Gateway pods.", minimum=0, maximum=64, default=1),
            "port": integer(
                "Port the gateway serves HTTP on (pods and Service).",
                minimum=1,
                maximum=65535,
                default=8080,
            ),
            "hotkeySecretRef": secret_ref(
                "Secret holding the hotkey the gateway signs its queries to miners with. Miners "
                "answer only hotkeys with a validator permit, so it must be registered and "
                "permitted on the subnet. The Secret must carry the annotation "
                "subnetes.io/hotkey-for=Gateway/<subnet name>.",
                "data key `hotkey` holds the btcli hotkey file (JSON).",
            ),
            "authSecretRef": obj(
                "Secret holding the API keys file (YAML: a `keys` list of name, key or sha256, "
                "and optional per-key requestsPerSecond, burst, quota, quotaPeriodSeconds). "
                "Re-read when the Secret changes.",
                {
                    "name": string(
                        "Name of the Secret in this namespace.",
                        pattern=DNS_SUBDOMAIN,
                        min_length=1,
                        max_length=253,
                    ),
                    "key": string(
                        "Data key of the keys file.",
                        pattern=r"^[-._a-zA-Z0-9]+$",
                        max_length=253,
                        default="keys.yaml",
                    ),
                },
                required=["name"],
            ),
            "capabilities": array(
                "Capabilities the gateway serves (POST /v1/<capability>).",
                string("A capability.", enum=CAPABILITIES),
                max_items=8,
                min_items=1,
            )
            | {"default": list(DEFAULT_CAPABILITIES)},
            "rateLimits": obj(
                "Default limits of an API key (a key's own entries in the keys file win).",
                {
                    "requestsPerSecond": integer(
                        "Sustained requests per second per key.",
                        minimum=1,
                        maximum=1_000_000,
                        default=10,
                    ),
                    "burst": integer(
                        "Requests a key may send at once.",
                        minimum=1,
                        maximum=1_000_000,
                        default=20,
                    ),
                    "quota": integer(
                        "Requests per key per quotaPeriodSeconds; 0 = unlimited.",
                        minimum=0,
                        default=0,
                        wide=True,
                    ),
                    "quotaPeriodSeconds": integer(
                        "Length of a quota period.",
                        minimum=1,
                        maximum=31_622_400,
                        default=86400,
                    ),
                },
                default={},
            ),
            "routing": obj(
                "How requests are routed.",
                {
                    "policy": string(
                        "Incentive: miners weighted by incentive times observed health, and "
                        "miners without incentive only while none earns. Health: observed "
                        "health only.",
                        enum=["Incentive", "Health"],
                        default="Incentive",
                    ),
                    "retries": integer(
                        "Further miners tried after a failure or a wrong answer.",
                        minimum=0,
                        maximum=16,
                        default=2,
                    ),
                    "hedgeAfterMilliseconds": integer(
                        "Ask a second miner when the first has not answered after this long; "
                        "0 = never.",
                        minimum=0,
                        maximum=600_000,
                        default=500,
                    ),
                    "deadlineMilliseconds": integer(
                        "A request answers 504 DeadlineExceeded after this long.",
                        minimum=10,
                        maximum=600_000,
                        default=10_000,
                    ),
                },
                default={},
            ),
            "resources": opaque("Container resources (requests, limits) of the gateway pods."),
        },
        required=["image", "hotkeySecretRef", "authSecretRef"],
    )
