"""The contract every part of Subnetes shares, declared once.

A leaf package: it imports nothing from the rest of Subnetes (only the standard library and
small well-kept libraries), so the operator, the SDK and workload pods can sign, check and parse
what the chain speaks without importing the chain's state machine. ``tests/test_wire_leaf.py``
keeps it that way; ``tests/test_client_imports.py`` checks that the clients stay off the chain's
state machine.

- ``codec``: canonical JSON and blake2b hashing (what gets signed and hashed).
- ``signing``: an extrinsic's shape (``Extrinsic``, ``parse``), ``sign`` and ``verify_signature``.
- ``ss58``: the SS58 address check (format 42 only, canonical spelling).
- ``text``: unsafe characters: the check of stored strings, and ``printable`` for the tools.
- ``errors``: the one ``ChainError`` (``ChainUnavailable``/``ChainRejected`` for workloads),
  every error name (``ErrorName``) and its HTTP status.
- ``events``: every event kind (``EventKind``) and its payload type.
- ``rows``: metagraph rows (``NeuronRow``, ``MetagraphRow``) and epoch-result rows
  (``EpochUidRow``), which share ``UidScores``.
- ``blocks``: blocks as served and the answer to a submitted extrinsic.
- ``governance``: the senate and proposals as served (``SenateRow``, ``ProposalRow``).
- ``hyperparams``: the hyperparameter table; ``units``: rao, TAO and u16 numbers.

The chain's OpenAPI document is generated from these types (``subnetes.chain.api``), and
``tests/chain/test_wire_contract.py`` checks that what the chain emits and serves matches them.
"""
