"""Π_mod, Π_prm and Π_fac (CGGMP21 Figs. 16, 17, 28): honest proofs, tampering, replay, and
reproductions of the attacks each proof exists to stop, with simulated cheating provers.

Moduli come from the test-only safe primes in ``tests/vectors/ecdsa-safe-primes.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.ecdsa.errors import InvalidParameters, InvalidProof, InvalidRingPedersen
from mpc.ecdsa.paillier import random_below, random_unit
from mpc.ecdsa.params import FAST_TESTS, SecurityParameters
from mpc.ecdsa.ring_pedersen import (
    RingPedersenParameters,
    RingPedersenSecret,
    generate_ring_pedersen,
)
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import fac, mod, prm
from mpc.ecdsa.zk.fac import FacProof
from mpc.ecdsa.zk.mod import ModProof, ModResponse
from mpc.ecdsa.zk.prm import PrmProof
from tests.helpers.rng import DeterministicRng
from tests.helpers.vectors import load_json

PARAMS = FAST_TESTS
M = PARAMS.iterations


@cache
def safe_primes(bits: int) -> tuple[int, ...]:
    """The committed test-only safe primes of ``bits`` bits (see the file's comment)."""
    return tuple(int(p, 16) for p in load_json("ecdsa-safe-primes.json")["primes"][str(bits)])


def transcript(session: bytes = b"session-1", party: str = "alice") -> Transcript:
    """What a caller does: open the transcript on the session and bind the prover's id."""
    t = Transcript(b"quorate/tests/zk", session)
    t.append_bytes(b"party", party.encode())
    return t


def blum_factors() -> tuple[int, int]:
    p, q = safe_primes(1024)[:2]
    return p, q


@cache
def verifier_ring_pedersen() -> tuple[RingPedersenParameters, RingPedersenSecret]:
    p, q = safe_primes(1024)[2:4]
    return generate_ring_pedersen(p, q, DeterministicRng("verifier ring-Pedersen"))


@cache
def honest_mod_proof() -> ModProof:
    return mod.prove(blum_factors(), transcript(), DeterministicRng("mod"), params=PARAMS)


@cache
def honest_prm_proof() -> PrmProof:
    _, secret = verifier_ring_pedersen()
    return prm.prove(secret, transcript(), DeterministicRng("prm"), params=PARAMS)


@cache
def honest_fac_proof() -> FacProof:
    rp, _ = verifier_ring_pedersen()
    return fac.prove(blum_factors(), rp, transcript(), DeterministicRng("fac"), params=PARAMS)


def n_of(factors: tuple[int, int]) -> int:
    return factors[0] * factors[1]


# ---------------------------------------------------------------------------------------
# Cheating provers (test-only)


def sqrt_mod_prime(a: int, p: int) -> int | None:
    """A square root of ``a`` modulo the odd prime ``p`` (Tonelli–Shanks), or None."""
    a %= p
    if a == 0:
        return 0
    if gmpy2.legendre(a, p) != 1:
        return None
    s, q = 0, p - 1
    while q % 2 == 0:
        s, q = s + 1, q // 2
    z = 2
    while gmpy2.legendre(z, p) != -1:
        z += 1
    powmod = gmpy2.powmod
    m, c, t, r = s, powmod(z, q, p), powmod(a, q, p), powmod(a, (q + 1) // 2, p)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            i, t2 = i + 1, t2 * t2 % p
        b = powmod(c, 1 << (m - i - 1), p)
        m, c, t, r = i, b * b % p, t * b * b % p, r * b % p
    return int(r)


def fourth_root_mod_prime(a: int, p: int) -> int | None:
    """Some x with x^4 ≡ a (mod p), trying both square roots at the first step."""
    root = sqrt_mod_prime(a, p)
    if root is None:
        return None
    for candidate in (root, p - root):
        fourth = sqrt_mod_prime(candidate, p)
        if fourth is not None:
            return fourth
    return None


def crt(residues: list[int], primes: list[int]) -> int:
    x, modulus = 0, 1
    for r, p in zip(residues, primes, strict=True):
        x += modulus * ((r - x) * int(gmpy2.invert(modulus, p)) % p)
        modulus *= p
    return x


def forge_mod_proof(
    primes: list[int], t: Transcript, params: SecurityParameters = PARAMS
) -> tuple[ModProof, int]:
    """A cheating Π_mod prover for N = ∏ primes that knows the factors and does its best.

    It picks w as a non-residue modulo the first prime (the best choice when that prime is
    ≡ 1 mod 4), then answers each challenge whenever some (−1)^a·w^b·y has a fourth root
    modulo every prime. Returns the proof and the number of challenges it could answer.
    """
    n = 1
    for p in primes:
        n *= p
    rng = DeterministicRng(f"forge-mod/{n}")
    while True:
        w = random_unit(n, rng)
        if gmpy2.jacobi(w, n) == -1 and gmpy2.legendre(w, primes[0]) == -1:
            break
    ys = mod._bind(t, n, w, params.iterations)
    responses, answered = [], 0
    for y in ys:
        z = crt([int(gmpy2.powmod(y, gmpy2.invert(n, p - 1), p)) for p in primes], primes)
        x, a, b = 1, False, False
        for a, b in ((False, False), (True, False), (False, True), (True, True)):
            y_prime = (-y if a else y) * (w if b else 1) % n
            roots = [fourth_root_mod_prime(y_prime, p) for p in primes]
            if all(r is not None for r in roots):
                x = crt([r for r in roots if r is not None], primes)
                answered += 1
                break
        responses.append(ModResponse(x=x % n or 1, a=a, b=b, z=z))
    return ModProof(w=w, responses=tuple(responses)), answered


def forge_prm_proof(
    parameters: RingPedersenParameters,
    make_transcript: Callable[[], Transcript],
    params: SecurityParameters = PARAMS,
) -> tuple[PrmProof, int]:
    """A cheating Π_prm prover without λ: it guesses each bit e_i in advance and prepares
    A_i = t^a_i · s^(−g_i), which passes repetition i only if e_i = g_i."""
    n, s, t = parameters.n, parameters.s, parameters.t
    rng = DeterministicRng("forge-prm")
    guesses = [random_below(2, rng) for _ in range(params.iterations)]
    exponents = [random_below(n, rng) for _ in range(params.iterations)]
    commitments = tuple(
        int(gmpy2.powmod(t, a, n) * gmpy2.powmod(s, -g, n) % n)
        for a, g in zip(exponents, guesses, strict=True)
    )
    bits = prm._bind(make_transcript(), parameters, commitments, params.iterations)
    matched = sum(g == e for g, e in zip(guesses, bits, strict=True))
    return PrmProof(A=commitments, z=tuple(exponents)), matched


def prime_congruent(bits: int, residue: int, modulus: int, seed: str) -> int:
    """A random prime of ``bits`` bits (top two bits set) ≡ residue (mod modulus)."""
    rng = DeterministicRng(seed)
    while True:
        start = random_below(1 << (bits - 2), rng) | (0b11 << (bits - 2))
        p = int(gmpy2.next_prime(start))
        if p % modulus == residue and p.bit_length() == bits:
            return p


# ---------------------------------------------------------------------------------------
# Π_mod (Fig. 16)


def test_mod_honest_proof_verifies() -> None:
    proof = honest_mod_proof()
    assert len(proof.responses) == M
    mod.verify(n_of(blum_factors()), proof, transcript(), params=PARAMS)


def _tamper_mod(proof: ModProof, field: str, index: int, n: int) -> ModProof:
    if field == "w":
        # Another w with Jacobi symbol −1, so the failure is the proof's equations.
        w = proof.w + 1
        while gmpy2.jacobi(w, n) != -1:
            w += 1
        return dataclasses.replace(proof, w=w)
    responses = list(proof.responses)
    r = responses[index]
    if field in ("a", "b"):
        responses[index] = dataclasses.replace(r, **{field: not getattr(r, field)})
    else:
        responses[index] = dataclasses.replace(r, **{field: getattr(r, field) % (n - 1) + 1})
    return dataclasses.replace(proof, responses=tuple(responses))


@pytest.mark.parametrize("index", [0, M - 1])
@pytest.mark.parametrize("field", ["w", "x", "a", "b", "z"])
def test_mod_tampered_proof_fails(field: str, index: int) -> None:
    n = n_of(blum_factors())
    tampered = _tamper_mod(honest_mod_proof(), field, index, n)
    with pytest.raises(InvalidProof):
        mod.verify(n, tampered, transcript(), params=PARAMS)


@pytest.mark.parametrize(
    "other", [transcript(session=b"session-2"), transcript(party="bob")], ids=["session", "party"]
)
def test_mod_proof_from_another_session_or_party_fails(other: Transcript) -> None:
    with pytest.raises(InvalidProof):
        mod.verify(n_of(blum_factors()), honest_mod_proof(), other, params=PARAMS)


def test_mod_proof_for_another_modulus_fails() -> None:
    other = n_of((safe_primes(1024)[2], safe_primes(1024)[3]))
    with pytest.raises(InvalidProof):
        mod.verify(other, honest_mod_proof(), transcript(), params=PARAMS)


@pytest.mark.parametrize("count", [0, 1, 80, M - 1, M + 1])
def test_mod_wrong_number_of_iterations_rejected(count: int) -> None:
    proof = honest_mod_proof()
    responses = (proof.responses * 2)[:count]
    with pytest.raises(InvalidProof, match="repetitions"):
        mod.verify(
            n_of(blum_factors()),
            dataclasses.replace(proof, responses=responses),
            transcript(),
            params=PARAMS,
        )


def test_mod_prover_choosing_fewer_iterations_rejected() -> None:
    """TSSHOCK class: a prover that runs its own (smaller) repetition count is refused."""
    weak = SecurityParameters.unsafe_for_tests(modulus_bits=2048, iterations=80)
    proof = mod.prove(blum_factors(), transcript(), DeterministicRng("weak"), params=weak)
    mod.verify(n_of(blum_factors()), proof, transcript(), params=weak)  # it is self-consistent
    with pytest.raises(InvalidProof, match="80 repetitions, expected 128"):
        mod.verify(n_of(blum_factors()), proof, transcript(), params=PARAMS)


def test_mod_values_out_of_range_rejected() -> None:
    """z + N and w + N satisfy the equations modulo N: only the range check stops them."""
    n = n_of(blum_factors())
    proof = honest_mod_proof()
    first = proof.responses[0]
    shifted_z = (dataclasses.replace(first, z=first.z + n), *proof.responses[1:])
    shifted_x = (dataclasses.replace(first, x=first.x + n), *proof.responses[1:])
    zero_x = (dataclasses.replace(first, x=0), *proof.responses[1:])
    for bad in (
        dataclasses.replace(proof, responses=shifted_z),
        dataclasses.replace(proof, responses=shifted_x),
        dataclasses.replace(proof, responses=zero_x),
        dataclasses.replace(proof, w=proof.w + n),
    ):
        with pytest.raises(InvalidProof, match="Z_N"):
            mod.verify(n, bad, transcript(), params=PARAMS)
    as_int = (dataclasses.replace(first, a=int(first.a)), *proof.responses[1:])  # type: ignore[arg-type]
    with pytest.raises(InvalidProof, match="bits"):
        mod.verify(n, dataclasses.replace(proof, responses=as_int), transcript(), params=PARAMS)


def test_mod_non_blum_modulus_rejected() -> None:
    """N = p·q with p ≡ 1 (mod 4): the honest prover refuses, and a cheating prover that
    knows p and q answers only about half the challenges, so the proof fails."""
    p = prime_congruent(1024, 1, 4, "non-blum")
    q = safe_primes(1024)[0]
    with pytest.raises(InvalidParameters):
        mod.prove((p, q), transcript(), params=PARAMS)
    forged, answered = forge_mod_proof([p, q], transcript())
    assert 0 < answered < M  # it really tried: about M/2, never all
    with pytest.raises(InvalidProof, match=r"x\^4"):
        mod.verify(p * q, forged, transcript(), params=PARAMS)


def test_mod_prime_modulus_rejected() -> None:
    """For a prime N ≡ 3 (mod 4) every equation of Fig. 16 can be satisfied: only the
    verifier's primality check stands between it and acceptance."""
    n = safe_primes(1024)[0]
    forged, answered = forge_mod_proof([n], transcript())
    assert answered == M
    ys = mod._bind(transcript(), n, forged.w, M)
    for y, r in zip(ys, forged.responses, strict=True):
        assert pow(r.z, n, n) == y
        assert pow(r.x, 4, n) == (-y if r.a else y) * (forged.w if r.b else 1) % n
    with pytest.raises(InvalidProof, match="prime"):
        mod.verify(n, forged, transcript(), params=PARAMS)


def test_mod_even_modulus_rejected() -> None:
    with pytest.raises(InvalidProof, match="odd"):
        mod.verify(n_of(blum_factors()) + 1, honest_mod_proof(), transcript(), params=PARAMS)


@pytest.mark.parametrize("n", [-3, 0, 1, 2, 4])
def test_mod_tiny_modulus_rejected(n: int) -> None:
    with pytest.raises(InvalidProof, match="odd"):
        mod.verify(n, honest_mod_proof(), transcript(), params=PARAMS)


# ---------------------------------------------------------------------------------------
# Π_prm (Fig. 17)


def test_prm_honest_proof_verifies() -> None:
    rp, _ = verifier_ring_pedersen()
    prm.verify(rp, honest_prm_proof(), transcript(), params=PARAMS)


def test_prm_crt_prover_agrees_with_plain_prover() -> None:
    _, secret = verifier_ring_pedersen()
    factors = (safe_primes(1024)[2], safe_primes(1024)[3])
    fast = prm.prove(secret, transcript(), DeterministicRng("same"), params=PARAMS, factors=factors)
    assert fast == prm.prove(secret, transcript(), DeterministicRng("same"), params=PARAMS)
    with pytest.raises(InvalidParameters):
        prm.prove(secret, transcript(), params=PARAMS, factors=blum_factors())


@pytest.mark.parametrize("index", [0, M - 1])
@pytest.mark.parametrize("field", ["A", "z"])
def test_prm_tampered_proof_fails(field: str, index: int) -> None:
    rp, _ = verifier_ring_pedersen()
    proof = honest_prm_proof()
    values = list(getattr(proof, field))
    values[index] = values[index] * rp.t % rp.n if field == "A" else values[index] + 1
    with pytest.raises(InvalidProof):
        prm.verify(
            rp, dataclasses.replace(proof, **{field: tuple(values)}), transcript(), params=PARAMS
        )


@pytest.mark.parametrize(
    "other", [transcript(session=b"session-2"), transcript(party="bob")], ids=["session", "party"]
)
def test_prm_proof_from_another_session_or_party_fails(other: Transcript) -> None:
    rp, _ = verifier_ring_pedersen()
    with pytest.raises(InvalidProof):
        prm.verify(rp, honest_prm_proof(), other, params=PARAMS)


@pytest.mark.parametrize("count", [0, 1, 80, M - 1, M + 1])
def test_prm_wrong_number_of_iterations_rejected(count: int) -> None:
    rp, _ = verifier_ring_pedersen()
    proof = honest_prm_proof()
    short = PrmProof(A=(proof.A * 2)[:count], z=(proof.z * 2)[:count])
    with pytest.raises(InvalidProof, match="repetitions"):
        prm.verify(rp, short, transcript(), params=PARAMS)


def test_prm_prover_choosing_fewer_iterations_rejected() -> None:
    rp, secret = verifier_ring_pedersen()
    weak = SecurityParameters.unsafe_for_tests(modulus_bits=2048, iterations=80)
    proof = prm.prove(secret, transcript(), params=weak)
    prm.verify(rp, proof, transcript(), params=weak)
    with pytest.raises(InvalidProof, match="expected 128"):
        prm.verify(rp, proof, transcript(), params=PARAMS)


def test_prm_values_out_of_range_rejected() -> None:
    rp, _ = verifier_ring_pedersen()
    proof = honest_prm_proof()
    # z_0 + φ(N̂) satisfies t^z = A·s^e as well; the range check refuses z ≥ N̂.
    for bad in (
        dataclasses.replace(proof, z=(proof.z[0] + rp.n, *proof.z[1:])),
        dataclasses.replace(proof, z=(-1, *proof.z[1:])),
        dataclasses.replace(proof, A=(0, *proof.A[1:])),
        dataclasses.replace(proof, A=(proof.A[0] + rp.n, *proof.A[1:])),
    ):
        with pytest.raises(InvalidProof, match=r"Z_N̂|N̂\)"):
            prm.verify(rp, bad, transcript(), params=PARAMS)


def order_two_element(p: int, q: int) -> int:
    """x ≡ 1 (mod p), x ≡ −1 (mod q): x² = 1 but x ≠ ±1."""
    return crt([1, q - 1], [p, q])


@pytest.mark.parametrize(
    "case", ["s=t", "t=N-1", "s=1", "t=1", "s=0", "t=N", "s order 2", "s not a unit"]
)
def test_prm_weak_parameters_rejected(case: str) -> None:
    """The CVE-2020-12118 class: equal parameters, or of order ≤ 2, or not units."""
    rp, _ = verifier_ring_pedersen()
    p, q = safe_primes(1024)[2:4]
    n, s, t = rp.n, rp.s, rp.t
    weak = {
        "s=t": (t, t),
        "t=N-1": (s, n - 1),
        "s=1": (1, t),
        "t=1": (s, 1),
        "s=0": (0, t),
        "t=N": (s, n),
        "s order 2": (order_two_element(p, q), t),
        "s not a unit": (p, t),
    }[case]
    with pytest.raises(InvalidRingPedersen):
        prm.verify(
            RingPedersenParameters(n, *weak), honest_prm_proof(), transcript(), params=PARAMS
        )


def test_prm_s_outside_subgroup_of_t_rejected() -> None:
    """s a non-residue (so not a power of the square t): a cheating prover without λ passes
    only the repetitions whose bit it guessed, about half of them."""
    rp, _ = verifier_ring_pedersen()
    p, q = safe_primes(1024)[2:4]
    rng = DeterministicRng("non-residue")
    while True:
        s = random_unit(rp.n, rng)
        if gmpy2.legendre(s, p) == -1 and gmpy2.legendre(s, q) == -1:
            break
    bad = RingPedersenParameters(rp.n, s, rp.t)
    bad.validate()  # structurally fine: only the proof can catch it
    forged, matched = forge_prm_proof(bad, transcript)
    assert 0 < matched < M
    with pytest.raises(InvalidProof, match="t\\^z"):
        prm.verify(bad, forged, transcript(), params=PARAMS)


# ---------------------------------------------------------------------------------------
# Π_fac (Fig. 28)


def test_fac_honest_proof_verifies() -> None:
    rp, _ = verifier_ring_pedersen()
    fac.verify(n_of(blum_factors()), rp, honest_fac_proof(), transcript(), params=PARAMS)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(FacProof)])
