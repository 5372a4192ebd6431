"""``python -m subnetes.operator [options] [kopf run options]``: run the operator.

Equivalent to ``kopf run -m subnetes.operator.handlers --liveness http://127.0.0.1:8080/healthz``
(another free port when 8080 is taken, outside a pod)
plus the given options (e.g. ``--standalone -n my-namespace``, or ``-A`` for all namespaces).
In a pod (``KUBERNETES_SERVICE_HOST`` set) the default liveness endpoint listens on 0.0.0.0 so
the kubelet's probe reaches it.

HA: ``--leader-election-lease NAME`` (and ``--leader-election-namespace NS``, default
``$POD_NAMESPACE``) makes this replica take the coordination.k8s.io Lease ``NS/NAME`` before
Kopf starts; only the holder reconciles (Kopf runs ``--standalone``: the Lease replaces
peering). See :mod:`subnetes.operator.leader`.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

from kopf.cli import main as kopf_main

from . import leader, metrics
from .config import Config

LIVENESS_PORT = 8080


def _liveness(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        if a.startswith("--liveness="):
            return a.split("=", 1)[1]
        if a == "--liveness" and i + 1 < len(args):
            return args[i + 1]
    return None


def default_liveness() -> str:
    """The liveness URL when none is given: port 8080 on 0.0.0.0 in a pod (the kubelet probes
    it). Outside a pod, 127.0.0.1:8080 if free, else a free port, said on stderr: nothing
    probes it there, and a taken 8080 (another operator, any dev server) made Kopf stop at
    start-up with a bind traceback (the README's walkthrough, two sessions on one machine)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return f"http://0.0.0.0:{LIVENESS_PORT}/healthz"
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds it
        try:
            s.bind(("127.0.0.1", LIVENESS_PORT))
            return f"http://127.0.0.1:{LIVENESS_PORT}/healthz"
        except OSError:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    print(
        f"liveness endpoint: 127.0.0.1:{LIVENESS_PORT} is in use, serving "
        f"http://127.0.0.1:{port}/healthz instead (--liveness URL picks one)",
        file=sys.stderr,
    )
    return f"http://127.0.0.1:{port}/healthz"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    lease, lease_ns, args = leader.split_args(args)
    if not any(a.startswith("--liveness") for a in args):
        args += ["--liveness", default_liveness()]
    if lease is None:
        kopf_main(["run", "-m", "subnetes.operator.handlers", *args], prog_name="subnetes-operator")
        return
    run_with_lease(lease, lease_ns, args)


def run_with_lease(lease: str, lease_ns: str | None, args: list[str]) -> None:
    """Block until this replica holds the Lease, then run Kopf while a thread renews it; exit
    the process at once if it is lost, release it on a clean shutdown."""
    # Our own log handler until Kopf installs its own (then ours goes, or lines would double).
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("[%(asctime)s] %(name)-20.20s [%(levelname)-8.8s] %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    namespace = lease_ns or os.environ.get("POD_NAMESPACE")
    if not namespace:
        raise SystemExit(
            "--leader-election-lease needs --leader-election-namespace or $POD_NAMESPACE"
        )
    if not any(a in ("--standalone", "--peering") or a.startswith("--peering=") for a in args):
        args = ["--standalone", *args]  # the Lease decides who runs; no Kopf peering on top
    elector = leader.Elector(
        leader.LeaseStore(lease, namespace), leader.identity_from_env(), leader.Timing.from_env()
    )
    stop_health = leader.standby_health(_liveness(args))
    config = Config.from_env()
    if config.metrics_port:  # scraped while waiting too (leader 0): a failed scrape would page
        metrics.serve(config.metrics_host, config.metrics_port, leader=False)
    try:
        elector.acquire()
    finally:
        stop_health()
        root.removeHandler(handler)
    elector.start_renewing(leader.exit_now)
    try:
        kopf_main(["run", "-m", "subnetes.operator.handlers", *args], prog_name="subnetes-operator")
    finally:
        elector.release()


if __name__ == "__main__":
    main()
