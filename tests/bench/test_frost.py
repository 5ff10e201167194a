"""bench.frost: its signing loop (which bench.threshold_ecdsa reuses) and its --json keys."""

from __future__ import annotations

import json

import pytest

from bench.frost import SUITES, check_dkg, identifiers, main, run_dkg, signing_keys, time_signing


def test_time_signing_times_what_it_is_asked() -> None:
    suite = SUITES[0]
    shares, public = signing_keys(suite, 2, 3)
    samples = time_signing(suite.ciphersuite, shares, public, runs=3, warmup=1)
    assert {op: len(s) for op, s in samples.items()} == {
        "round1": 3,
        "round2": 3,
        "aggregate": 3,
        "verify": 3,
    }
    three = time_signing(
        suite.ciphersuite,
        shares,
        public,
        runs=2,
        warmup=0,
        operations=("round1", "round2", "aggregate"),
    )
    assert set(three) == {"round1", "round2", "aggregate"}


def test_every_party_of_the_dkg_agrees() -> None:
    suite = SUITES[1]
    public = check_dkg(run_dkg(suite.ciphersuite, identifiers(suite.ciphersuite, 3), 2))
    assert public.verifying_key is not None


def test_the_json_keys_stay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--json", "--runs", "2", "--dkg-runs", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(result) == [
        "benchmark",
        "mode",
        "environment",
        "settings",
        "baseline",
        "ciphersuites",
        "signing",
        "dkg",
        "reference",
        "total_seconds",
    ]
    assert set(result["signing"]) == {"secp256k1", "ed25519", "secp256k1_tr"}
    assert set(result["signing"]["ed25519"]) == {"3_of_5", "7_of_10"}
    assert set(result["signing"]["ed25519"]["3_of_5"]["round2"]) == {
        "median_ms",
        "p95_ms",
        "runs",
        "median_x_baseline",
    }
    assert set(result["dkg"]["secp256k1"]["3_of_6"]) == {"total", "per_party"}
    assert set(result["baseline"]["secp256k1"]) == {"operation", "median_ms", "p95_ms", "runs"}
    assert set(result["reference"]["comparisons"][0]) == {
        "operation",
        "ours_policy",
        "reference_policy",
        "ours_median_ms",
        "reference_ms",
        "ratio",
        "targeted",
        "within_target",
    }
