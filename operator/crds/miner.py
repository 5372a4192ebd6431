"""The Miner kind: a neuron serving an axon, run as a GPU-schedulable workload."""

from __future__ import annotations

from .common import name_rule
from .definition import AGE, Column, Kind
from .neuron import MAX_NAME, hotkey_added_rule, neuron_spec, neuron_status

MINER = Kind(
    kind="Miner",
    plural="miners",
    short_names=("mnr",),
    description="A miner neuron: a hotkey registered on a subnet and the pod that serves its axon.",
    spec=neuron_spec("miner", extra={}, extra_rules=[]),
    status=neuron_status("miner", extra={}),
    columns=(
        Column("SUBNET", ".spec.subnetRef.name", "string", "Subnet resource."),
        Column("UID", ".status.uid", "integer", "UID on the subnet."),
        Column("PHASE", ".status.phase", "string", "Registration phase."),
        Column("INCENTIVE", ".status.incentive", "string", "Incentive from the last epoch."),
        Column("EMISSION", ".status.lastEmission", "string", "TAO earned in the last epoch."),
        Column("NODE", ".status.nodeName", "string", "Node running the pod."),
        AGE,
    ),
    root_rules=(name_rule(MAX_NAME), hotkey_added_rule()),
)
