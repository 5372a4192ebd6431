"""The activity cutoff is the ``activity_cutoff`` hyperparameter in blocks, whatever the tempo
(docs/specs/chain.md, "Activity cutoff": Subnetes keeps Subtensor's absolute cutoff and does not
derive it from the tempo as Subtensor's ActivityCutoffFactorMilli does). Both implementations.
"""

from __future__ import annotations

import numpy as np

from .test_owner_rules import BLOCK, S, batch, both

CUTOFF = 100


def test_cutoff_is_absolute_blocks_whatever_the_tempo() -> None:
    """UID 1 last updated exactly ``activity_cutoff`` blocks ago is active, UID 2 one block
    earlier is not; the same with tempo 10 and tempo 360 (Subtensor's factor rule would give
    138 and 5000 blocks at its default 13889 per mille)."""
    for tempo in (10, 360):
        x, p = batch([0, 5, 5, 0], {1: {3: 1}, 2: {3: 1}}, tempo=tempo, activity_cutoff=CUTOFF)
        lu = np.full_like(x.last_update, BLOCK)
        lu[:, 1], lu[:, 2] = BLOCK - CUTOFF, BLOCK - CUTOFF - 1
        x = x._replace(last_update=lu)
        for out in both(x, p):
            assert out.active[:, :4].tolist() == [[True, True, False, True]] * S
            # the inactive validator's stake leaves the consensus: UID 1 alone decides
            np.testing.assert_allclose(out.validator_trust[:, 1], 1)
            np.testing.assert_allclose(out.dividends[:, 2], 0)
