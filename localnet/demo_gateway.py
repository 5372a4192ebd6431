"""The demo's gateways: each Subnet's ``spec.gateway``, its Secrets, the network router in
front of them, a little organic traffic and the view of it (per subnet and per miner, from each
gateway's ``GET /v1/pool``).

A gateway is a pod of the operator's Deployment ``<subnet>-gateway``; the dev pod runner runs it
on its loopback pod IP, so the demo (and the user's ``curl``) reach it there. Its hotkey is
registered on the subnet and staked by the demo's own coldkey: miners answer only hotkeys with
a validator permit, which the chain gives at the next epoch. The router
(``python -m subnetes.gateway.router``, a local process here) sends each request to the subnet
serving its capability; the demo's traffic goes through it.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from subnetes.chain.units import RAO_PER_TAO

#: Dev only: the demo's API key (printed for the user's curl; the keys Secret holds it).
DEMO_API_KEY = "sk-subnetes-demo-local-only"
#: The capability each demo subnet's gateway serves.
CAPABILITY = {"compute": "matmul", "linsolve": "linsolve"}
#: The gateway's stake: a validator permit, small next to the validators' (it sets no weights,
#: so a large stake would dilute their consensus).
GATEWAY_STAKE_TAO = 10
#: Organic traffic: one small request every this many seconds, the capabilities in turn.
TRAFFIC_INTERVAL_S = 2.0
TRAFFIC_SIZE = 32


def hotkey_secret(subnet: str) -> str:
    """The gateway hotkey Secret's name (examples/*-subnet/ name them so)."""
    return f"{subnet}-gateway-hotkey"


def keys_secret(subnet: str) -> str:
    """The gateway keys Secret's name."""
    return f"{subnet}-gateway-keys"


def request_body(capability: str, seed: int, size: int = TRAFFIC_SIZE) -> dict[str, int]:
    """A small request for ``capability`` (its request model's fields)."""
    if capability == "matmul":
        return {"seed": seed, "m": size, "k": size, "n": size}
    return {"seed": seed, "n": size, "k": 1}


@dataclass
class GatewayState:
    """What the demo knows of one subnet's gateway."""

    subnet: str
    hotkey: Any
    registered: bool = False
    url: str | None = None  # the gateway pod's URL, once it runs


def with_gateway(listed: dict[str, Any], subnet: str) -> dict[str, Any]:
    """A copy of the v1 List ``listed`` whose Subnet ``subnet`` has ``spec.gateway`` (the image
    its miners run)."""
    out = copy.deepcopy(listed)
    image = next(
        c["image"]
        for d in out["items"]
        if d.get("kind") == "Miner"
        for c in d["spec"]["template"]["spec"]["containers"]
        if "cuda" not in c["image"]
    )
    for d in out["items"]:
        if d.get("kind") == "Subnet" and d["metadata"]["name"] == subnet:
            d["spec"]["gateway"] = {
                "image": image,
                "hotkeySecretRef": {"name": hotkey_secret(subnet)},
                "authSecretRef": {"name": keys_secret(subnet)},
                "capabilities": ["matmul"],
                "routing": {"policy": "Incentive", "deadlineMilliseconds": 10000},
            }
    return out


def gateway_secrets(namespace: str, subnet: str, hotkey_file: str) -> list[dict[str, Any]]:
    """The gateway's hotkey Secret (claimed for ``Gateway/<subnet>``) and its keys Secret."""
    keys = {"keys": [{"name": "demo-user", "key": DEMO_API_KEY}]}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": hotkey_secret(subnet),
                "namespace": namespace,
                "annotations": {"subnetes.io/hotkey-for": f"Gateway/{subnet}"},
            },
            "stringData": {"hotkey": hotkey_file},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": keys_secret(subnet), "namespace": namespace},
            "stringData": {"keys.yaml": json.dumps(keys)},
        },
    ]


def gateway_url(pods: dict[str, Any]) -> str | None:
    """``http://<pod IP>:<port>`` of the first Running gateway pod in a ``kubectl get pods -o
    json`` answer."""
    for p in pods.get("items") or []:
        ip = (p.get("status") or {}).get("podIP")
        if ip and (p.get("status") or {}).get("phase") == "Running":
            port = p["spec"]["containers"][0]["ports"][0]["containerPort"]
            return f"http://{ip}:{port}"
    return None


def curl_command(url: str, capability: str = "matmul") -> str:
    """The curl a user types to get work done by the network (``url``: a gateway or the
    router)."""
    body = json.dumps(request_body(capability, 42, 64))
    return f"curl -s {url}/v1/{capability} -H 'Authorization: Bearer {DEMO_API_KEY}' -d '{body}'"


