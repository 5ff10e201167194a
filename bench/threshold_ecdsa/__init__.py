"""The threshold-ECDSA benchmark (``python -m bench.threshold_ecdsa``): CGGMP21 auxiliary
information, presigning and online signing in process, FROST on the same key beside it,
and with ``--temporal`` ECDSA signing end to end through the real system.

Named so that it never shadows the PyPI ``ecdsa`` package."""
