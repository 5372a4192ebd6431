"""The subnet gateway: user requests in, verified miner answers out.

- ``pool``: the routing pool (pure): miners from metagraph rows, choice by incentive and
  observed health, circuit breakers, organic quality per miner.
- ``dispatch``: one request's retries, hedges and deadline over the pool (async, no I/O of its
  own: it is handed the send and verify functions).
- ``auth``: API keys from a mounted file, per-key rate limits and quotas (pure).
- ``capabilities``: what the gateway serves and how an answer is verified (compute: Freivalds).
- ``service``: the aiohttp service, its metagraph watcher (chain events) and metrics.
- ``bench``: requests/s and latency through the gateway vs the best miner directly.
"""
