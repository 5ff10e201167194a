"""A party worker with 2048-bit Paillier moduli, for benchmarks that ask for them.

``python -m workers.party`` with CGGMP21's sizes but 2048-bit moduli (``FAST_TESTS``);
bench/ is not installed, and only bench.topology selects this module, so no setting or
environment variable of the production code can weaken a party.
"""

from __future__ import annotations

from mpc.ecdsa.params import FAST_TESTS
from workers.party import main

if __name__ == "__main__":
    main(FAST_TESTS)
