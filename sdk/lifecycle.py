"""Graceful shutdown: SIGTERM/SIGINT set a stop event that every loop waits on."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

log = logging.getLogger("subnetes.sdk.lifecycle")


def install_stop_signals(stop: asyncio.Event) -> None:
    """Make SIGTERM (Kubernetes' pod stop) and SIGINT set ``stop`` on the running loop."""
    loop = asyncio.get_running_loop()

    def _on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("stopping", extra={"signal": sig.name})
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, _on_signal, sig)
        except (NotImplementedError, RuntimeError):  # not the main thread / platform without it
            log.debug("cannot install handler", extra={"signal": sig.name})


def run_workload(
    amain: Callable[[dict[str, str]], Coroutine[Any, Any, int]],
    env: Mapping[str, str] | None = None,
    name: str = "subnetes.workload",
) -> int:
    """The ``main()`` of a workload: logging from env, run ``amain``, and exit code 2 with one
    clear log line when configuration or the hotkey is wrong (no traceback, no key material)."""
    from .config import ConfigError
    from .keys import HotkeyError
    from .logs import setup_logging

    env = dict(os.environ if env is None else env)
    setup_logging(
        env.get("SUBNETES_LOG_LEVEL", "INFO").upper(), env.get("SUBNETES_LOG_FORMAT", "json")
    )
    try:
        return asyncio.run(amain(env))
    except (ConfigError, HotkeyError) as e:
        logging.getLogger(name).error("cannot start", extra={"error": str(e)})
        return 2
