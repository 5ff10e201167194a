"""Π_aff-g: Paillier affine operation with group commitment in range (CGGMP21, Fig. 15).

CGGMP21 is ePrint 2021/060. This is the proof behind MtA and MtAwc: the prover received
C, a ciphertext under the *verifier's* Paillier key N0, and answers with

    D = C^x · (1 + N0)^y · ρ^N0 mod N0²   (that is, x ⊙ C ⊕ enc_N0(y; ρ)),

together with Y = enc_N1(y; ρ_y) under its own key N1 and X = x·G. It shows that it knows
x ∈ ±2^ℓ and y ∈ ±2^ℓ' behind all three (soundness guarantees x ∈ ±2^(ℓ+ε) and
y ∈ ±2^(ℓ'+ε)). Without the range on x and y a malicious responder could make the
verifier's decryption of D wrap modulo N0 and learn bits of the verifier's secret from
whether the protocol later fails (the attacks on GG18/GG20 implementations without these
proofs).

N0 is the verifier's Paillier modulus and N̂ its ring-Pedersen modulus; in CGGMP21's
auxiliary information they are the same number, which is fine here since the verifier,
not the prover, knows that factorization. N1 is the prover's and must differ from N̂.

As in Π_enc (see :mod:`mpc.ecdsa.zk.enc` for why), the challenge is e ← ±2^128. The
prover raises to its secrets x, y, α, β and the masks with ``gmpy2.powmod_sec``
(:meth:`PaillierPublicKey.multiply_secret`, :meth:`RingPedersenParameters.commit_secret`);
only ρ^e and ρ_y^e, whose exponent is the public challenge, use ``pow``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from mpc.ecdsa.paillier import PaillierPublicKey, random_signed, random_unit
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk.enc import (
    bind_setup,
    challenge_bound,
    in_signed_range,
    is_ciphertext,
    is_int,
    is_point,
    is_unit,
    plaintext_room,
    prover_challenge_bound,
    require,
    require_prover_nonce,
    sample_signed,
)
from mpc.group import SECP256K1, Rng, Secp256k1Element

PROOF_LABEL: Final = b"cggmp21/pi-aff-g/v1"


@dataclass(frozen=True, slots=True)
class AffGStatement:
    """Public input of Π_aff-g: (N0, N1, C, D, Y, X), N0 the verifier's key, N1 the prover's."""

    key0: PaillierPublicKey
    key1: PaillierPublicKey
    C: int
    D: int
    Y: int
    X: Secp256k1Element

    def validate(self, setup: RingPedersenParameters, params: SecurityParameters) -> None:
        """Structural checks on the statement; raises :class:`InvalidProof`."""
        require(is_ciphertext(self.key0, self.C), "Π_aff-g: C is not a unit modulo N0²")
        require(is_ciphertext(self.key0, self.D), "Π_aff-g: D is not a unit modulo N0²")
        require(is_ciphertext(self.key1, self.Y), "Π_aff-g: Y is not a unit modulo N1²")
        require(is_point(self.X), "Π_aff-g: X must be a point other than the identity")
        # The figure's implicit constraint 2^(ℓ'+ε) < N0/2, N1/2: y and z2 must not wrap.
        bits = max(params.ell, params.ell_prime) + params.epsilon
        require(
            plaintext_room(self.key0, bits) and plaintext_room(self.key1, bits),
            "Π_aff-g: N0 or N1 is too small for plaintexts in ±2^(ℓ'+ε)",
        )
        # A prover who knows the factorization of N̂ could open its commitments at will.
        require(self.key1.n != setup.n, "Π_aff-g: N1 is the verifier's ring-Pedersen modulus")


@dataclass(frozen=True, slots=True, repr=False)
class AffGWitness:
    """Secret input: x ∈ ±2^ℓ, y ∈ ±2^ℓ', ρ ∈ Z*_N0 (in D) and ρ_y ∈ Z*_N1 (in Y)."""

    x: int
    y: int
    rho: int
    rho_y: int

    def __repr__(self) -> str:
        return "AffGWitness(<redacted>)"


