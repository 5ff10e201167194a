"""Π_enc: Paillier encryption in range (CGGMP21, ePrint 2021/060, Fig. 14).

The statement is a ciphertext K = enc_N0(k; ρ) under the prover's Paillier key N0; the
prover shows that it knows k and ρ with k ∈ ±2^ℓ. Soundness only guarantees the slack
range k ∈ ±2^(ℓ+ε), which is what the verifier checks on z1. The commitments S and C are
ring-Pedersen commitments under the *verifier's* parameters (N̂, s, t): the prover does
not know the factorization of N̂, which is what binds it to the integer k rather than to k
modulo an order it could compute.

Challenge space. The figure draws e ← ±q. With the sizes in :mod:`mpc.ecdsa.params`
(ℓ = 256, ε = 230) a 256-bit e breaks completeness: e·k reaches 2^512 while the mask α
only covers ±2^486, so most honest proofs would fail the range check on z1. Those sizes
are the ones the dfns/LFDT-Lockness implementation pairs with a challenge space of
Q = 2^128 (their specification requires ε ≥ log Q + 8 for completeness and
ε ≥ log Q + s + 2 for a privacy loss of 2^-s); we use the same e ← ±2^128, which gives a
soundness error of 2^-128 and a statistical privacy loss of about 2^-100. Extraction of the
group exponent in Π_aff-g and Π_log* needs e − e' invertible modulo q, which holds since
0 < |e − e'| ≤ 2^129 < q.

This module also holds the checks shared by the three range proofs of the signing
protocol (Π_enc, Π_aff-g, Π_log*): ranges, units, points and the transcript binding of
the verifier's ring-Pedersen parameters.

Side channels. The prover raises to its secrets (k, α, μ, γ) with
:meth:`RingPedersenParameters.commit_secret` on ``gmpy2.powmod_sec``; ρ^e has a public
exponent, the challenge, and stays on ``pow``, as do all of the verifier's powers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from math import gcd
from typing import Final, Protocol

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import PaillierPublicKey, random_below, random_signed, random_unit
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.ecdsa.transcript import Transcript
from mpc.group import Rng, Secp256k1Element

PROOF_LABEL: Final = b"cggmp21/pi-enc/v1"

CHALLENGE_BITS: Final = 128
"""log2 of the challenge bound Q: e ← ±Q with Q = 2^128 (see the module docstring)."""

_MIN_PRIVACY_BITS: Final = 80
"""ε must exceed log Q by this much, or z1 = α + e·k would leak k (privacy loss 2^(log Q−ε))."""


# --- Shared by Π_enc, Π_aff-g and Π_log* -------------------------------------------------


def challenge_bound(params: SecurityParameters) -> int:
    """Q, the bound of the challenge e ← ±Q, after checking that ε leaves room for it."""
    if params.epsilon < CHALLENGE_BITS + _MIN_PRIVACY_BITS:
        raise InvalidParameters(
            f"ε = {params.epsilon} is too small for a {CHALLENGE_BITS}-bit challenge: the "
            "range proofs would reject honest provers or leak their witnesses"
        )
    return 1 << CHALLENGE_BITS


class Statement(Protocol):
    """What the statements of Π_enc, Π_aff-g and Π_log* share: their structural checks."""

    def validate(self, setup: RingPedersenParameters, params: SecurityParameters) -> None:
        """Raises :class:`InvalidProof` unless the statement is well formed."""


def prover_challenge_bound(
    statement: Statement, setup: RingPedersenParameters, params: SecurityParameters
) -> int:
    """Q, as :func:`challenge_bound` gives it, once the prover has checked its statement.

    A statement that the verifier would refuse is the caller's error rather than a bad
    proof, so the prover raises it as :class:`InvalidParameters`.
    """
    bound = challenge_bound(params)
    try:
        statement.validate(setup, params)
    except InvalidProof as exc:
        raise InvalidParameters(str(exc)) from exc
    return bound


def sample_signed(bound: int, rng: Rng) -> int:
    """Uniform in ±bound = [−bound, bound], for masks such as γ ← ±2^(ℓ+ε)·N̂."""
    return random_below(2 * bound + 1, rng) - bound


def bind_setup(
    transcript: Transcript, label: bytes, setup: RingPedersenParameters, params: SecurityParameters
) -> None:
    """Absorb the proof's name, the sizes and the verifier's ring-Pedersen parameters.

    The name keeps a transcript of one proof from being replayed as another; the sizes
    keep a prover and a verifier with different parameters from agreeing on a challenge.
    """
    transcript.append_bytes(b"proof", label)
    transcript.append_ints(b"sizes", (params.ell, params.ell_prime, params.epsilon, CHALLENGE_BITS))
    transcript.append_ints(b"ring-pedersen", (setup.n, setup.s, setup.t))


def require(condition: bool, message: str) -> None:
    """Raise :class:`InvalidProof` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise InvalidProof(message)