def routes_file(gateways: list[GatewayState], netuids: dict[str, int]) -> dict[str, Any]:
    """The router's routes (``subnetes.gateway.router``): each gateway's URL and capability."""
    return {
        "routes": [
            {"netuid": netuids[g.subnet], "url": g.url, "capabilities": [CAPABILITY[g.subnet]]}
            for g in gateways
        ]
    }


def totals(pool: dict[str, Any]) -> dict[str, int]:
    """The subnet's gateway traffic: verified, wrong and failed answers over all miners."""
    out = {"verified": 0, "wrong": 0, "failed": 0}
    for m in pool.get("miners") or []:
        c = m.get("counts") or {}
        out["verified"] += int(c.get("ok", 0))
        out["wrong"] += int(c.get("wrong", 0))
        out["failed"] += int(c.get("timeout", 0)) + int(c.get("error", 0))
    return out


def render_traffic(
    subnet: str,
    pool: dict[str, Any] | None,
    sent: dict[str, int],
    names: dict[str, tuple[str, str, str]] | None = None,
) -> Table | Text:
    """The live view's gateway table: one row per miner UID (named from ``names``, a snapshot's
    hotkey -> (kind, name, phase); validators, gateways and the owner left out), the subnet's
    totals in the title."""
    names = names or {}
    if not pool:
        return Text(f"gateway {subnet}-gateway: not serving yet (waiting for its pod)")
    t = totals(pool)
    table = Table(
        title=(
            f"gateway {subnet}-gateway (netuid {pool.get('netuid')}): {t['verified']} verified, "
            f"{t['wrong']} wrong (never returned), {t['failed']} failed miner answers; "
            f"users' requests: {sent.get('ok', 0)} answered, {sent.get('error', 0)} not"
        ),
        caption="SHARE: the miner's share of the next requests (incentive x observed health)",
    )
    cols = (
        "UID",
        "MINER",
        "HOTKEY",
        "VERIFIED",
        "WRONG",
        "FAILED",
        "LATENCY ms",
        "SHARE",
        "BREAKER",
    )
    for col in cols:
        table.add_column(col, justify="left" if col in ("MINER", "HOTKEY", "BREAKER") else "right")
    for m in pool.get("miners") or []:
        kind, name, _phase = names.get(m["hotkey"], ("Miner", "-", ""))
        if kind != "Miner":
            continue
        c = m.get("counts") or {}
        lat = m.get("latency_ewma_s")
        table.add_row(
            str(m["uid"]), name, str(m["hotkey"])[:10] + "…", str(c.get("ok", 0)),
            str(c.get("wrong", 0)), str(int(c.get("timeout", 0)) + int(c.get("error", 0))),
            "-" if lat is None else f"{1000 * lat:.0f}", f"{m.get('share', 0):.2f}",
            str(m.get("breaker", "-")),
        )  # fmt: skip
    return table


def traffic_line(subnet: str, pool: dict[str, Any]) -> str:
    """One story line: the gateway's verified answers per miner so far."""
    t = totals(pool)
    per = ", ".join(
        f"UID {m['uid']}: {(m.get('counts') or {}).get('ok', 0)}"
        for m in pool.get("miners") or []
        if (m.get("counts") or {}).get("ok", 0)
    )
    return (
        f"gateway {subnet}: {t['verified']} verified answers to users' requests "
        f"({per or 'none yet'}); "
        f"{t['wrong']} wrong answers caught and never returned"
    )


@dataclass
class Traffic:
    """A thread that sends one small request to ``url`` (the router) every ``interval`` seconds,
    each of ``capabilities`` in turn; ``sent`` counts the answers per capability."""

    url: str
    capabilities: list[str]
    interval: float = TRAFFIC_INTERVAL_S
    sent: dict[str, dict[str, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    def _run(self) -> None:
        import httpx

        rng = random.Random(0)
        for cap in self.capabilities:
            self.sent[cap] = {"ok": 0, "error": 0}
        with httpx.Client(trust_env=False, timeout=20.0) as client:
            i = 0
            while not self._stop.wait(self.interval):
                cap = self.capabilities[i % len(self.capabilities)]
                i += 1
                try:
                    r = client.post(
                        f"{self.url}/v1/{cap}",
                        json=request_body(cap, rng.randrange(2**31)),
                        headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
                    )
                    self.sent[cap]["ok" if r.status_code == 200 else "error"] += 1
                except httpx.HTTPError:
                    self.sent[cap]["error"] += 1


def stake_rao() -> int:
    """The gateway's stake in rao."""
    return GATEWAY_STAKE_TAO * RAO_PER_TAO
