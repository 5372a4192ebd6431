"""subnetes.sdk: the miner/validator SDK."""