def is_int(value: object) -> bool:
    """A plain Python int (not a bool, not an mpz): what every proof field must be."""
    return type(value) is int


def in_signed_range(value: int, bits: int) -> bool:
    """``value ∈ ±2^bits``, i.e. −2^bits ≤ value ≤ 2^bits."""
    return is_int(value) and abs(value) <= 1 << bits


def is_unit(value: int, n: int) -> bool:
    """``value ∈ Z*_n``: in [1, n) and coprime to n."""
    return is_int(value) and 0 < value < n and gcd(value, n) == 1


def is_ciphertext(key: PaillierPublicKey, value: int) -> bool:
    """``value ∈ Z*_{N²}``: a ciphertext that can be raised to negative powers."""
    return is_int(value) and key.is_ciphertext(value)


def is_point(value: object) -> bool:
    """A secp256k1 point other than the identity (libsecp256k1 keeps only points on the curve)."""
    return isinstance(value, Secp256k1Element) and not value.is_identity()


def plaintext_room(key: PaillierPublicKey, bits: int) -> bool:
    """2^bits < N/2: the range ±2^bits fits the signed plaintexts (−N/2, N/2] without wrapping.

    The figures assume it implicitly; without it a "range" statement about a plaintext
    modulo N means nothing.
    """
    return 1 << (bits + 1) < key.n


def require_prover_nonce(key: PaillierPublicKey, rho: int, name: str) -> None:
    """The prover's own Paillier nonce must be a unit, or ρ^e for a negative e has no value."""
    if not is_unit(rho, key.n):
        raise InvalidParameters(f"the witness's {name} is not in Z*_N")


# --- Π_enc -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncStatement:
    """Public input of Π_enc: the prover's Paillier key N0 and the ciphertext K."""

    key0: PaillierPublicKey
    K: int

    def validate(self, setup: RingPedersenParameters, params: SecurityParameters) -> None:
        """Structural checks on the statement; raises :class:`InvalidProof`."""
        require(is_ciphertext(self.key0, self.K), "Π_enc: K is not a unit modulo N0²")
        require(
            plaintext_room(self.key0, params.ell + params.epsilon),
            "Π_enc: N0 is too small for plaintexts in ±2^(ℓ+ε)",
        )
        # A prover who knows the factorization of N̂ can open ring-Pedersen commitments to
        # anything, so the proof would be unsound: N̂ must be the verifier's, never N0.
        require(self.key0.n != setup.n, "Π_enc: N0 is the verifier's ring-Pedersen modulus")


@dataclass(frozen=True, slots=True, repr=False)
class EncWitness:
    """Secret input of Π_enc: k ∈ ±2^ℓ and ρ ∈ Z*_N0 with K = enc_N0(k; ρ)."""

    k: int
    rho: int

    def __repr__(self) -> str:
        return "EncWitness(<redacted>)"


@dataclass(frozen=True, slots=True)
class EncProof:
    """Fig. 14: commitments (S, A, C) and responses (z1, z2, z3)."""

    S: int
    A: int
    C: int
    z1: int
    z2: int
    z3: int


def _challenge(
    transcript: Transcript,
    statement: EncStatement,
    setup: RingPedersenParameters,
    params: SecurityParameters,
    bound: int,
    S: int,
    A: int,
    C: int,
) -> int:
    """Fig. 14, step 2 made non-interactive: e ← ±Q from the statement and commitments."""
    bind_setup(transcript, PROOF_LABEL, setup, params)
    transcript.append_int(b"N0", statement.key0.n)
    transcript.append_int(b"K", statement.K)
    transcript.append_ints(b"commitment", (S, A, C))
    return transcript.challenge_signed(b"e", bound)


