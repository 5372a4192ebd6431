"""Graceful shutdown: SIGTERM/SIGINT set a stop event that every loop waits on."""

from __future__ import annotations

import asyncio
import logging
import signal

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
