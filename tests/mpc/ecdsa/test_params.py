"""Security parameters: production refuses anything below CGGMP21's 128-bit sizes.

Weaker settings come only from ``SecurityParameters.unsafe_for_tests``, and a verifier
running the production parameters refuses what such settings produce: moduli that are
too short and proofs with too few repetitions.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import pytest

from mpc.ecdsa.aux_info import generate_aux_info, verify_aux_info
from mpc.ecdsa.errors import InvalidModulus, InvalidParameters, InvalidProof
from mpc.ecdsa.params import FAST_TESTS, PRODUCTION, SecurityParameters
from mpc.ecdsa.ring_pedersen import generate_ring_pedersen
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import mod, prm
from tests.helpers.rng import DeterministicRng
from tests.helpers.vectors import load_json

WEAK = SecurityParameters.unsafe_for_tests(modulus_bits=2048, iterations=80)


@cache
def safe_primes() -> tuple[int, ...]:
    return tuple(int(p, 16) for p in load_json("ecdsa-safe-primes.json")["primes"]["1024"])


def transcript() -> Transcript:
    return Transcript(b"quorate/tests/params", b"session")


def test_production_is_cggmp21_at_128_bits() -> None:
    assert SecurityParameters() == PRODUCTION
    assert (PRODUCTION.modulus_bits, PRODUCTION.iterations) == (3072, 128)
    assert (PRODUCTION.ell, PRODUCTION.ell_prime, PRODUCTION.epsilon) == (256, 848, 230)
    assert PRODUCTION.is_production_strength
    assert repr(PRODUCTION).startswith("SecurityParameters(")


@pytest.mark.parametrize(
    "weaker",
    [
        {"modulus_bits": 2048},
        {"modulus_bits": 3070},
        {"iterations": 127},
        {"iterations": 80},
        {"ell_prime": 847},
        {"epsilon": 229},
    ],
)
def test_the_constructor_refuses_anything_weaker(weaker: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameters):
        SecurityParameters(**weaker)
    # Nor can a weaker copy be derived from the production parameters.
    with pytest.raises(InvalidParameters):
        dataclasses.replace(PRODUCTION, **weaker)


def test_larger_parameters_are_accepted() -> None:
    strong = SecurityParameters(modulus_bits=4096, iterations=160)
    assert strong.is_production_strength
    assert strong.prime_bits == 2048


@pytest.mark.parametrize(
    "bad", [{"modulus_bits": 3073}, {"ell": 255}, {"iterations": True}, {"modulus_bits": 3072.0}]
)
def test_malformed_parameters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameters):
        SecurityParameters(**bad)


def test_weak_parameters_only_through_the_unsafe_constructor() -> None:
    assert SecurityParameters.unsafe_for_tests(modulus_bits=2048) == FAST_TESTS
    assert FAST_TESTS.modulus_bits == 2048
    assert not FAST_TESTS.is_production_strength
    assert not WEAK.is_production_strength
    assert repr(FAST_TESTS).startswith("SecurityParameters.unsafe_for_tests(")
    # The token the unsafe constructor passes is private; anything else is refused.
    with pytest.raises(InvalidParameters, match="unsafe_for_tests"):
        SecurityParameters(modulus_bits=2048, _unsafe=object())  # type: ignore[arg-type]
    # A weak object cannot be copied into another weak one by dataclasses.replace either.
    with pytest.raises(InvalidParameters):
        dataclasses.replace(FAST_TESTS, epsilon=300)


@pytest.mark.parametrize("too_weak", [{"modulus_bits": 1024}, {"iterations": 79}])
def test_even_the_unsafe_constructor_has_a_floor(too_weak: dict[str, int]) -> None:
    with pytest.raises(InvalidParameters):
        SecurityParameters.unsafe_for_tests(**too_weak)


def test_a_production_verifier_refuses_a_test_sized_modulus() -> None:
    p, q = safe_primes()[:2]
    _, public = generate_aux_info(
        "alice", FAST_TESTS, DeterministicRng("params/aux"), (p, q), session_id=b"s"
    )
    verify_aux_info(public, "alice", FAST_TESTS, b"s")
    with pytest.raises(InvalidModulus, match="below the configured 3072"):
        verify_aux_info(public, "alice", PRODUCTION, b"s")


def test_a_production_verifier_refuses_proofs_with_fewer_repetitions() -> None:
    p, q = safe_primes()[:2]
    proof = mod.prove((p, q), transcript(), DeterministicRng("params/mod"), params=WEAK)
    mod.verify(p * q, proof, transcript(), params=WEAK)
    with pytest.raises(InvalidProof, match="80 repetitions, expected 128"):
        mod.verify(p * q, proof, transcript(), params=PRODUCTION)

    parameters, secret = generate_ring_pedersen(p, q, DeterministicRng("params/rp"))
    short = prm.prove(secret, transcript(), DeterministicRng("params/prm"), params=WEAK)
    prm.verify(parameters, short, transcript(), params=WEAK)
    with pytest.raises(InvalidProof, match="expected 128"):
        prm.verify(parameters, short, transcript(), params=PRODUCTION)
