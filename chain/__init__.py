"""subnetes.chain"""
