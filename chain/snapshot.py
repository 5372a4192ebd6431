"""A whole-state snapshot for a fast restart, checked against the head before it is trusted.

Rebuilding the state from its chunks decodes every chunk's JSON (at 128 subnets x 256 UIDs,
65,000 chunks and 4 million weight and bond pairs: most of a restart). A node that stops
cleanly therefore writes its committed state as ONE pickled value (``chain_meta`` key
``snapshot``), and the next start reads that one value instead, if it is provably the head's
state:

* written at block ``n``, it is used only while the head is still block ``n`` (any block
  committed after it, a crash included, makes it stale: the chunks are read as before);
* its chunk hashes must sum to the head block's state root (the same incremental multiset hash
  the chain keeps), and the state classes' fields must be those of the running code (an
  upgrade that changed them reads the chunks).

The chunks stay the source of truth: a snapshot is only ever a cache of them, deleted once read
(so a backup does not carry a stale one). Unpickling is restricted to the state's own
classes (:class:`StateUnpickler`): someone who can write the database can already change the
state, but must not get to run code in the chain process through it.
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import hashlib
import io
import logging
import pickle
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .block import BlockRecord
from .params import ChainConfig, Hyperparams
from .state import (
    _MOD,
    Account,
    Axon,
    Globals,
    Governance,
    Hotkey,
    Neuron,
    Proposal,
    State,
    Subnet,
)
from .storage import Storage

log = logging.getLogger("subnetes.chain")
SNAPSHOT_META = "snapshot"
_CLASSES = (Globals, Governance, Proposal, Account, Hotkey, Axon, Neuron, Subnet, Hyperparams)


# Where the classes a snapshot holds are defined; nothing else may be named by one.
_STATE_MODULES = frozenset(c.__module__ for c in (*_CLASSES, State))


class StateUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the state's dataclasses (by module and name), so a
    snapshot cannot name a callable such as ``os.system`` for pickle to call."""

    def find_class(self, module: str, name: str) -> Any:
        if module in _STATE_MODULES:
            found = getattr(sys.modules[module], name, None)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                return found
        raise pickle.UnpicklingError(f"a state snapshot may not name {module}.{name}")


def fingerprint() -> str:
    """What a snapshot's pickled objects depend on: the fields of every state class, the
    attributes of :class:`State` and the Python version (pickle of another layout is refused)."""
    layout = [(c.__qualname__, [f.name for f in dataclasses.fields(c)]) for c in _CLASSES]
    attrs = sorted(vars(State(ChainConfig())))
    text = repr((layout, attrs, sys.version_info[:2]))
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run without the cyclic garbage collector: building the state allocates millions of
    containers, and each collection set off meanwhile walks the ones made so far (unpickling
    the 128 x 256 snapshot took about 3 times as long with it on; the chunks' JSON path gains
    little). Nothing built here is garbage; the server freezes it afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def encode(st: State, head: BlockRecord) -> str:
    """The snapshot of committed state ``st`` at ``head`` (text: ``chain_meta`` holds text)."""
    if st.uncommitted:
        raise ValueError("a snapshot is of committed state only (the state has dirty chunks)")
    data = {k: v for k, v in vars(st).items() if k not in ("config", "genesis_config")}
    body = pickle.dumps(
        {
            "fingerprint": fingerprint(),
            "block": head.number,
            "root": head.state_root,
            "state": data,
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    return base64.b64encode(body).decode("ascii")


def decode(text: str, config: ChainConfig, head: BlockRecord) -> State | None:
    """The state in snapshot ``text`` if it is ``head``'s (block, state root, layout), else
    None (with the reason logged)."""
    try:
        with gc_paused():
            snap = StateUnpickler(io.BytesIO(base64.b64decode(text))).load()
    except Exception as e:  # a damaged snapshot is a cache miss, never a failed start
        log.warning("state snapshot not readable (%s): reading the state chunks", e)
        return None
    why = None
    if not isinstance(snap, dict) or snap.get("fingerprint") != fingerprint():
        why = "written by code with another state layout"
    elif snap.get("block") != head.number or snap.get("root") != head.state_root:
        why = f"of block {snap.get('block')}, the head is {head.number}"
    else:
        data: dict[str, Any] = snap["state"]
        root = sum(data["chunk_hashes"].values()) % _MOD
        if "0x" + root.to_bytes(32, "big").hex() != head.state_root:
            why = "its chunk hashes do not sum to the head's state root"
    if why is not None:
        log.info("state snapshot not used (%s): reading the state chunks", why)
        return None
    st = State(config)
    vars(st).update(data)
    st.refresh_config()  # config is not pickled: derived from genesis + governed parameters
    return st


def save(storage: Storage, st: State, head: BlockRecord) -> None:
    """Write the snapshot of committed state ``st`` at ``head`` (a clean stop)."""
    t0 = time.perf_counter()
    text = encode(st, head)
    storage.put_meta(SNAPSHOT_META, text)
    log.info(
        "state snapshot at block %d written (%.0f MB) in %.2f s",
        head.number,
        len(text) / 1e6,
        time.perf_counter() - t0,
    )


def load_state(storage: Storage, config: ChainConfig, head: BlockRecord, snapshot: bool) -> State:
    """The committed state at ``head``: from the snapshot when ``snapshot`` and it is the head's
    (then deleted), else rebuilt from the chunks."""
    t0 = time.perf_counter()
    if snapshot:
        text = storage.get_meta(SNAPSHOT_META)
        if text is not None:
            storage.put_meta(SNAPSHOT_META, None)  # read once: never left behind stale
            st = decode(text, config, head)
            if st is not None:
                log.info(
                    "state loaded from the snapshot of block %d in %.2f s",
                    head.number,
                    time.perf_counter() - t0,
                )
                return st
    with gc_paused():
        st = State.load(config, storage.load_chunks())
    log.info("state loaded from its chunks in %.2f s", time.perf_counter() - t0)
    return st
