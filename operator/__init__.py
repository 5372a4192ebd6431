"""subnetes.operator"""
