"""The real chain service process (``subnetes chain run``) on 127.0.0.1, for service tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """The real ``subnetes chain run`` process on 127.0.0.1; ``db`` is a SQLite path or a URL
    (then ``ready`` names the ready file)."""

    def __init__(
        self,
        db: Path | str,
        block_time: float = 0.1,
        ready: Path | None = None,
        extra_args: tuple[str, ...] = (),
        fake_consensus: bool = False,
        log: Path | None = None,
    ) -> None:
        self.db, self.block_time, self.port = str(db), block_time, free_port()
        self.ready = ready or Path(db).with_suffix(".ready")
        self.extra_args = extra_args
        self.fake_consensus = fake_consensus  # the NumPy stand-in: no JAX compile in the process
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = log  # stderr to this file (a long run's logging would fill a pipe)

    def start(self) -> Service:
        env = dict(os.environ)
        from .conftest import _real_consensus_works

        if self.fake_consensus or not _real_consensus_works():
            # never the repo root on sys.path: operator/ would shadow the stdlib module
            env["PYTHONPATH"] = str(Path(__file__).parent)
            env["SUBNETES_CHAIN_CONSENSUS"] = "fake_consensus:run_epochs"
        ready = self.ready
        ready.unlink(missing_ok=True)
        err_to: Any = self.log.open("ab") if self.log else subprocess.PIPE
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "subnetes.chain",
                "chain",
                "run",
                "--db",
                self.db,
                "--port",
                str(self.port),
                "--block-time",
                str(self.block_time),
                "--ready-file",
                str(ready),
                *self.extra_args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err_to,
        )
        if self.log:
            err_to.close()  # the child has its own copy
        deadline = time.time() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                err = self.log.read_bytes() if self.log else self.proc.stderr.read()  # type: ignore[union-attr]
                raise RuntimeError(f"chain did not start: {err.decode()[-2000:]}")
            time.sleep(0.05)
        while True:
            try:
                if httpx.get(self.url + "/readyz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)


def populate(svc: Service, alice: Any, owner: Any, miner: Any) -> None:
    """On a manual node: a subnet (owner hotkey), a staked miner with an axon, one epoch."""
    from subnetes.chain.extrinsic import sign
    from subnetes.chain.units import tao

    h = httpx.Client(base_url=svc.url, timeout=30)
    g = h.get("/v1/chain").json()["genesis_hash"]
    calls: list[tuple[Any, str, dict[str, Any]]] = [
        (alice, "register_network", {"hotkey": owner.ss58_address}),
        (alice, "burned_register", {"netuid": 1, "hotkey": miner.ss58_address}),
        (alice, "add_stake", {"hotkey": miner.ss58_address, "amount": tao(2)}),
        (miner, "serve_axon", {"netuid": 1, "ip": "127.64.0.1", "port": 8091}),
    ]
    for kp, call, args in calls:
        nonce = h.get(f"/v1/accounts/{kp.ss58_address}").json()["nonce"]
        r = h.post("/v1/extrinsics", params={"wait": "false"}, json=sign(kp, call, args, nonce, g))
        assert r.status_code == 202, r.text
        h.post("/v1/dev/produce")
        assert h.get(f"/v1/extrinsics/{r.json()['hash']}").json()["status"] == "in_block"
    h.post("/v1/dev/produce", params={"count": 12})  # past an epoch: non-zero metagraph values


def fingerprint(h: httpx.Client, alice: str) -> tuple[Any, ...]:
    """Everything a rejected extrinsic could disturb on a manual node, as the API shows it:
    head, network totals, the account, subnet 1's metagraph, the queue length."""
    queue = re.search(r"^subnetes_chain_queue_length (\S+)$", h.get("/metrics").text, re.M)
    return (
        h.get("/v1/blocks/latest").json()["hash"],
        h.get("/v1/network").json(),
        h.get(f"/v1/accounts/{alice}").json(),
        h.get("/v1/subnets/1/metagraph").json(),
        queue.group(1) if queue else None,
    )
