"""The safe-prime pool: filled in the background, each prime handed out once."""

from __future__ import annotations

import threading

from activities.prime_pool import SafePrimePool
from mpc.ecdsa.primes import is_safe_prime
from storage.vault.memory import InMemoryShareVault


def test_pool_fills_and_hands_out_each_prime_once() -> None:
    pool = SafePrimePool(InMemoryShareVault("us-1"), bits=512, size=4)
    assert pool.level() == 0
    assert pool.take_pair() is None
    assert pool.fill() == 4
    assert pool.level() == 4
    first = pool.take_pair()
    second = pool.take_pair()
    assert first is not None
    assert second is not None
    assert len({*first, *second}) == 4
    assert all(is_safe_prime(p) and p.bit_length() == 512 for p in (*first, *second))
    assert pool.take_pair() is None
    assert pool.level() == 0


def test_background_filler_refills() -> None:
    pool = SafePrimePool(InMemoryShareVault("us-1"), bits=512, size=2)
    stop = threading.Event()
    thread = pool.run_filler(stop, interval=0.05)
    try:
        # The filler runs at the lowest priority: on a loaded machine (the suite's other
        # worker) it may wait long for a core, so the bound is generous; it ends early.
        for _ in range(2400):
            if pool.level() == 2:
                break
            stop.wait(0.05)
        assert pool.level() == 2
    finally:
        stop.set()
        thread.join(timeout=30)
