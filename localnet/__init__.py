"""subnetes.localnet"""
