"""Π_log*: knowledge of exponent vs Paillier encryption (CGGMP21, ePrint 2021/060, Fig. 25).

The statement is a ciphertext C = enc_N0(x; ρ) under the prover's Paillier key N0 and a
point X = x·g for a base point g; the prover shows that the same x ∈ ±2^ℓ is behind both
(soundness guarantees x ∈ ±2^(ℓ+ε)). In signing it ties a party's encrypted nonce share
to the point it publishes, e.g. Δ_i = k_i·Γ with g = Γ.

As in Π_enc (see :mod:`mpc.ecdsa.zk.enc` for why), the challenge is e ← ±2^128 rather
than ±q; the verifier's ring-Pedersen parameters (N̂, s, t) hide and bind x and α.

Witness bound. The figure fixes x ∈ ±2^ℓ. The identification after a failed ΣS_i check
(:mod:`mpc.ecdsa.identify`) proves the same relation for an integer y_i far larger than
q, so ``prove`` and ``verify`` take ``witness_bits`` = b (default ℓ): every ℓ of the figure
becomes b (α ← ±2^(b+ε), μ ← ±2^b·N̂, γ ← ±2^(b+ε)·N̂, the range check z1 ∈ ±2^(b+ε)),
soundness then guarantees x ∈ ±2^(b+ε), and N0 must leave room for that range. A bound
other than ℓ is absorbed into the transcript, so a proof made for one bound never
verifies for another; with the default nothing is added and proofs are unchanged.

Side channels. The prover raises to its secrets (x, α and the masks) with
:meth:`RingPedersenParameters.commit_secret` on ``gmpy2.powmod_sec``; (1 + N0)^α is a
product, not a power, and ρ^e has the public challenge as exponent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from mpc.ecdsa.errors import InvalidParameters
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

PROOF_LABEL: Final = b"cggmp21/pi-log-star/v1"


def witness_bound(params: SecurityParameters, witness_bits: int | None) -> int:
    """b, the witness bound in bits: ℓ unless given, and never below ℓ (it only widens)."""
    if witness_bits is None:
        return params.ell
    if not is_int(witness_bits) or witness_bits < params.ell:
        raise InvalidParameters("Π_log*: the witness bound must be an integer of at least ℓ bits")
    return witness_bits


@dataclass(frozen=True, slots=True)
class LogStarStatement:
    """Public input of Π_log*: the prover's key N0, C = enc_N0(x; ρ), X = x·g and g."""

    key0: PaillierPublicKey
    C: int
    X: Secp256k1Element
    g: Secp256k1Element = field(default_factory=SECP256K1.generator)

    def validate(self, setup: RingPedersenParameters, params: SecurityParameters) -> None:
        """Structural checks on the statement; raises :class:`InvalidProof`."""
        require(is_ciphertext(self.key0, self.C), "Π_log*: C is not a unit modulo N0²")
        # The identity as X or g makes the group equation say nothing about x.
        require(is_point(self.X), "Π_log*: X must be a point other than the identity")
        require(is_point(self.g), "Π_log*: g must be a point other than the identity")
        require(
            plaintext_room(self.key0, params.ell + params.epsilon),
            "Π_log*: N0 is too small for plaintexts in ±2^(ℓ+ε)",
        )
        # A prover who knows the factorization of N̂ could open its commitments at will.
        require(self.key0.n != setup.n, "Π_log*: N0 is the verifier's ring-Pedersen modulus")


@dataclass(frozen=True, slots=True, repr=False)
class LogStarWitness:
    """Secret input of Π_log*: x ∈ ±2^b (b = ℓ by default) and ρ ∈ Z*_N0 with
    C = enc_N0(x; ρ), X = x·g."""

    x: int
    rho: int

    def __repr__(self) -> str:
        return "LogStarWitness(<redacted>)"


@dataclass(frozen=True, slots=True)
class LogStarProof:
    """Fig. 25: commitments (S, A, Y, D) and responses (z1, z2, z3)."""

    S: int
    A: int
    Y: Secp256k1Element
    D: int
    z1: int
    z2: int
    z3: int


def _challenge(
    transcript: Transcript,
    statement: LogStarStatement,
    setup: RingPedersenParameters,
    params: SecurityParameters,
    bound: int,
    S: int,
    A: int,
    Y: Secp256k1Element,
    D: int,
    bits: int,
) -> int:
    """Fig. 25, step 2 made non-interactive: e ← ±Q from the statement and commitments."""
    bind_setup(transcript, PROOF_LABEL, setup, params)
    if bits != params.ell:
        # Only a widened bound is absorbed, so the default keeps the figure's transcript.
        transcript.append_int(b"witness-bits", bits)
    transcript.append_int(b"N0", statement.key0.n)
    transcript.append_int(b"C", statement.C)
    transcript.append_bytes(b"X", statement.X.compressed())
    transcript.append_bytes(b"g", statement.g.compressed())
    transcript.append_ints(b"commitment", (S, A, D))
    transcript.append_bytes(b"Y", Y.compressed())
    return transcript.challenge_signed(b"e", bound)


