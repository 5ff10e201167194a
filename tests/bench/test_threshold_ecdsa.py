"""bench.threshold_ecdsa: pairing safe primes into moduli of exactly the configured size,
and the report of its Temporal part."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from bench.report import Stats
from bench.threshold_ecdsa.aux_info import pair_up
from bench.threshold_ecdsa.temporal import (
    TemporalResults,
    print_temporal,
    temporal_json,
    temporal_references,
)
from mpc.ecdsa.params import SecurityParameters


def test_pair_up_makes_the_most_full_size_pairs() -> None:
    # Only the modulus size matters to the pairing (real parameters start at 2048 bits).
    params = cast(SecurityParameters, SimpleNamespace(modulus_bits=16))
    # Products of at least 2^15 are full size: 251 * 131 = 32881, 197 * 167 = 32899.
    primes = [131, 167, 197, 251, 11]
    pairs = pair_up(primes, 5, params)
    assert pairs == [(251, 131), (197, 167)]
    assert all(p * q >= 1 << 15 for p, q in pairs)
    assert pair_up(primes, 1, params) == [(251, 131)]
    assert pair_up([131, 131], 1, params) == []


def test_the_temporal_part_reports_what_it_measured(capsys: pytest.CaptureFixture[str]) -> None:
    stats = Stats.from_ms([100.0, 110.0, 120.0])
    temporal = TemporalResults(3.0, [5.0], ecdsa_pooled=stats, frost=Stats.from_ms([250.0]))
    assert temporal_json(None, requested=False) is None
    figures = temporal_json(temporal, requested=True)
    assert figures is not None
    assert figures["available"] is True
    assert figures["ecdsa_inline_presign"] is None
    assert set(figures["ecdsa_pooled_presignature"]) == {
        "median_ms",
        "p95_ms",
        "min_ms",
        "max_ms",
        "runs",
    }
    references = temporal_references(temporal)
    assert [r["key"] for r in references] == ["temporal_pooled_vs_gg20", "temporal_frost_vs_gg20"]
    assert set(references[0]) == {"key", "comparison", "ours_ms", "reference_ms", "ratio"}
    print_temporal(temporal)
    out = capsys.readouterr().out
    assert "Sign ecdsa-secp256k1, pooled presignature" in out
    assert "presigning inline" not in out