@dataclass(frozen=True, slots=True)
class AffGProof:
    """Fig. 15: commitments (A, B_x, B_y, E, S, F, T) and responses (z1..z4, w, w_y)."""

    A: int
    B_x: Secp256k1Element
    B_y: int
    E: int
    S: int
    F: int
    T: int
    z1: int
    z2: int
    z3: int
    z4: int
    w: int
    w_y: int


def _challenge(
    transcript: Transcript,
    statement: AffGStatement,
    setup: RingPedersenParameters,
    params: SecurityParameters,
    bound: int,
    A: int,
    B_x: Secp256k1Element,
    B_y: int,
    E: int,
    S: int,
    F: int,
    T: int,
) -> int:
    """Fig. 15, step 2 made non-interactive: e ← ±Q from the statement and commitments."""
    bind_setup(transcript, PROOF_LABEL, setup, params)
    transcript.append_ints(b"N0,N1", (statement.key0.n, statement.key1.n))
    transcript.append_ints(b"C,D,Y", (statement.C, statement.D, statement.Y))
    transcript.append_bytes(b"X", statement.X.compressed())
    transcript.append_ints(b"A,B_y,E,S,F,T", (A, B_y, E, S, F, T))
    transcript.append_bytes(b"B_x", B_x.compressed())
    return transcript.challenge_signed(b"e", bound)


def prove(
    statement: AffGStatement,
    witness: AffGWitness,
    setup: RingPedersenParameters,
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
) -> AffGProof:
    """Prove that D = x ⊙ C ⊕ enc_N0(y; ρ), Y = enc_N1(y; ρ_y) and X = x·G, x and y in range.

    ``setup`` is the verifier's ring-Pedersen parameters. As in Π_enc, the ranges of x and
    y are enforced by the verifier's checks on z1 and z2, not here.
    """
    # Parameters first: they decide every size below.
    bound = prover_challenge_bound(statement, setup, params)
    require_prover_nonce(statement.key0, witness.rho, "ρ")
    require_prover_nonce(statement.key1, witness.rho_y, "ρ_y")
    key0, key1 = statement.key0, statement.key1
    n_hat = setup.n
    ell, ell_prime, eps = params.ell, params.ell_prime, params.epsilon

    # Fig. 15, step 1: α ← ±2^(ℓ+ε), β ← ±2^(ℓ'+ε), r ← Z*_N0, r_y ← Z*_N1,
    # γ ← ±2^(ℓ+ε)·N̂, m ← ±2^ℓ·N̂, δ ← ±2^(ℓ+ε)·N̂, μ ← ±2^ℓ·N̂.
    alpha = random_signed(ell + eps, rng)
    beta = random_signed(ell_prime + eps, rng)
    r = random_unit(key0.n, rng)
    r_y = random_unit(key1.n, rng)
    gamma = sample_signed((1 << (ell + eps)) * n_hat, rng)
    m = sample_signed((1 << ell) * n_hat, rng)
    delta = sample_signed((1 << (ell + eps)) * n_hat, rng)
    mu = sample_signed((1 << ell) * n_hat, rng)

    # A = C^α · (1 + N0)^β · r^N0 mod N0², B_x = α·G, B_y = (1 + N1)^β · r_y^N1 mod N1²,
    # E = s^α t^γ, S = s^x t^m, F = s^β t^δ, T = s^y t^μ mod N̂.
    A = key0.add(key0.multiply_secret(statement.C, alpha), key0.encrypt_with(beta, r))
    B_x = SECP256K1.base_mul(SECP256K1.scalar(alpha))
    B_y = key1.encrypt_with(beta, r_y)
    E = setup.commit_secret(alpha, gamma)
    S = setup.commit_secret(witness.x, m)
    F = setup.commit_secret(beta, delta)
    T = setup.commit_secret(witness.y, mu)

    e = _challenge(transcript, statement, setup, params, bound, A, B_x, B_y, E, S, F, T)

    # Fig. 15, step 3: z1 = α + e·x, z2 = β + e·y, z3 = γ + e·m, z4 = δ + e·μ,
    # w = r·ρ^e mod N0, w_y = r_y·ρ_y^e mod N1.
    return AffGProof(
        A=A,
        B_x=B_x,
        B_y=B_y,
        E=E,
        S=S,
        F=F,
        T=T,
        z1=alpha + e * witness.x,
        z2=beta + e * witness.y,
        z3=gamma + e * m,
        z4=delta + e * mu,
        w=pow(witness.rho, e, key0.n) * r % key0.n,
        w_y=pow(witness.rho_y, e, key1.n) * r_y % key1.n,
    )


