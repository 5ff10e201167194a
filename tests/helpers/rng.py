"""Deterministic randomness for tests only: a SHAKE-256 stream keyed by a seed."""

from __future__ import annotations

import hashlib


class DeterministicRng:
    """Callable ``rng(n) -> bytes`` reproducible from ``seed``; never use outside tests."""

    def __init__(self, seed: bytes | str | int) -> None:
        self._seed = str(seed).encode() if not isinstance(seed, bytes) else seed
        self._counter = 0

    def __call__(self, n: int) -> bytes:
        self._counter += 1
        return hashlib.shake_256(self._seed + self._counter.to_bytes(8, "big")).digest(n)
