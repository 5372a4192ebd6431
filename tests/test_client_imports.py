"""Signing and talking to the chain never import the chain's state machine (issue 12 #2).

The operator and every workload pod import the client to sign extrinsics; signing lives in the
leaf ``subnetes.wire.signing``, so importing a client must not pull in the chain's state, rules
or extrinsic applier (checked in a fresh interpreter, through ``sys.modules``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What only the chain node needs: its state machine, rules, and the extrinsic applier.
FORBIDDEN = (
    "subnetes.chain.state",
    "subnetes.chain.rules",
    "subnetes.chain.extrinsic",
    "subnetes.chain.block",
    "subnetes.chain.epoch",
    "subnetes.chain.ledger",
    "subnetes.chain.node",
    "subnetes.chain.storage",
)


def _imported_after(module: str) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('subnetes'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module",
    [
        "subnetes.wire.signing",
        "subnetes.chain.client",
        "subnetes.sdk.chain_client",
        "subnetes.operator.chainlink",
        "subnetes.operator.handlers",  # the whole operator
        "subnetes.sdk.validator",  # what workload pods run
        "subnetes.sdk.miner",
    ],
)
def test_importing_a_client_does_not_import_the_chain_state_machine(module: str) -> None:
    loaded = _imported_after(module)
    assert module in loaded
    bad = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert not bad, f"importing {module} imports the chain's state machine: {bad}"
