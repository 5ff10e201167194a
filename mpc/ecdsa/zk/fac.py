"""Π_fac: N0 has no small factors (CGGMP21, ePrint 2021/060, Fig. 28, "no small factor proof").

The prover knows N0 = p·q and shows p, q < 2^(ℓ+ε)·√N0 (so neither factor is smaller than
√N0 / 2^(ℓ+ε)). It commits to p and q with the VERIFIER's ring-Pedersen parameters
(N̂, s, t), whose trapdoor it does not know, and proves that the product of the committed
values is N0 while the answers z1 = α + e·p and z2 = β + e·q stay within ±2^(ℓ+ε)·√N0.
A large factor (the twin of a small one) makes e·q overflow that range for all but a
negligible fraction of challenges e ← ±q_secp256k1.

This is what stops the BitForge attacks (CVE-2023-33241): a Paillier modulus with small
factors lets its owner learn other parties' key shares through the MtA range proofs,
which are sound only when the modulus has no small factor. Π_mod does not catch it
(it proves the Blum structure, not the factor sizes), hence a separate, pairwise proof.

Sampling ranges (Fig. 28, step 1): α, β ← ±2^(ℓ+ε)·√N0; μ, ν ← ±2^ℓ·N̂;
σ ← ±2^ℓ·N0·N̂; r ← ±2^(ℓ+ε)·N0·N̂; x, y ← ±2^(ℓ+ε)·N̂. √N0 is the integer square root,
computed alike by both sides. σ is part of the first message and is bound by the
Fiat–Shamir hash together with the commitments.

The prover's exponents (p, q and every mask) are secret and go through
:meth:`RingPedersenParameters.commit_secret` and :meth:`~RingPedersenParameters.power_secret`
on ``gmpy2.powmod_sec``; the verifier's, public, stay on ``gmpy2.powmod``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gmpy2

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import PaillierSecretKey, random_below
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.ecdsa.transcript import Transcript
from mpc.group import Rng
from mpc.group.secp256k1 import ORDER

mpz = gmpy2.mpz

PROOF_LABEL = b"cggmp21/pi-fac/v1"


@dataclass(frozen=True, slots=True)
class FacProof:
    """Fig. 28: the commitments (P, Q, A, B, T, σ), then the answers (z1, z2, w1, w2, v)."""

    P: int
    Q: int
    A: int
    B: int
    T: int
    sigma: int
    z1: int
    z2: int
    w1: int
    w2: int
    v: int


def _sample_pm(bound: int, rng: Rng) -> int:
    """Uniform in ±bound, i.e. [−bound, bound]."""
    return random_below(2 * bound + 1, rng) - bound


def _z_bound(n0: int, params: SecurityParameters) -> int:
    """The verifier's range for z1 and z2: 2^(ℓ+ε)·√N0."""
    return int(gmpy2.isqrt(n0)) << (params.ell + params.epsilon)


def _bind(
    transcript: Transcript,
    n0: int,
    verifier: RingPedersenParameters,
    commitments: tuple[int, ...],
    params: SecurityParameters,
) -> int:
    """Fig. 28, step 2 made non-interactive: e ← ±q from the statement and first message."""
    transcript.append_bytes(b"proof", PROOF_LABEL)
    transcript.append_int(b"N0", n0)
    transcript.append_int(b"N-hat", verifier.n)
    transcript.append_int(b"s", verifier.s)
    transcript.append_int(b"t", verifier.t)
    transcript.append_int(b"ell", params.ell)
    transcript.append_int(b"epsilon", params.epsilon)
    transcript.append_ints(b"P,Q,A,B,T,sigma", commitments)
    return transcript.challenge_signed(b"e", ORDER)


