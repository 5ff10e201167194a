"""Π_mul*: multiplication, Paillier vs group (CGGMP21, ePrint 2021/060, Fig. 31).

The statement is (N0, C, D, X): C and D are ciphertexts under the Paillier key N0, X a
point, and the prover knows x ∈ ±2^ℓ and ρ ∈ Z*_N0 with

    D = C^x · ρ^N0 mod N0²   (that is, x ⊙ C re-randomized)   and   X = x·G,

so that D encrypts x times the plaintext of C, for the same x as X's discrete logarithm.
Soundness guarantees x ∈ ±2^(ℓ+ε). In the identification after a failed ΣS_i check
(:mod:`mpc.ecdsa.identify`) a signer proves Ĥ_i = K_i^{w_i}·ρ^{N_i}, an encryption of
k_i·w_i under its own key, against its public share W_i = w_i·G.

Unlike Π_aff-g the prover may know the factorization of N0 (here it is its own key):
soundness rests only on the verifier's ring-Pedersen parameters (N̂, s, t), which must not
be the prover's. As in Π_enc (see :mod:`mpc.ecdsa.zk.enc` for why), the challenge is
e ← ±2^128 rather than ±q. The prover raises to its secrets (x, α and the masks) on
``gmpy2.powmod_sec`` (:meth:`PaillierPublicKey.multiply_secret`,
:meth:`RingPedersenParameters.commit_secret`); only r^N0 and ρ^e, whose exponents are
public, use ``pow``.
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

PROOF_LABEL: Final = b"cggmp21/pi-mul-star/v1"


@dataclass(frozen=True, slots=True)
class MulStarStatement:
    """Public input of Π_mul*: the key N0, C and D = C^x·ρ^N0 under it, and X = x·G."""

    key0: PaillierPublicKey
    C: int
    D: int
    X: Secp256k1Element

    def validate(self, setup: RingPedersenParameters, params: SecurityParameters) -> None:
        """Structural checks on the statement; raises :class:`InvalidProof`."""
        require(is_ciphertext(self.key0, self.C), "Π_mul*: C is not a unit modulo N0²")
        require(is_ciphertext(self.key0, self.D), "Π_mul*: D is not a unit modulo N0²")
        # The identity as X makes the group equation say nothing about x.
        require(is_point(self.X), "Π_mul*: X must be a point other than the identity")
        require(
            plaintext_room(self.key0, params.ell + params.epsilon),
            "Π_mul*: N0 is too small for exponents in ±2^(ℓ+ε)",
        )
        # A prover who knows the factorization of N̂ could open its commitments at will.
        require(self.key0.n != setup.n, "Π_mul*: N0 is the verifier's ring-Pedersen modulus")


@dataclass(frozen=True, slots=True, repr=False)
class MulStarWitness:
    """Secret input of Π_mul*: x ∈ ±2^ℓ and ρ ∈ Z*_N0 with D = C^x·ρ^N0, X = x·G."""

    x: int
    rho: int

    def __repr__(self) -> str:
        return "MulStarWitness(<redacted>)"


@dataclass(frozen=True, slots=True)
class MulStarProof:
    """Fig. 31: commitments (A, B_x, E, S) and responses (z1, z2, w)."""

    A: int
    B_x: Secp256k1Element
    E: int
    S: int
    z1: int
    z2: int
    w: int


def _challenge(
    transcript: Transcript,
    statement: MulStarStatement,
    setup: RingPedersenParameters,
    params: SecurityParameters,
    bound: int,
    A: int,
    B_x: Secp256k1Element,
    E: int,
    S: int,
) -> int:
    """Fig. 31, step 2 made non-interactive: e ← ±Q from the statement and commitments."""
    bind_setup(transcript, PROOF_LABEL, setup, params)
    transcript.append_int(b"N0", statement.key0.n)
    transcript.append_ints(b"C,D", (statement.C, statement.D))
    transcript.append_bytes(b"X", statement.X.compressed())
    transcript.append_ints(b"A,E,S", (A, E, S))
    transcript.append_bytes(b"B_x", B_x.compressed())
    return transcript.challenge_signed(b"e", bound)


def prove(
    statement: MulStarStatement,
    witness: MulStarWitness,
    setup: RingPedersenParameters,
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
) -> MulStarProof:
    """Prove that D = C^x·ρ^N0 and X = x·G, under the verifier's ring-Pedersen ``setup``.

    As in Π_enc, the range of x is enforced by the verifier's check on z1, not here.
    """
    # Parameters first: they decide every size below.
    bound = prover_challenge_bound(statement, setup, params)
    require_prover_nonce(statement.key0, witness.rho, "ρ")
    key0 = statement.key0
    n_hat = setup.n
    ell, eps = params.ell, params.epsilon

    # Fig. 31, step 1: α ← ±2^(ℓ+ε), r ← Z*_N0, γ ← ±2^(ℓ+ε)·N̂, m ← ±2^ℓ·N̂.
    alpha = random_signed(ell + eps, rng)
    r = random_unit(key0.n, rng)
    gamma = sample_signed((1 << (ell + eps)) * n_hat, rng)
    m = sample_signed((1 << ell) * n_hat, rng)

    # A = C^α · r^N0 mod N0², B_x = α·G, E = s^α t^γ, S = s^x t^m mod N̂.
    A = key0.multiply_secret(statement.C, alpha) * key0.pow(r, key0.n) % key0.n2
    B_x = SECP256K1.base_mul(SECP256K1.scalar(alpha))
    E = setup.commit_secret(alpha, gamma)
    S = setup.commit_secret(witness.x, m)

    e = _challenge(transcript, statement, setup, params, bound, A, B_x, E, S)

    # Fig. 31, step 3: z1 = α + e·x, z2 = γ + e·m, w = r·ρ^e mod N0.
    return MulStarProof(
        A=A,
        B_x=B_x,
        E=E,
        S=S,
        z1=alpha + e * witness.x,
        z2=gamma + e * m,
        w=pow(witness.rho, e, key0.n) * r % key0.n,
    )


def verify(
    statement: MulStarStatement,
    proof: MulStarProof,
    setup: RingPedersenParameters,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
) -> None:
    """Fig. 31, verification; raises :class:`InvalidProof` unless every check passes."""
    # Parameters first, then the statement, then the proof's values, then arithmetic.
    bound = challenge_bound(params)
    statement.validate(setup, params)
    key0 = statement.key0
    n_hat = setup.n
    ell, eps = params.ell, params.epsilon

    require(is_unit(proof.E, n_hat), "Π_mul*: E is not a unit modulo N̂")
    require(is_unit(proof.S, n_hat), "Π_mul*: S is not a unit modulo N̂")
    require(is_ciphertext(key0, proof.A), "Π_mul*: A is not a unit modulo N0²")
    require(is_point(proof.B_x), "Π_mul*: B_x must be a point other than the identity")
    require(is_unit(proof.w, key0.n), "Π_mul*: w is not in Z*_N0")
    # Fig. 31, range check: z1 ∈ ±2^(ℓ+ε).
    require(in_signed_range(proof.z1, ell + eps), "Π_mul*: z1 out of range")
    # Not in the figure: caps the verifier's work (honest z2 ∈ ±2^(ℓ+ε+1)·N̂ since
    # log Q < ε; see Π_enc).
    require(
        is_int(proof.z2) and abs(proof.z2) <= (1 << (ell + eps + 1)) * n_hat,
        "Π_mul*: z2 out of range",
    )

    e = _challenge(
        transcript, statement, setup, params, bound, proof.A, proof.B_x, proof.E, proof.S
    )

    # C^z1 · w^N0 = A · D^e mod N0².
    lhs = key0.pow(statement.C, proof.z1) * key0.pow(proof.w, key0.n) % key0.n2
    require(lhs == key0.add(proof.A, key0.pow(statement.D, e)), "Π_mul*: C^z1·w^N0 ≠ A·D^e")
    # z1·G = B_x + e·X.
    require(
        SECP256K1.base_mul(SECP256K1.scalar(proof.z1))
        == proof.B_x + statement.X * SECP256K1.scalar(e),
        "Π_mul*: z1·G ≠ B_x + e·X",
    )
    # s^z1 · t^z2 = E · S^e mod N̂.
    require(
        setup.commit(proof.z1, proof.z2) == proof.E * setup.power(proof.S, e) % n_hat,
        "Π_mul*: s^z1·t^z2 ≠ E·S^e",
    )
