"""Π_mod: N is a Paillier–Blum modulus (CGGMP21, ePrint 2021/060, Fig. 16).

The statement is N = p·q with p ≡ q ≡ 3 (mod 4) and gcd(N, φ(N)) = 1. The prover sends
a w with Jacobi symbol (w/N) = −1; for each of m challenges y_i ← Z_N it answers with an
N-th root z_i of y_i, and a fourth root x_i of y'_i = (−1)^a_i · w^b_i · y_i. Every y_i
has an N-th root only if gcd(N, φ(N)) = 1; one of ±y_i, ±w·y_i is a fourth power for every
y_i only if N is a Blum integer with two prime factors. A cheater answers each challenge
with probability at most 1/2, so m = 128 repetitions leave 2^-128.

Hardening beyond the figure, as in the reference implementations: the verifier rejects an
even or prime N first (for a prime N ≡ 3 mod 4 every equation of the figure can be
satisfied), requires (w/N) = −1, requires exactly ``params.iterations`` answers (a proof
with fewer is the TSSHOCK class of attacks) and checks every value is in range before any
arithmetic.

The prover's root exponents (N⁻¹ and ((p+1)/4)² modulo p − 1 and q − 1) are functions of
the factorization, so it raises to them on ``gmpy2.powmod_sec``; the verifier's exponents
(N and 4) are public and stay on ``gmpy2.powmod``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gmpy2

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import PaillierSecretKey, random_unit
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.transcript import Transcript
from mpc.group import Rng

mpz = gmpy2.mpz

PROOF_LABEL = b"cggmp21/pi-mod/v1"


@dataclass(frozen=True, slots=True)
class ModResponse:
    """One repetition: x_i^4 = (−1)^a · w^b · y_i and z_i^N = y_i (mod N)."""

    x: int
    a: bool
    b: bool
    z: int


@dataclass(frozen=True, slots=True)
class ModProof:
    """The non-interactive proof: the non-residue w and one response per challenge."""

    w: int
    responses: tuple[ModResponse, ...]


def _bind(transcript: Transcript, n: int, w: int, iterations: int) -> list[int]:
    """Fig. 16, step 2 made non-interactive: the challenges y_i ← Z_N from the transcript.

    The statement, the prover's first message and the repetition count are absorbed first,
    so the challenges depend on all of them.
    """
    transcript.append_bytes(b"proof", PROOF_LABEL)
    transcript.append_int(b"N", n)
    transcript.append_int(b"m", iterations)
    transcript.append_int(b"w", w)
    return [transcript.challenge_below(b"y", n) for _ in range(iterations)]


def _crt(xp: int, xq: int, p: int, q: int, p_inv_q: int) -> int:
    """Garner: the x mod p·q with x ≡ xp (mod p) and x ≡ xq (mod q)."""
    return int(xp + p * ((xq - xp) * p_inv_q % q))


def _factors(secret: PaillierSecretKey | tuple[int, int]) -> tuple[int, int]:
    if isinstance(secret, PaillierSecretKey):
        return secret.p, secret.q
    return secret


def prove(
    secret: PaillierSecretKey | tuple[int, int],
    transcript: Transcript,
    rng: Rng = os.urandom,
    *,
    params: SecurityParameters = PRODUCTION,
) -> ModProof:
    """Prove that N = p·q is a Paillier–Blum modulus; ``transcript`` binds the session."""
    p, q = _factors(secret)
    n = p * q
    phi = (p - 1) * (q - 1)
    # An honest prover checks its own statement: a proof for a bad modulus is wasted work
    # and, for p ≡ 1 (mod 4), the fourth roots below would be wrong anyway.
    if p == q or p % 4 != 3 or q % 4 != 3:
        raise InvalidParameters("Π_mod needs two distinct primes ≡ 3 (mod 4)")
    if gmpy2.gcd(n, phi) != 1:
        raise InvalidParameters("Π_mod needs gcd(N, φ(N)) = 1")

    # Fig. 16, step 1: a w with Jacobi symbol −1, i.e. a non-residue modulo exactly one of
    # p and q. With −1 a non-residue modulo both, exactly one of ±y, ±w·y is then a square
    # modulo p and modulo q.
    while True:
        w = random_unit(n, rng)
        if gmpy2.jacobi(w, n) == -1:
            break

    ys = _bind(transcript, n, w, params.iterations)

    mp, mq = mpz(p), mpz(q)
    p_inv_q = int(gmpy2.invert(mp, mq))
    # N-th roots: exponent N⁻¹ modulo p − 1 and q − 1 (CRT), valid since gcd(N, φ(N)) = 1.
    nth_p = gmpy2.invert(n, p - 1)
    nth_q = gmpy2.invert(n, q - 1)
    # Fourth roots: for p ≡ 3 (mod 4) the square root a^((p+1)/4) of a square a is itself a
    # square, so applying it twice gives a fourth root: exponent ((p+1)/4)² mod (p − 1).
    # (A squaring, not a power: p − 1 is even, and only the exponent 2 is involved.)
    fourth_p = (p + 1) // 4 * ((p + 1) // 4) % (p - 1)
    fourth_q = (q + 1) // 4 * ((q + 1) // 4) % (q - 1)

    responses = []
    for y in ys:
        if gmpy2.gcd(y, n) != 1:
            # Probability about 2^-1000; answering would reveal a factor of N.
            raise InvalidParameters("a Π_mod challenge shares a factor with N")
        # The exponents are secret and positive, the moduli odd primes: powmod_sec.
        z = _crt(
            int(gmpy2.powmod_sec(y % mp, nth_p, mp)),
            int(gmpy2.powmod_sec(y % mq, nth_q, mq)),
            p,
            q,
            p_inv_q,
        )
        # Fig. 16, step 3: the unique (a, b) making y' = (−1)^a · w^b · y a square mod p and q.
        for a, b in ((False, False), (True, False), (False, True), (True, True)):
            y_prime = (-y if a else y) * (w if b else 1) % n
            if gmpy2.legendre(y_prime, mp) == 1 and gmpy2.legendre(y_prime, mq) == 1:
                break
        else:  # pragma: no cover - impossible for a Blum integer and (w/N) = −1
            raise InvalidParameters("no square among ±y, ±w·y: N is not a Blum integer")
        x = _crt(
            int(gmpy2.powmod_sec(y_prime % mp, fourth_p, mp)),
            int(gmpy2.powmod_sec(y_prime % mq, fourth_q, mq)),
            p,
            q,
            p_inv_q,
        )
        responses.append(ModResponse(x=x, a=a, b=b, z=z))
    return ModProof(w=w, responses=tuple(responses))


def verify(
    n: int,
    proof: ModProof,
    transcript: Transcript,
    *,
    params: SecurityParameters = PRODUCTION,
) -> None:
    """Fig. 16, verification; raises :class:`InvalidProof` unless N is Paillier–Blum."""
    # Statement checks first: the figure's equations hold for a prime N ≡ 3 (mod 4), so the
    # proof only means something for an odd composite.
    if type(n) is not int or n < 3 or n % 2 == 0:
        raise InvalidProof("Π_mod: N must be an odd integer greater than 2")
    if gmpy2.is_prime(n, 50):
        raise InvalidProof("Π_mod: N is prime")
    # Counts before arithmetic: the number of repetitions is the verifier's, never the
    # proof's (a short proof is the TSSHOCK class of attacks).
    if len(proof.responses) != params.iterations:
        raise InvalidProof(
            f"Π_mod: {len(proof.responses)} repetitions, expected {params.iterations}"
        )
    w = proof.w
    if type(w) is not int or not 0 < w < n or gmpy2.jacobi(w, n) != -1:
        raise InvalidProof("Π_mod: w must be in Z_N with Jacobi symbol −1")
    for response in proof.responses:
        if type(response.a) is not bool or type(response.b) is not bool:
            raise InvalidProof("Π_mod: a and b must be bits")
        for value in (response.x, response.z):
            if type(value) is not int or not 0 < value < n:
                raise InvalidProof("Π_mod: x and z must be in Z_N")

    ys = _bind(transcript, n, w, params.iterations)
    mn = mpz(n)
    for index, (y, response) in enumerate(zip(ys, proof.responses, strict=True)):
        if gmpy2.powmod(response.z, mn, mn) != y:
            raise InvalidProof(f"Π_mod: z^N ≠ y in repetition {index}")
        expected = (-y if response.a else y) * (w if response.b else 1) % n
        if gmpy2.powmod(response.x, 4, mn) != expected:
            raise InvalidProof(f"Π_mod: x^4 ≠ (−1)^a·w^b·y in repetition {index}")
