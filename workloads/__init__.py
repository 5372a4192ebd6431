"""subnetes.workloads: reference subnet workloads."""