def verify(
    statement: AffGStatement,
    proof: AffGProof,
    setup: RingPedersenParameters,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
) -> None:
    """Fig. 15, verification; raises :class:`InvalidProof` unless every check passes."""
    # Parameters first, then the statement, then the proof's values, then arithmetic.
    bound = challenge_bound(params)
    statement.validate(setup, params)
    key0, key1 = statement.key0, statement.key1
    n_hat = setup.n
    ell, ell_prime, eps = params.ell, params.ell_prime, params.epsilon

    for name, value in (("E", proof.E), ("S", proof.S), ("F", proof.F), ("T", proof.T)):
        require(is_unit(value, n_hat), f"Π_aff-g: {name} is not a unit modulo N̂")
    require(is_ciphertext(key0, proof.A), "Π_aff-g: A is not a unit modulo N0²")
    require(is_ciphertext(key1, proof.B_y), "Π_aff-g: B_y is not a unit modulo N1²")
    require(is_point(proof.B_x), "Π_aff-g: B_x must be a point other than the identity")
    require(is_unit(proof.w, key0.n), "Π_aff-g: w is not in Z*_N0")
    require(is_unit(proof.w_y, key1.n), "Π_aff-g: w_y is not in Z*_N1")
    # Fig. 15, range checks: z1 ∈ ±2^(ℓ+ε) and z2 ∈ ±2^(ℓ'+ε).
    require(in_signed_range(proof.z1, ell + eps), "Π_aff-g: z1 out of range")
    require(in_signed_range(proof.z2, ell_prime + eps), "Π_aff-g: z2 out of range")
    # Not in the figure: caps the verifier's work (honest z3, z4 ∈ ±2^(ℓ+ε+1)·N̂ since
    # log Q < ε; see Π_enc).
    cap = (1 << (ell + eps + 1)) * n_hat
    for name, value in (("z3", proof.z3), ("z4", proof.z4)):
        require(is_int(value) and abs(value) <= cap, f"Π_aff-g: {name} out of range")

    e = _challenge(
        transcript,
        statement,
        setup,
        params,
        bound,
        proof.A,
        proof.B_x,
        proof.B_y,
        proof.E,
        proof.S,
        proof.F,
        proof.T,
    )

    # C^z1 · (1 + N0)^z2 · w^N0 = A · D^e mod N0².
    lhs = key0.add(key0.pow(statement.C, proof.z1), key0.encrypt_with(proof.z2, proof.w))
    rhs = key0.add(proof.A, key0.pow(statement.D, e))
    require(lhs == rhs, "Π_aff-g: (z1 ⊙ C) ⊕ enc_N0(z2; w) ≠ A ⊕ (e ⊙ D)")
    # z1·G = B_x + e·X.
    require(
        SECP256K1.base_mul(SECP256K1.scalar(proof.z1))
        == proof.B_x + statement.X * SECP256K1.scalar(e),
        "Π_aff-g: z1·G ≠ B_x + e·X",
    )
    # (1 + N1)^z2 · w_y^N1 = B_y · Y^e mod N1².
    require(
        key1.encrypt_with(proof.z2, proof.w_y) == key1.add(proof.B_y, key1.pow(statement.Y, e)),
        "Π_aff-g: enc_N1(z2; w_y) ≠ B_y ⊕ (e ⊙ Y)",
    )
    # s^z1 · t^z3 = E · S^e and s^z2 · t^z4 = F · T^e mod N̂.
    require(
        setup.commit(proof.z1, proof.z3) == proof.E * setup.power(proof.S, e) % n_hat,
        "Π_aff-g: s^z1·t^z3 ≠ E·S^e",
    )
    require(
        setup.commit(proof.z2, proof.z4) == proof.F * setup.power(proof.T, e) % n_hat,
        "Π_aff-g: s^z2·t^z4 ≠ F·T^e",
    )
