"""Quorate's threshold cryptography: pure, synchronous, no I/O and no Temporal.

It imports nothing of ours but ``common``; everything else may depend on it.
"""