def test_fac_tampered_proof_fails(field: str) -> None:
    rp, _ = verifier_ring_pedersen()
    proof = honest_fac_proof()
    value = getattr(proof, field)
    # Commitments are moved to another unit; answers by one.
    changed = value * rp.s % rp.n if field in "PQABT" else value + 1
    with pytest.raises(InvalidProof):
        fac.verify(
            n_of(blum_factors()),
            rp,
            dataclasses.replace(proof, **{field: changed}),
            transcript(),
            params=PARAMS,
        )


@settings(max_examples=40, deadline=None)
@given(
    field=st.sampled_from([f.name for f in dataclasses.fields(FacProof)]), bit=st.integers(0, 2100)
)
def test_fac_any_bit_flip_fails(field: str, bit: int) -> None:
    rp, _ = verifier_ring_pedersen()
    proof = honest_fac_proof()
    tampered = dataclasses.replace(proof, **{field: getattr(proof, field) ^ (1 << bit)})
    with pytest.raises(InvalidProof):
        fac.verify(n_of(blum_factors()), rp, tampered, transcript(), params=PARAMS)


@pytest.mark.parametrize(
    "other", [transcript(session=b"session-2"), transcript(party="bob")], ids=["session", "party"]
)
def test_fac_proof_from_another_session_or_party_fails(other: Transcript) -> None:
    rp, _ = verifier_ring_pedersen()
    with pytest.raises(InvalidProof):
        fac.verify(n_of(blum_factors()), rp, honest_fac_proof(), other, params=PARAMS)


