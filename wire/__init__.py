"""The contract every part of Subnetes shares, declared once.

A leaf package: it imports nothing from the rest of Subnetes (only the standard library and
small well-kept libraries), so the operator, the SDK and workload pods can sign, check and parse
what the chain speaks without importing the chain's state machine. ``tests/test_wire_leaf.py``
keeps it that way.
"""
