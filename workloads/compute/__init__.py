"""Verifiable-compute reference subnet: matrix-multiplication challenges checked with Freivalds.

- ``challenge``: deterministic operands from (seed, shapes, dtype).
- ``freivalds``: the validator's O(n^2) randomized check of a claimed product.
- ``scoring``: correctness and latency to per-round scores.
- ``solver``: the miner's JAX matmul (GPU when JAX finds one).
- ``protocol``: the typed request/response on the wire.
- ``miner`` / ``validator``: the entry points the pods run (``python -m ...``).
"""
