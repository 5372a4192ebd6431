"""What the chain's and the operator's /metrics really export, and the metric names a PromQL
expression reads: alerts and dashboard panels may only read the former.

The chain's names come from a real ``subnetes chain run`` process (manual blocks, the NumPy
reference consensus) that registered a subnet, a miner and a validator and ran epochs, scraped
over HTTP; the operator's from its registry (``subnetes.operator.metrics``) as its /metrics
serves it.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

# Read by the alerts but exported by others: kube-state-metrics (the chain's Secrets).
EXTERNAL_METRICS = frozenset({"kube_secret_info"})

# The sample names each metric type exports besides its family name's own.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def names_in_exposition(text: str) -> set[str]:
    """Every sample name a Prometheus text exposition declares (HELP/TYPE included: a labelled
    metric with no series yet is exported all the same)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def scrape_running_chain() -> str:
    """The /metrics text of a real chain process after a subnet's registrations and epochs."""
    from bittensor_wallet import Keypair

    from subnetes.chain.extrinsic import sign

    with tempfile.TemporaryDirectory() as tmp:
        port, ready = _free_port(), Path(tmp) / "chain.ready"
        env = {**os.environ, "SUBNETES_CHAIN_CONSENSUS": "subnetes.consensus:reference_epochs"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "subnetes.chain", "chain", "run", "--db", f"{tmp}/c.db",
             "--port", str(port), "--manual", "--ready-file", str(ready), "--no-precompile"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.time() + 60
            while not ready.exists():
                assert proc.poll() is None and time.time() < deadline, (
                    proc.stderr.read().decode() if proc.stderr else "chain did not start"
                )
                time.sleep(0.05)
            h = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            genesis = h.get("/v1/chain").json()["genesis_hash"]
            alice = Keypair.create_from_uri("//Alice")
            owner, miner, vali = (Keypair.create_from_uri(f"//obs-{n}") for n in "omv")

            def submit(kp: Any, call: str, args: dict[str, Any]) -> None:
                nonce = h.get(f"/v1/accounts/{kp.ss58_address}").json()["nonce"]
                body = sign(kp, call, args, nonce, genesis)
                r = h.post("/v1/extrinsics", params={"wait": "false"}, json=body)
                assert r.status_code == 202, r.text
                h.post("/v1/dev/produce")
                assert h.get(f"/v1/extrinsics/{r.json()['hash']}").json()["status"] == "in_block"

            submit(alice, "register_network", {"hotkey": owner.ss58_address})
            for hk in (miner, vali):
                submit(alice, "burned_register", {"netuid": 1, "hotkey": hk.ss58_address})
            submit(alice, "add_stake", {"hotkey": vali.ss58_address, "amount": 10**12})
            submit(alice, "transfer", {"dest": vali.ss58_address, "amount": 10**10})
            h.post("/v1/dev/produce", params={"count": 12})  # an epoch: the validator's permit
            submit(vali, "set_weights", {"netuid": 1, "uids": [1], "values": [65535]})
            h.post("/v1/dev/produce", params={"count": 12})
            return h.get("/metrics").text
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def operator_exposition() -> str:
    """What the operator's /metrics serves (its metrics live in the default registry)."""
    import subnetes.operator.metrics  # noqa: F401  (registers them)

    return generate_latest(REGISTRY).decode()


@functools.cache
def exported_metric_names() -> frozenset[str]:
    """Every sample name the chain's and the operator's /metrics export (cached per session)."""
    return frozenset(names_in_exposition(scrape_running_chain() + operator_exposition()))


# PromQL words that are not metric names.
KEYWORDS = frozenset(
    [
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "inf",
        "nan",
    ]
)


def metric_names_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (a lexical pass: strings, label matchers,
    grouping label lists, ranges and function calls are not names)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # label lists
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b\d[\w.]*", " ", text)  # numbers and durations
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[m.end() :].lstrip()
        if rest.startswith("(") or m.group() in KEYWORDS:
            continue  # a function call or an operator word
        names.add(m.group())
    return names
