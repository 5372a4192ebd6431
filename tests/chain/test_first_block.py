"""The first block's slot counts from the start of start-up (server.serve passes
``first_at``): a start-up longer than one block time produces the first block as soon as
block production starts, instead of one more block time later."""

from __future__ import annotations

import time

from subnetes.chain.ledger import Ledger
from subnetes.chain.node import Node
from subnetes.chain.params import dev_config
from subnetes.consensus import reference_epochs

BLOCK_TIME = 30.0  # long: a block within the test means the timer did not wait for it


async def test_overdue_first_slot_produces_at_once() -> None:
    node = Node(Ledger.open(dev_config(), None, reference_epochs), BLOCK_TIME)
    node.start(first_at=time.monotonic() - 1.0)  # start-up took longer than its slot
    await node.wait_block(0, timeout=10.0)
    await node.stop()
    assert node.ledger.head.number == 1


async def test_first_slot_still_ahead_waits_for_it() -> None:
    node = Node(Ledger.open(dev_config(), None, reference_epochs), BLOCK_TIME)
    node.start(first_at=time.monotonic() + BLOCK_TIME)
    await node.wait_block(0, timeout=0.5)
    head = node.ledger.head.number
    await node.stop()
    assert head == 0