def prove(
    statement: EncStatement,
    witness: EncWitness,
    setup: RingPedersenParameters,
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
) -> EncProof:
    """Prove that K encrypts a k in range, under the verifier's ring-Pedersen ``setup``.

    The prover does not check that k is in ±2^ℓ: the verifier's range check on z1 is what
    enforces the range, and a witness far outside it yields a proof that fails there.
    """
    # Parameters first: they decide every size below.
    bound = prover_challenge_bound(statement, setup, params)
    require_prover_nonce(statement.key0, witness.rho, "ρ")
    key0 = statement.key0
    n_hat = setup.n

    # Fig. 14, step 1: α ← ±2^(ℓ+ε), μ ← ±2^ℓ·N̂, r ← Z*_N0, γ ← ±2^(ℓ+ε)·N̂.
    alpha = random_signed(params.ell + params.epsilon, rng)
    mu = sample_signed((1 << params.ell) * n_hat, rng)
    r = random_unit(key0.n, rng)
    gamma = sample_signed((1 << (params.ell + params.epsilon)) * n_hat, rng)

    # S = s^k t^μ, A = (1 + N0)^α · r^N0 mod N0², C = s^α t^γ mod N̂.
    S = setup.commit_secret(witness.k, mu)
    A = key0.encrypt_with(alpha, r)
    C = setup.commit_secret(alpha, gamma)

    e = _challenge(transcript, statement, setup, params, bound, S, A, C)

    # Fig. 14, step 3: z1 = α + e·k, z2 = r·ρ^e mod N0, z3 = γ + e·μ.
    z1 = alpha + e * witness.k
    z2 = pow(witness.rho, e, key0.n) * r % key0.n
    z3 = gamma + e * mu
    return EncProof(S=S, A=A, C=C, z1=z1, z2=z2, z3=z3)


def verify(
    statement: EncStatement,
    proof: EncProof,
    setup: RingPedersenParameters,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
) -> None:
    """Fig. 14, verification; raises :class:`InvalidProof` unless every check passes."""
    # Parameters first, then the statement, then the proof's values, then arithmetic.
    bound = challenge_bound(params)
    statement.validate(setup, params)
    key0 = statement.key0
    n_hat = setup.n

    # Every value is checked for type and range before any exponentiation.
    require(is_unit(proof.S, n_hat), "Π_enc: S is not a unit modulo N̂")
    require(is_unit(proof.C, n_hat), "Π_enc: C is not a unit modulo N̂")
    require(is_ciphertext(key0, proof.A), "Π_enc: A is not a unit modulo N0²")
    require(is_unit(proof.z2, key0.n), "Π_enc: z2 is not in Z*_N0")
    # Fig. 14, range check: z1 ∈ ±2^(ℓ+ε).
    require(in_signed_range(proof.z1, params.ell + params.epsilon), "Π_enc: z1 out of range")
    # Not in the figure: an honest z3 = γ + e·μ lies in ±2^(ℓ+ε+1)·N̂ since log Q < ε;
    # the bound only caps the verifier's work on an absurdly long exponent.
    require(
        is_int(proof.z3) and abs(proof.z3) <= (1 << (params.ell + params.epsilon + 1)) * n_hat,
        "Π_enc: z3 out of range",
    )

    e = _challenge(transcript, statement, setup, params, bound, proof.S, proof.A, proof.C)

    # (1 + N0)^z1 · z2^N0 = A · K^e mod N0².
    lhs = key0.encrypt_with(proof.z1, proof.z2)
    rhs = key0.add(proof.A, key0.pow(statement.K, e))
    require(lhs == rhs, "Π_enc: enc(z1; z2) ≠ A·K^e")
    # s^z1 · t^z3 = C · S^e mod N̂.
    require(
        setup.commit(proof.z1, proof.z3) == proof.C * setup.power(proof.S, e) % n_hat,
        "Π_enc: s^z1·t^z3 ≠ C·S^e",
    )
