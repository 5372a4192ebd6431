"""Test-only fault injection: kill (or freeze) the operator process at a named point.

**Never set these variables in production.** They exist so crash tests can stop the operator
exactly where a crash does damage (after paying on the chain, before writing status) instead of
at a random moment. Unset (the default, and what the chart and image set), every function here
is a no-op apart from one dictionary lookup.

- ``SUBNETES_FAULT_KILL_AT=<point>[:<n>]``: SIGKILL this process (no cleanup, as a crash) the
  ``n``-th time (default 1) execution reaches ``<point>``.
- ``SUBNETES_FAULT_STOP_AT=<point>[:<n>]``: SIGSTOP this process there instead (a frozen
  process: GC pause, suspended VM), for split-brain tests; SIGCONT resumes it right there.
- ``SUBNETES_FAULT_WRITE_LOG=<path>``: append ``<pid> <unix time> <write>`` for every write the
  lease fence lets through (:func:`~.leader.fence`), so a test can prove a fenced process wrote
  nothing.

Points: ``<extrinsic>`` (``register_network``, ``burned_register``, ``add_stake``,
``remove_stake``, ...) once the chain has included it, before the operator records anything;
``step:<name>`` after a reconcile step returned (``step:register``, ``step:validator_stake``).
A line ``fault injection: <action> at <point>`` goes to stderr first.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter

KILL_ENV = "SUBNETES_FAULT_KILL_AT"
STOP_ENV = "SUBNETES_FAULT_STOP_AT"
WRITE_LOG_ENV = "SUBNETES_FAULT_WRITE_LOG"

_hits: Counter[str] = Counter()


def parse(spec: str | None) -> tuple[str, int] | None:
    """``"<point>[:<n>]"`` -> (point, n); None when unset or empty."""
    if not spec:
        return None
    point, sep, count = spec.rpartition(":")
    if sep and count.isdigit():
        return point, max(1, int(count))
    return spec, 1


def reached(point: str) -> None:
    """Execution reached ``point``: kill or freeze the process if a test asked for it here."""
    env = os.environ
    if KILL_ENV not in env and STOP_ENV not in env:
        return
    _hits[point] += 1
    for var, sig, action in (
        (KILL_ENV, signal.SIGKILL, "kill"),
        (STOP_ENV, signal.SIGSTOP, "stop"),
    ):
        want = parse(env.get(var))
        if want is not None and want == (point, _hits[point]):
            sys.stderr.write(f"fault injection: {action} at {point} (pid {os.getpid()})\n")
            sys.stderr.flush()
            os.kill(os.getpid(), sig)


def note_write(what: str) -> None:
    """Record a write the fence allowed (only when ``SUBNETES_FAULT_WRITE_LOG`` names a file)."""
    path = os.environ.get(WRITE_LOG_ENV)
    if not path:
        return
    with open(path, "a") as f:
        f.write(f"{os.getpid()} {time.time():.6f} {what}\n")
