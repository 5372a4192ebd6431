"""Serving: a registered hotkey publishes where its axon listens (``serve_axon``)."""

from __future__ import annotations

import ipaddress
from typing import Any

from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, fail, require
from ..state import Axon, State
from .common import get_subnet, registered_uid


def serve_axon(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Record the signer's axon (ip, port, protocol, version) on subnet ``netuid``."""
    s = get_subnet(st, a["netuid"], allow_root=True)
    uid = registered_uid(s, signer)
    try:
        ip = ipaddress.ip_address(a["ip"])
    except ValueError:
        fail(ErrorName.INVALID_IP_ADDRESS, f"{a['ip']!r} is not an IPv4/IPv6 address")
    # the schema (rules/dispatch.py, kind "ip") refuses scope ids already; a scope id is free
    # text that would be stored and printed by every tool (issue 13 #5)
    require(
        getattr(ip, "scope_id", None) is None,
        ErrorName.INVALID_IP_ADDRESS,
        "an IPv6 scope id is not accepted",
    )
    require(1 <= a["port"] <= 65535, ErrorName.INVALID_PORT, "port must be in [1, 65535]")
    n = s.neurons[uid]
    limit = s.hp.serving_rate_limit
    require(
        n.axon is None or limit == 0 or ctx.block - n.axon.block >= limit,
        ErrorName.SERVING_RATE_LIMIT_EXCEEDED,
        f"serve_axon at most once per {limit} blocks",
    )
    st.neuron_mut(s.netuid, uid).axon = Axon(
        block=ctx.block,
        ip=str(ip),
        port=a["port"],
        ip_type=ip.version,
        protocol=a["protocol"],
        version=a["version"],
    )
    ctx.emit(
        EventKind.AXON_SERVED,
        netuid=s.netuid,
        uid=uid,
        hotkey=signer,
        ip=str(ip),
        port=a["port"],
        protocol=a["protocol"],
    )
