"""Compile the epoch before the chain produces blocks, and again (off the block path) when the
state grows into a new shape bucket.

JAX compiles ``run_epochs`` once per padded (S, V, N) shape; a compile on the block thread
stalls block production (8-11 s on a small CPU machine) and every API request that waits for
the commit. The chain therefore compiles the shapes its state needs at start-up, before block
production starts (``/readyz`` answers 503 meanwhile), with JAX's persistent compilation cache
on, so a restart loads the compiled programs from disk instead of compiling them again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from .epoch import batch_shape, row_uids
from .rules.coinbase import epoch_due
from .state import State

log = logging.getLogger("subnetes.chain")
Shape = tuple[int, int, int]

# Blocks ahead whose due sets are inspected (the due sets repeat with the lcm of tempo + 1).
MAX_HORIZON = 20_000


def consensus_overridden() -> bool:
    """True when ``SUBNETES_CHAIN_CONSENSUS`` plugs in another consensus (tests, benchmarks):
    there is no JAX program to compile then."""
    return bool(os.environ.get("SUBNETES_CHAIN_CONSENSUS"))


# One subnet with neurons, as the needed shapes see it:
# (netuid, tempo, neurons, validator rows (epoch.row_uids), max_allowed_validators).
SubnetSize = tuple[int, int, int, int, int]


def signature(st: State) -> tuple[SubnetSize, ...]:
    """What the needed shapes depend on, per subnet with neurons. Cheap: taken after every
    committed block (on the event loop), compared, and handed to :func:`needed_shapes`."""
    out = []
    for netuid in st.user_subnets():
        s = st.subnets[netuid]
        if s.neurons:
            permits = len(row_uids(st, s))  # the validator rows its epoch gets
            hp = s.hp
            out.append((netuid, hp.tempo, len(s.neurons), permits, hp.max_allowed_validators))
    return tuple(out)


def needed_shapes(
    sig: tuple[SubnetSize, ...], start_block: int, horizon: int | None = None
) -> set[Shape]:
    """The (S, V, N) shapes of the consensus calls of blocks ``start_block``.. for subnets of
    signature ``sig``: each block's due subnets batched as ``run_due_epochs`` batches them.
    The due sets repeat every lcm(tempo + 1) blocks (inspected up to MAX_HORIZON)."""
    subnets = [x for x in sig if x[1] > 0]
    if not subnets:
        return set()
    if horizon is None:
        horizon = min(MAX_HORIZON, math.lcm(*(x[1] + 1 for x in subnets)))
    shapes: set[Shape] = set()
    for b in range(start_block, start_block + horizon):
        due = [x[2:] for x in subnets if epoch_due(b, x[0], x[1])]
        if due:
            shapes.add(batch_shape(due))
    return shapes


def enable_cache(cache_dir: str | os.PathLike[str] | None) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``cache_dir`` (default
    ``$SUBNETES_JAX_CACHE``, else ``~/.cache/subnetes/jax``); None (a warning) when the
    directory cannot be created: the chain then compiles at every start."""
    from subnetes.consensus import enable_compilation_cache

    try:
        return enable_compilation_cache(cache_dir)
    except OSError as e:
        log.warning("JAX compilation cache off (%s): the epoch compiles at every start", e)
        return None


# In the compilation cache directory: the shapes the last state needed (a start-up compiles them
# while its state still loads; the state's own shapes are compiled after it, as always).
SHAPES_HINT = "subnetes-epoch-shapes.json"


def read_hint(cache: Path | None) -> list[Shape]:
    """The shapes recorded in ``cache`` (none when absent or unreadable: only a hint)."""
    if cache is None:
        return []
    try:
        raw = json.loads((cache / SHAPES_HINT).read_text())
        return [(int(s), int(v), int(n)) for s, v, n in raw]
    except (OSError, ValueError, TypeError):
        return []


def write_hint(cache: Path | None, shapes: Iterable[Shape]) -> None:
    """Record ``shapes`` as the next start's hint (failures are logged and ignored)."""
    if cache is None:
        return
    tmp = cache / f".{SHAPES_HINT}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps(sorted(shapes)))
        os.replace(tmp, cache / SHAPES_HINT)
    except OSError as e:
        log.warning("epoch shapes hint not written (%s)", e)


class Warmup:
    """Compiles epoch shapes on its own thread and remembers which are done."""

    def __init__(self) -> None:
        self.compiled: set[Shape] = set()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="warmup")
        self._sig: object = None
        self._cache: Path | None = None
        # Set by close(): a start-up that failed (say, an unreachable database) prints its one
        # error line, so the warm-up thread must not go on to compile and log after it.
        self._closed = threading.Event()

    def begin(
        self, cache_dir: str | os.PathLike[str] | None
    ) -> concurrent.futures.Future[Path | None]:
        """Import JAX, turn on its compilation cache (:func:`enable_cache`) and compile the
        shapes the last run's state needed (:data:`SHAPES_HINT`), on the warm-up thread, now:
        at start-up this overlaps the state load instead of following it (the import alone
        takes seconds). The state's own shapes are compiled after it (:meth:`start_up`): a
        stale hint costs time, never a missing shape."""
        return self._pool.submit(self._begin, cache_dir)

    def _begin(self, cache_dir: str | os.PathLike[str] | None) -> Path | None:
        self._cache = enable_cache(cache_dir)
        try:
            self.compile(read_hint(self._cache))
        except Exception:  # only a head start: start_up compiles what the state needs
            log.exception("compiling the hinted epoch shapes failed")
        return self._cache

    def compile(self, shapes: Iterable[Shape]) -> list[Shape]:
        """Compile the shapes not compiled yet (blocking); returns those compiled now."""
        from subnetes.consensus import precompile

        new = sorted(set(shapes) - self.compiled)
        if self._closed.is_set():
            return []
        if new:
            log.info("compiling the epoch for shapes %s", new)
        done: list[Shape] = []
        for shape in new:
            if self._closed.is_set():
                break
            t0 = time.perf_counter()
            precompile([shape])
            self.compiled.add(shape)
            done.append(shape)
            log.info("epoch compiled for shape %s in %.2f s", shape, time.perf_counter() - t0)
        return done

    def _needed(self, sig: tuple[SubnetSize, ...], block: int) -> list[Shape]:
        shapes = needed_shapes(sig, block)
        write_hint(self._cache, shapes)
        return self.compile(shapes)

    async def start_up(self, st: State, block: int) -> list[Shape]:
        """Compile what the state needs from ``block`` on (on the warm-up thread)."""
        self._sig = sig = signature(st)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._needed, sig, block)

    def check(self, st: State, block: int) -> concurrent.futures.Future[list[Shape]] | None:
        """After a commit: when the state's shape signature changed, compile the shapes it now
        needs on the warm-up thread (not the block thread). ``st`` must be a committed state
        (read here, on the event loop; the thread only sees the signature)."""
        sig = signature(st)
        if sig == self._sig:
            return None
        self._sig = sig
        return self._pool.submit(self._needed, sig, block)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
