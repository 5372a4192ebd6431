"""``python -m subnetes.gateway``: a subnet's gateway, configured by the environment (see
``subnetes.gateway.config``), until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

log = logging.getLogger("subnetes.gateway")


async def amain(env: Mapping[str, str]) -> int:
    """Build the gateway from ``env`` and serve until SIGTERM/SIGINT."""
    from subnetes.chain.client import AsyncChainClient
    from subnetes.sdk.config import ConfigError
    from subnetes.sdk.keys import load_hotkey
    from subnetes.sdk.lifecycle import install_stop_signals
    from subnetes.sdk.telemetry import setup_tracing

    from .auth import KeyRing, KeysFileError
    from .capabilities import builtin
    from .config import GatewaySettings
    from .service import Gateway

    s = GatewaySettings.from_env(env)
    setup_tracing("subnetes-gateway", env)
    keypair = load_hotkey(s.hotkey_path)
    keyring = KeyRing(s.keys_path, s.limits)
    try:
        keyring.load()
        caps = builtin(
            list(s.capabilities),
            max_dim=s.max_dim,
            rounds=s.rounds,
            linsolve_max_n=s.linsolve_max_n,
            linsolve_rounds=s.linsolve_rounds,
        )
    except (KeysFileError, ValueError) as e:
        raise ConfigError(str(e)) from None
    gw = Gateway(
        keypair,
        s.netuid,
        AsyncChainClient(s.chain_endpoint, timeout=30.0),
        keyring,
        caps,
        routing=s.routing,
        policy=s.dispatch,
        ip=s.ip,
        port=s.port,
        max_body_bytes=s.max_body_bytes,
        refresh_s=s.refresh_s,
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    await gw.start()
    try:
        await stop.wait()
    finally:
        await gw.stop()
    return 0


def main(env: Mapping[str, str] | None = None) -> int:
    """Entry point of the pod."""
    from subnetes.sdk.lifecycle import run_workload

    return run_workload(amain, env, log.name)


if __name__ == "__main__":
    raise SystemExit(main())
