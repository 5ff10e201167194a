"""Quorate's benchmarks, run from the repository root as modules::

    .venv/bin/python -m bench.frost             # FROST signing and DKG, in process
    .venv/bin/python -m bench.ceremony          # ceremonies end to end through Temporal
    .venv/bin/python -m bench.threshold_ecdsa   # CGGMP21 ECDSA (--temporal: end to end too)
    .venv/bin/python -m bench.eventstore        # the event store on PostgreSQL and SQLite
    .venv/bin/python -m bench.transactions      # SignTransaction per chain, against Sign

Every one takes ``--quick`` (fewer runs) and ``--json`` (one JSON object as the last line of
stdout). What they share: :mod:`bench.report` (statistics, tables, ratios, the environment,
the output), :mod:`bench.signatures` (checks by libsecp256k1 and libsodium) and
:mod:`bench.topology` (the local system under test, for the Temporal benchmarks).
"""