def test_fac_proof_under_other_parameters_or_modulus_fails() -> None:
    rp, _ = verifier_ring_pedersen()
    p, q = safe_primes(1024)[4:6]
    other_rp, _ = generate_ring_pedersen(p, q, DeterministicRng("other"))
    with pytest.raises(InvalidProof):
        fac.verify(n_of(blum_factors()), other_rp, honest_fac_proof(), transcript(), params=PARAMS)
    with pytest.raises(InvalidProof):
        fac.verify(p * q, rp, honest_fac_proof(), transcript(), params=PARAMS)


def test_fac_values_out_of_range_rejected() -> None:
    rp, _ = verifier_ring_pedersen()
    n0 = n_of(blum_factors())
    proof = honest_fac_proof()
    bound = int(gmpy2.isqrt(n0)) << (PARAMS.ell + PARAMS.epsilon)
    for bad in (
        dataclasses.replace(proof, z1=bound + 1),
        dataclasses.replace(proof, z2=-bound - 1),
        dataclasses.replace(proof, P=0),
        dataclasses.replace(proof, T=rp.n),
        dataclasses.replace(proof, Q=safe_primes(1024)[2]),  # not a unit modulo N̂
        dataclasses.replace(proof, v=proof.v << 4096),
    ):
        with pytest.raises(InvalidProof):
            fac.verify(n0, rp, bad, transcript(), params=PARAMS)


