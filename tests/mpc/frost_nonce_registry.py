"""Test-only access to FROST's process-wide registry of consumed nonces.

:mod:`mpc.frost.round1` refuses nonces that were consumed anywhere in the process. Tests
that sign with fixed, published nonces (the RFC 9591 vectors) and may run more than once
in one process use :func:`isolated_nonce_registry` to start from an empty registry; the
registry in force before is put back afterwards, so nothing consumed outside is
forgotten. Production code has no way to reach this: the private function behind it is
used from ``tests/`` only, which ``test_frost_nonce_registry`` checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mpc.frost import round1


@contextmanager
def isolated_nonce_registry() -> Iterator[None]:
    """A fresh, empty registry of consumed nonces for the duration of the block."""
    with round1._unsafe_isolated_nonce_registry():
        yield
