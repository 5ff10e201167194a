"""Quorate's threshold cryptography: pure, synchronous, no I/O and no Temporal.

Nothing in this package imports any other Quorate package; everything else depends on it.
"""
