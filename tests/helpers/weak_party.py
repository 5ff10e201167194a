"""A party worker with 2048-bit Paillier moduli, for tests that start worker processes.

The same worker as ``python -m workers.party``, with ``FAST_TESTS`` (CGGMP21's sizes but
2048-bit moduli) instead of the production sizes. It lives under tests/, which is not
installed, and only the tests' own entry point (tests/helpers/weak_quorate) selects it:
no setting or environment variable of the production code can.
"""

from __future__ import annotations

from mpc.ecdsa.params import FAST_TESTS
from workers.party import main

if __name__ == "__main__":
    main(FAST_TESTS)