def bitforge_modulus(small_bits: int, seed: str) -> tuple[int, int]:
    """A 2048-bit N0 = p·q with p the product of 16-bit primes (the BitForge shape,
    CVE-2023-33241) of about ``small_bits`` bits, and q a large prime."""
    rng = DeterministicRng(seed)
    small = 1
    while small.bit_length() < small_bits:
        small *= int(gmpy2.next_prime(random_below(1 << 16, rng) | (1 << 15)))
    while True:
        q_bits = 2048 - small.bit_length()
        q = int(gmpy2.next_prime(random_below(1 << q_bits, rng) | (0b11 << (q_bits - 2))))
        if (small * q).bit_length() == 2048:
            return small, q


@pytest.mark.parametrize("small_bits", [64, 256, 700])
def test_fac_small_factor_modulus_rejected(small_bits: int) -> None:
    """BitForge: the cheating prover proves with its real factors; the large factor makes
    z2 = β + e·q overflow ±2^(ℓ+ε)·√N0."""
    rp, _ = verifier_ring_pedersen()
    p, q = bitforge_modulus(small_bits, f"bitforge/{small_bits}")
    n0 = p * q
    proof = fac.prove((p, q), rp, transcript(), DeterministicRng("cheat"), params=PARAMS)
    with pytest.raises(InvalidProof, match="z2 is outside"):
        fac.verify(n0, rp, proof, transcript(), params=PARAMS)
    # Swapping the roles only moves the overflow to z1.
    proof = fac.prove((q, p), rp, transcript(), DeterministicRng("cheat"), params=PARAMS)
    with pytest.raises(InvalidProof, match="z1 is outside"):
        fac.verify(n0, rp, proof, transcript(), params=PARAMS)


def test_fac_accepts_factors_within_the_proven_bound() -> None:
    """The guarantee is p, q ≥ √N0 / 2^(ε+1) or so, not exact balance: a 1000/1048-bit
    split is accepted, which documents what Π_fac does and does not promise."""
    rp, _ = verifier_ring_pedersen()
    p = prime_congruent(1000, 3, 4, "unbalanced-p")
    q = prime_congruent(1048, 3, 4, "unbalanced-q")
    proof = fac.prove((p, q), rp, transcript(), DeterministicRng("unbalanced"), params=PARAMS)
    fac.verify(p * q, rp, proof, transcript(), params=PARAMS)