def prove(
    secret: PaillierSecretKey | tuple[int, int],
    verifier: RingPedersenParameters,
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
) -> FacProof:
    """Prove N0 = p·q has no small factor, under the verifier's ring-Pedersen parameters.

    The prover does not check the sizes of its own factors: it simply fails to convince
    the verifier if they are unbalanced, which is what the tests reproduce.
    """
    p, q = (secret.p, secret.q) if isinstance(secret, PaillierSecretKey) else secret
    if p < 2 or q < 2:
        raise InvalidParameters("Π_fac needs a factorization N0 = p·q with p, q > 1")
    n0, n_hat = p * q, verifier.n
    ell, eps = params.ell, params.epsilon

    # Fig. 28, step 1.
    alpha = _sample_pm(_z_bound(n0, params), rng)
    beta = _sample_pm(_z_bound(n0, params), rng)
    mu = _sample_pm(n_hat << ell, rng)
    nu = _sample_pm(n_hat << ell, rng)
    sigma = _sample_pm((n0 * n_hat) << ell, rng)
    r = _sample_pm((n0 * n_hat) << (ell + eps), rng)
    x = _sample_pm(n_hat << (ell + eps), rng)
    y = _sample_pm(n_hat << (ell + eps), rng)

    P = verifier.commit_secret(p, mu)
    Q = verifier.commit_secret(q, nu)
    A = verifier.commit_secret(alpha, x)
    B = verifier.commit_secret(beta, y)
    # T = Q^α · t^r: a commitment to q·α, which the third equation links to N0 = p·q.
    T = verifier.power_secret(Q, alpha) * verifier.power_secret(verifier.t, r) % n_hat

    e = _bind(transcript, n0, verifier, (P, Q, A, B, T, sigma), params)

    # Fig. 28, step 3. σ̂ = σ − ν·p is the randomness of Q^p = s^N0 · t^(ν·p), so that
    # R = s^N0 · t^σ = Q^p · t^σ̂.
    sigma_hat = sigma - nu * p
    return FacProof(
        P=P,
        Q=Q,
        A=A,
        B=B,
        T=T,
        sigma=sigma,
        z1=alpha + e * p,
        z2=beta + e * q,
        w1=x + e * mu,
        w2=y + e * nu,
        v=r + e * sigma_hat,
    )


def verify(
    n0: int,
    verifier: RingPedersenParameters,
    proof: FacProof,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
) -> None:
    """Fig. 28, verification; raises :class:`InvalidProof` unless N0's factors are large.

    ``verifier`` must be the verifier's OWN ring-Pedersen parameters: with parameters
    whose trapdoor the prover knows, the commitments bind nothing.
    """
    if type(n0) is not int or n0 < 3 or n0 % 2 == 0:
        raise InvalidProof("Π_fac: N0 must be an odd integer greater than 2")
    n_hat = verifier.n
    ell, eps = params.ell, params.epsilon
    for name, value in (
        ("P", proof.P),
        ("Q", proof.Q),
        ("A", proof.A),
        ("B", proof.B),
        ("T", proof.T),
    ):
        # Units only: the equations raise them to negative powers.
        if type(value) is not int or not 0 < value < n_hat or gmpy2.gcd(value, n_hat) != 1:
            raise InvalidProof(f"Π_fac: {name} must be a unit modulo N̂")
    # The statement: z1 and z2 within ±2^(ℓ+ε)·√N0 (Fig. 28, range check).
    z_bound = _z_bound(n0, params)
    for name, value in (("z1", proof.z1), ("z2", proof.z2)):
        if type(value) is not int or not -z_bound <= value <= z_bound:
            raise InvalidProof(f"Π_fac: {name} is outside ±2^(ℓ+ε)·√N0")
    # The other values are not range-checked by the figure; bounding them by the largest
    # value an honest prover can produce (|e| ≤ q) caps the verifier's work.
    w_bound = (n_hat << (ell + eps)) + ORDER * (n_hat << ell)
    v_bound = ((n0 * n_hat) << (ell + eps)) + ORDER * ((n0 * n_hat) << (ell + 1))
    bounds = (
        ("sigma", proof.sigma, (n0 * n_hat) << ell),
        ("w1", proof.w1, w_bound),
        ("w2", proof.w2, w_bound),
        ("v", proof.v, v_bound),
    )
    for name, value, bound in bounds:
        if type(value) is not int or not -bound <= value <= bound:
            raise InvalidProof(f"Π_fac: {name} is out of range")

    commitments = (proof.P, proof.Q, proof.A, proof.B, proof.T, proof.sigma)
    e = _bind(transcript, n0, verifier, commitments, params)
    m = mpz(n_hat)
    # s^z1 · t^w1 = A · P^e: z1 opens the commitment A·P^e, i.e. z1 = α + e·p.
    if verifier.commit(proof.z1, proof.w1) != proof.A * gmpy2.powmod(proof.P, e, m) % m:
        raise InvalidProof("Π_fac: s^z1·t^w1 ≠ A·P^e")
    if verifier.commit(proof.z2, proof.w2) != proof.B * gmpy2.powmod(proof.Q, e, m) % m:
        raise InvalidProof("Π_fac: s^z2·t^w2 ≠ B·Q^e")
    # Q^z1 · t^v = T · R^e with R = s^N0 · t^σ: the committed p times the committed q is N0.
    R = verifier.commit(n0, proof.sigma)
    lhs = gmpy2.powmod(proof.Q, proof.z1, m) * gmpy2.powmod(verifier.t, proof.v, m) % m
    if lhs != proof.T * gmpy2.powmod(R, e, m) % m:
        raise InvalidProof("Π_fac: Q^z1·t^v ≠ T·R^e")
