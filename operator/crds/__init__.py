"""Subnet, Miner and Validator CustomResourceDefinitions, generated from Python.

This package is the one source of truth for the YAML in crds/ (``python -m
subnetes.operator.crds`` writes it; a test checks that it is current). The operator imports
the names (group, version, plurals) from here too.
"""

from __future__ import annotations

from .common import CATEGORY, GROUP, VERSION
from .definition import Kind, custom_resource_definition
from .miner import MINER
from .subnet import SUBNET
from .validator import VALIDATOR

KINDS: tuple[Kind, ...] = (SUBNET, MINER, VALIDATOR)


def all_crds() -> list[dict]:
    """The three CustomResourceDefinition objects, Subnet first."""
    return [custom_resource_definition(k) for k in KINDS]


__all__ = [
    "CATEGORY",
    "GROUP",
    "KINDS",
    "MINER",
    "SUBNET",
    "VALIDATOR",
    "VERSION",
    "Kind",
    "all_crds",
    "custom_resource_definition",
]
