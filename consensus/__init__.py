"""subnetes.consensus"""
