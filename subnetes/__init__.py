"""Subnetes: Bittensor-style incentive subnets on Kubernetes.

The distribution maps one import namespace onto the repository's top-level folders:
``subnetes.consensus`` (consensus/), ``subnetes.chain`` (chain/), ``subnetes.operator``
(operator/) and ``subnetes.localnet`` (localnet/).
"""

__version__ = "0.1.0"
