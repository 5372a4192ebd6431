"""A workload pod's edge: configuration, hotkey, chain client, metrics, health and signals
around a subnet's own logic, so a subnet module holds only what differs (its logic and knobs).

The operator sets the environment (see :class:`subnetes.sdk.config.WorkloadConfig`); a
subnet's ``amain(env)`` calls :func:`run_validator_pod` or :func:`run_miner_pod` and its
``main()`` is :func:`subnetes.sdk.lifecycle.run_workload`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .axon import Axon
from .config import WorkloadConfig
from .validator import SubnetLogic

log = logging.getLogger("subnetes.sdk.pod")


def chain_axon(config: WorkloadConfig, env: Mapping[str, str]) -> Axon:
    """An axon signing with the pod's hotkey, on the chain service, with no routes yet."""
    from .chain_client import ServiceChain
    from .keys import load_hotkey

    keypair = load_hotkey(config.hotkey_path)
    return Axon(
        keypair,
        config.netuid,
        ServiceChain(config.chain_endpoint, keypair),
        ip=config.axon_ip,
        port=config.axon_port or 0,
        refresh_s=float(env.get("SUBNETES_METAGRAPH_REFRESH", "12") or 12),
    )


async def run_miner_pod(
    env: Mapping[str, str],
    build_axon: Callable[[WorkloadConfig, Mapping[str, str]], Axon],
    service: str,
    started: Mapping[str, Any] | None = None,
) -> int:
    """Serve the axon ``build_axon`` makes until SIGTERM, with metrics and tracing as
    ``service``; ``started`` adds fields to the start-up log line."""
    from .lifecycle import install_stop_signals
    from .miner import serve_until_stopped
    from .telemetry import setup_tracing, start_metrics_server

    config = WorkloadConfig.from_env(env, require_axon=True)
    setup_tracing(service, env)
    axon = build_axon(config, env)
    server = start_metrics_server(axon.metrics.registry, config.metrics_ip, config.metrics_port)
    log.info(
        "miner starting",
        extra={
            "service": service,
            "netuid": config.netuid,
            "hotkey": axon.hotkey,
            **(started or {}),
        },
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        await serve_until_stopped(axon, axon.chain, stop)
    finally:
        if server is not None:
            server.shutdown()
    return 0


async def run_validator_pod(
    env: Mapping[str, str],
    logic: SubnetLogic,
    version_key: int,
    service: str,
    started: Mapping[str, Any] | None = None,
) -> int:
    """Run a :class:`~subnetes.sdk.validator.Validator` with ``logic`` until SIGTERM: metrics,
    tracing as ``service``, and the health server the kubelet probes when the operator sets
    its port; ``started`` adds fields to the start-up log line."""
    from .chain_client import ServiceChain
    from .health import HealthServer
    from .keys import load_hotkey
    from .lifecycle import install_stop_signals
    from .telemetry import setup_tracing, start_metrics_server
    from .validator import Validator, ValidatorSettings

    config = WorkloadConfig.from_env(env)
    settings = ValidatorSettings.from_env(env, version_key=version_key)
    setup_tracing(service, env)
    keypair = load_hotkey(config.hotkey_path)
    validator = Validator(
        keypair,
        config.netuid,
        ServiceChain(config.chain_endpoint, keypair),
        logic,
        settings=settings,
    )
    server = start_metrics_server(
        validator.metrics.registry, config.metrics_ip, config.metrics_port
    )
    health = None
    if config.health_port:  # the operator sets it: the kubelet probes /healthz and /readyz
        health = HealthServer(
            config.health_ip, config.health_port, validator.ready, validator.health
        )
        await health.start()
    log.info(
        "validator starting",
        extra={
            "service": service,
            "netuid": config.netuid,
            "hotkey": validator.hotkey,
            "version_key": settings.version_key,
            **(started or {}),
        },
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        await validator.run(stop)
    finally:
        if health is not None:
            await health.stop()
        if server is not None:
            server.shutdown()
    return 0
