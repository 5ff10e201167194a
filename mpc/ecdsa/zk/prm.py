"""Π_prm: ring-Pedersen parameters, s ∈ ⟨t⟩ (CGGMP21, ePrint 2021/060, Fig. 17).

The prover knows λ with s = t^λ mod N̂. For each of m repetitions it commits to
A_i = t^a_i with a_i ← Z_φ(N̂), receives a bit e_i and answers z_i = a_i + e_i·λ mod φ(N̂);
the verifier checks t^z_i = A_i · s^e_i (mod N̂). Without λ a prover can prepare A_i for
only one value of e_i, so it passes a repetition with probability 1/2, and m = 128
repetitions leave 2^-128.

The verifier first runs :meth:`RingPedersenParameters.validate` (s ≠ t, both units other
than ±1 and not of order 2: the CVE-2020-12118 class), then requires exactly
``params.iterations`` repetitions (a short proof is the TSSHOCK class of attacks).

The a_i are secret (an a_i with its z_i gives λ), so the prover raises t to them on
``gmpy2.powmod_sec``; the verifier's exponents z_i are public and stay on
``gmpy2.powmod``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gmpy2

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import powmod_secret, random_below
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.ring_pedersen import RingPedersenParameters, RingPedersenSecret
from mpc.ecdsa.transcript import Transcript
from mpc.group import Rng

mpz = gmpy2.mpz

PROOF_LABEL = b"cggmp21/pi-prm/v1"


@dataclass(frozen=True, slots=True)
class PrmProof:
    """The commitments A_i = t^a_i and the answers z_i, one of each per repetition."""

    A: tuple[int, ...]
    z: tuple[int, ...]


def _bind(
    transcript: Transcript,
    parameters: RingPedersenParameters,
    commitments: tuple[int, ...],
    iterations: int,
) -> list[int]:
    """Fig. 17, step 2 made non-interactive: the bits e_i from the statement and all A_i."""
    transcript.append_bytes(b"proof", PROOF_LABEL)
    transcript.append_int(b"N", parameters.n)
    transcript.append_int(b"s", parameters.s)
    transcript.append_int(b"t", parameters.t)
    transcript.append_int(b"m", iterations)
    transcript.append_ints(b"A", commitments)
    return transcript.challenge_bits(b"e", iterations)


def prove(
    secret: RingPedersenSecret,
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
    factors: tuple[int, int] | None = None,
) -> PrmProof:
    """Prove s = t^λ mod N̂. ``factors`` (p, q) of N̂, if given, speed the prover up 3x."""
    parameters, lam, phi = secret.parameters, secret.lam, secret.phi
    n, t = parameters.n, parameters.t
    if factors is not None and (
        factors[0] * factors[1] != n or (factors[0] - 1) * (factors[1] - 1) != phi
    ):
        raise InvalidParameters("the factors given to Π_prm do not match N̂ and φ(N̂)")

    # Fig. 17, step 1: a_i ← Z_φ(N̂), A_i = t^a_i mod N̂.
    exponents = [random_below(phi, rng) for _ in range(params.iterations)]
    if factors is None:
        commitments = tuple(powmod_secret(t, a, n) for a in exponents)
    else:
        commitments = tuple(_crt_powers(t, exponents, *factors))

    bits = _bind(transcript, parameters, commitments, params.iterations)
    # Fig. 17, step 3: z_i = a_i + e_i·λ mod φ(N̂). Reducing modulo φ(N̂) keeps z_i uniform,
    # so it reveals nothing about λ.
    answers = tuple((a + lam) % phi if e else a for a, e in zip(exponents, bits, strict=True))
    return PrmProof(A=commitments, z=answers)


def _crt_powers(base: int, exponents: list[int], p: int, q: int) -> list[int]:
    """``base^a mod p·q`` for every secret a, as two half-size powers joined by the CRT.

    ``base`` is a unit (t is), so by Fermat ``base^a = base^(a mod (p−1) + (p−1))`` modulo
    p: the exponent is then positive, as ``powmod_sec`` needs, always of p's size, and the
    base is never inverted. The one CRT coefficient p⁻¹ mod q is an extended GCD on the
    secret primes (``gmpy2.invert``, not constant time), computed once per proof.
    """
    mp, mq = mpz(p), mpz(q)
    p_inv_q = gmpy2.invert(mp, mq)
    bp, bq = mpz(base) % mp, mpz(base) % mq
    out = []
    for a in exponents:
        xp = gmpy2.powmod_sec(bp, a % (p - 1) + (p - 1), mp)
        xq = gmpy2.powmod_sec(bq, a % (q - 1) + (q - 1), mq)
        out.append(int(xp + mp * ((xq - xp) * p_inv_q % mq)))
    return out


def verify(
    parameters: RingPedersenParameters,
    proof: PrmProof,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
) -> None:
    """Fig. 17, verification; raises :class:`InvalidRingPedersen` or :class:`InvalidProof`."""
    parameters.validate()
    n, s, t = parameters.n, parameters.s, parameters.t
    m = params.iterations
    if len(proof.A) != m or len(proof.z) != m:
        raise InvalidProof(f"Π_prm: {len(proof.A)}/{len(proof.z)} repetitions, expected {m}")
    for value in proof.A:
        if type(value) is not int or not 0 < value < n:
            raise InvalidProof("Π_prm: every A_i must be in Z_N̂")
    for value in proof.z:
        # z_i is reduced modulo φ(N̂) < N̂; bounding it also bounds the verifier's work.
        if type(value) is not int or not 0 <= value < n:
            raise InvalidProof("Π_prm: every z_i must be in [0, N̂)")

    bits = _bind(transcript, parameters, proof.A, m)
    mn, ms, mt = mpz(n), mpz(s), mpz(t)
    for index, (commitment, answer, e) in enumerate(zip(proof.A, proof.z, bits, strict=True)):
        expected = commitment * ms % mn if e else mpz(commitment)
        if gmpy2.powmod(mt, answer, mn) != expected:
            raise InvalidProof(f"Π_prm: t^z ≠ A·s^e in repetition {index}")
