"""Linear-solve reference subnet: solve A X = B for seeded systems, checked by the residual.

The second reference subnet (next to ``compute``), a different expert: a numerical-linear-
algebra service. Solving costs O(n^3); checking an answer costs O(n^2) per projection.

- ``challenge``: deterministic, well-conditioned systems from (seed, n, k).
- ``residual``: the validator's (and gateway's) check: the residual ``A X - B`` projected on
  random sign vectors, against a backward-error tolerance.
- ``solver``: the miner's LAPACK solve (NumPy, float64).
- ``protocol``: the typed request/response on the wire.
- ``miner`` / ``validator``: the entry points the pods run (``python -m ...``); scores reuse
  the compute subnet's correctness-and-latency rule (``subnetes.workloads.compute.scoring``).
"""