def prove(
    statement: LogStarStatement,
    witness: LogStarWitness,
    setup: RingPedersenParameters,
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
    witness_bits: int | None = None,
) -> LogStarProof:
    """Prove that C and X hide the same x, under the verifier's ring-Pedersen ``setup``.

    ``witness_bits`` is the bound b of x (default ℓ, see the module docstring); the
    verifier must use the same. As in Π_enc, the range of x is enforced by the verifier's
    check on z1, not here.
    """
    # Parameters first: they decide every size below.
    bits = witness_bound(params, witness_bits)
    bound = prover_challenge_bound(statement, setup, params)
    if not plaintext_room(statement.key0, bits + params.epsilon):
        raise InvalidParameters("Π_log*: N0 is too small for plaintexts in ±2^(b+ε)")
    require_prover_nonce(statement.key0, witness.rho, "ρ")
    key0 = statement.key0
    n_hat = setup.n

    # Fig. 25, step 1 (ℓ → b): α ← ±2^(b+ε), μ ← ±2^b·N̂, r ← Z*_N0, γ ← ±2^(b+ε)·N̂.
    alpha = random_signed(bits + params.epsilon, rng)
    mu = sample_signed((1 << bits) * n_hat, rng)
    r = random_unit(key0.n, rng)
    gamma = sample_signed((1 << (bits + params.epsilon)) * n_hat, rng)

    # S = s^x t^μ, A = (1 + N0)^α · r^N0 mod N0², Y = α·g, D = s^α t^γ mod N̂.
    S = setup.commit_secret(witness.x, mu)
    A = key0.encrypt_with(alpha, r)
    Y = statement.g * SECP256K1.scalar(alpha)
    D = setup.commit_secret(alpha, gamma)

    e = _challenge(transcript, statement, setup, params, bound, S, A, Y, D, bits)

    # Fig. 25, step 3: z1 = α + e·x, z2 = r·ρ^e mod N0, z3 = γ + e·μ.
    z1 = alpha + e * witness.x
    z2 = pow(witness.rho, e, key0.n) * r % key0.n
    z3 = gamma + e * mu
    return LogStarProof(S=S, A=A, Y=Y, D=D, z1=z1, z2=z2, z3=z3)


def verify(
    statement: LogStarStatement,
    proof: LogStarProof,
    setup: RingPedersenParameters,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
    witness_bits: int | None = None,
) -> None:
    """Fig. 25, verification; raises :class:`InvalidProof` unless every check passes.

    ``witness_bits`` is the bound b the prover used (default ℓ).
    """
    # Parameters first, then the statement, then the proof's values, then arithmetic.
    bits = witness_bound(params, witness_bits)
    bound = challenge_bound(params)
    statement.validate(setup, params)
    key0 = statement.key0
    n_hat = setup.n
    # Soundness only bounds x by ±2^(b+ε): that range must not wrap modulo N0.
    require(
        plaintext_room(key0, bits + params.epsilon),
        "Π_log*: N0 is too small for plaintexts in ±2^(b+ε)",
    )

    require(is_unit(proof.S, n_hat), "Π_log*: S is not a unit modulo N̂")
    require(is_unit(proof.D, n_hat), "Π_log*: D is not a unit modulo N̂")
    require(is_ciphertext(key0, proof.A), "Π_log*: A is not a unit modulo N0²")
    require(is_point(proof.Y), "Π_log*: Y must be a point other than the identity")
    require(is_unit(proof.z2, key0.n), "Π_log*: z2 is not in Z*_N0")
    # Fig. 25, range check (ℓ → b): z1 ∈ ±2^(b+ε).
    require(in_signed_range(proof.z1, bits + params.epsilon), "Π_log*: z1 out of range")
    # Not in the figure: caps the verifier's work (honest z3 ∈ ±2^(b+ε+1)·N̂, see Π_enc).
    require(
        is_int(proof.z3) and abs(proof.z3) <= (1 << (bits + params.epsilon + 1)) * n_hat,
        "Π_log*: z3 out of range",
    )

    e = _challenge(
        transcript, statement, setup, params, bound, proof.S, proof.A, proof.Y, proof.D, bits
    )

    # (1 + N0)^z1 · z2^N0 = A · C^e mod N0².
    lhs = key0.encrypt_with(proof.z1, proof.z2)
    require(lhs == key0.add(proof.A, key0.pow(statement.C, e)), "Π_log*: enc(z1; z2) ≠ A·C^e")
    # z1·g = Y + e·X.
    require(
        statement.g * SECP256K1.scalar(proof.z1) == proof.Y + statement.X * SECP256K1.scalar(e),
        "Π_log*: z1·g ≠ Y + e·X",
    )
    # s^z1 · t^z3 = D · S^e mod N̂.
    require(
        setup.commit(proof.z1, proof.z3) == proof.D * setup.power(proof.S, e) % n_hat,
        "Π_log*: s^z1·t^z3 ≠ D·S^e",
    )
