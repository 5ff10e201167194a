"""A party's pool of safe primes, filled in the background, kept in its own vault.

Finding a 1536-bit safe prime takes OpenSSL seconds (sometimes tens of seconds), so a
party worker keeps a few ready: generating auxiliary information then takes two from the
pool instead of waiting. Primes are secret (they are a future Paillier key's
factorization), so they live only in the party's encrypted vault, and a prime taken from
the pool is deleted from it before use, so no two keys ever share one.
"""

from __future__ import annotations

import logging
import os
import threading

from mpc.ecdsa.primes import generate_safe_prime, is_safe_prime
from storage.vault.errors import SecretNotFound
from storage.vault.port import ShareVault

PARTY = "_party"
log = logging.getLogger(__name__)


class SafePrimePool:
    """Numbered slots ``ecdsa/prime-pool/<bits>/<n>`` in the party's vault."""

    def __init__(self, vault: ShareVault, bits: int, size: int = 4) -> None:
        self._vault = vault
        self._bits = bits
        self._size = size
        self._lock = threading.Lock()

    @property
    def bits(self) -> int:
        return self._bits

    def _slot(self, n: int) -> str:
        return f"ecdsa/prime-pool/{self._bits}/{n}"

    def level(self) -> int:
        with self._lock:
            return sum(self._vault.has_secret(PARTY, self._slot(n)) for n in range(self._size))

    def fill(self, stop: threading.Event | None = None) -> int:
        """Generates primes into empty slots until the pool is full; returns how many."""
        added = 0
        for n in range(self._size):
            if stop is not None and stop.is_set():
                break
            with self._lock:
                if self._vault.has_secret(PARTY, self._slot(n)):
                    continue
            # Generation runs outside the lock: it takes seconds and needs no vault.
            prime = generate_safe_prime(self._bits)
            with self._lock:
                if not self._vault.has_secret(PARTY, self._slot(n)):
                    self._vault.put_secret(PARTY, self._slot(n), format(prime, "x").encode())
                    added += 1
        return added

    def take_pair(self) -> tuple[int, int] | None:
        """Two distinct pooled primes, removed from the pool; None if fewer than two."""
        with self._lock:
            taken: list[int] = []
            for n in range(self._size):
                if len(taken) == 2:
                    break
                try:
                    prime = int(self._vault.get_secret(PARTY, self._slot(n)), 16)
                except SecretNotFound:
                    continue
                self._vault.delete_secret(PARTY, self._slot(n))
                if is_safe_prime(prime) and prime not in taken:
                    taken.append(prime)
            if len(taken) < 2:
                return None
            return taken[0], taken[1]

    def run_filler(self, stop: threading.Event, interval: float = 5.0) -> threading.Thread:
        """A daemon thread that keeps the pool full until ``stop`` is set."""

        def loop() -> None:
            # OpenSSL releases the GIL while it searches, so the search competes with the
            # party's ceremonies only for CPU; on Linux a thread has its own nice value,
            # and the lowest priority keeps signing latency unaffected on a shared host.
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            except (AttributeError, OSError):
                log.info("safe-prime pool runs at normal priority on this platform")
            while not stop.is_set():
                try:
                    self.fill(stop)
                except Exception:  # the filler must never take the worker down
                    log.exception("safe-prime pool refill failed; retrying")
                stop.wait(interval)

        thread = threading.Thread(target=loop, name="safe-prime-pool", daemon=True)
        thread.start()
        return thread
