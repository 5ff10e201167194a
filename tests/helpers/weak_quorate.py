"""``python -m tests.helpers.weak_quorate ...``: the ``quorate`` command, for tests, with
its party worker processes on 2048-bit Paillier moduli (tests/helpers/weak_party).

Everything else is the production command; only the module each party process runs
differs, set here in the tests' own entry point rather than by any setting.
"""

from __future__ import annotations

import workers.runner
from quorate.cli import app

workers.runner.PARTY_WORKER_MODULE = "tests.helpers.weak_party"

if __name__ == "__main__":
    app()
