"""The Paillier cryptosystem on gmpy2 (Paillier 1999; CGGMP21 §2.2).

``enc(m; ρ) = (1 + N)^m · ρ^N mod N²``. Plaintexts are read as signed integers in
(−N/2, N/2], since the protocols encrypt small signed values and add them
homomorphically. Decryption uses the CRT over p² and q²: about four times faster than
working modulo N².

Secret exponents. ``gmpy2.powmod`` (GMP's ``mpz_powm``) chooses its windows and
reductions from the exponent's bits, so its time and memory accesses reveal a secret
exponent. Every exponentiation whose exponent is secret therefore runs on
``gmpy2.powmod_sec`` (GMP's ``mpz_powm_sec``, whose work depends only on the operands'
sizes): decryption (exponents p − 1 and q − 1), :meth:`PaillierSecretKey.randomness`
(N⁻¹ mod p − 1 and q − 1), and, through :func:`powmod_secret`,
:meth:`PaillierPublicKey.multiply_secret` for a secret scalar. Exponents that are public
(N in ``ρ^N``, a challenge e, a verifier's z1) stay on ``gmpy2.powmod``, which is faster:
a secret base (ρ) does not change the sequence of squarings and multiplications that
``mpz_powm`` performs. What remains is CPython's own integer arithmetic on secrets
(additions, products, ``%``) and ``gmpy2.invert``, whose time depends on the operands;
this module makes no claim beyond the exponentiations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import gmpy2

from mpc.ecdsa.errors import InvalidModulus, InvalidParameters
from mpc.group import Rng

mpz = gmpy2.mpz


def random_below(bound: int, rng: Rng = os.urandom) -> int:
    """Uniform in [0, bound), with 128 extra bits so the modular bias is negligible."""
    size = (bound.bit_length() + 7) // 8 + 16
    return int.from_bytes(rng(size), "big") % bound


def random_signed(bits: int, rng: Rng = os.urandom) -> int:
    """Uniform in the interval ±2^bits (CGGMP21's notation), as a Python int."""
    return random_below((1 << (bits + 1)) + 1, rng) - (1 << bits)


def random_unit(n: int, rng: Rng = os.urandom) -> int:
    """Uniform in Z*_N."""
    while True:
        candidate = random_below(n, rng)
        if candidate and gmpy2.gcd(candidate, n) == 1:
            return candidate


def powmod_secret(base: int, exponent: int, modulus: int) -> int:
    """``base^exponent mod modulus`` for a secret, signed ``exponent``, on ``powmod_sec``.

    ``powmod_sec`` needs an odd modulus and an exponent above zero, so this computes both
    ``base`` and its inverse and raises one of them to ``|exponent| + 1``, then multiplies
    by the other: ``b^e = b^(e+1) · b^-1`` for e ≥ 0 and ``(b^-1)^(|e|+1) · b`` for e < 0.
    The same operations run for a negative, zero or positive exponent; what an observer can
    still learn is the exponent's size in machine words. ``base`` must be a unit modulo
    ``modulus``, and public, as at every call (a ciphertext, ring-Pedersen s and t): its
    inverse comes from ``gmpy2.invert``, whose time depends on the base and the modulus.
    """
    if modulus < 3 or modulus % 2 == 0:
        raise InvalidParameters("a secret-exponent power needs an odd modulus")
    m = mpz(modulus)
    b = mpz(base) % m
    try:
        inverse = gmpy2.invert(b, m)
    except ZeroDivisionError:
        raise InvalidParameters("the base of a secret-exponent power is not a unit") from None
    negative = int(exponent < 0)
    raised, other = (b, inverse)[negative], (inverse, b)[negative]
    return int(gmpy2.powmod_sec(raised, mpz(abs(exponent)) + 1, m) * other % m)


def to_signed(value: int, modulus: int) -> int:
    """The representative of ``value`` mod ``modulus`` in (−modulus/2, modulus/2]."""
    value %= modulus
    return value - modulus if value > modulus // 2 else value


@dataclass(frozen=True, slots=True)
class PaillierPublicKey:
    n: int
    n2: int = field(init=False, repr=False, compare=False)
    _n_mpz: Any = field(init=False, repr=False, compare=False)
    _n2_mpz: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.n < 3 or self.n % 2 == 0:
            raise InvalidModulus("a Paillier modulus is an odd composite")
        object.__setattr__(self, "n2", self.n * self.n)
        object.__setattr__(self, "_n_mpz", mpz(self.n))
        object.__setattr__(self, "_n2_mpz", mpz(self.n) * mpz(self.n))

    def encrypt_with(self, message: int, rho: int) -> int:
        """``(1 + N)^m · ρ^N mod N²``, with (1 + N)^m = 1 + m·N mod N²."""
        if not 0 < rho < self.n:
            raise InvalidParameters("Paillier randomness must be in Z*_N")
        n, n2 = self._n_mpz, self._n2_mpz
        head = (1 + (mpz(message) % n) * n) % n2
        return int(head * gmpy2.powmod(mpz(rho), n, n2) % n2)

    def encrypt(self, message: int, rng: Rng = os.urandom) -> tuple[int, int]:
        """A fresh encryption of ``message`` and its randomness ρ."""
        rho = random_unit(self.n, rng)
        return self.encrypt_with(message, rho), rho

    def add(self, a: int, b: int) -> int:
        """Homomorphic addition: enc(m1) ⊕ enc(m2) = enc(m1 + m2)."""
        return int(mpz(a) * mpz(b) % self._n2_mpz)

    def multiply(self, ciphertext: int, scalar: int) -> int:
        """Homomorphic scaling: k ⊙ enc(m) = enc(k·m) for a PUBLIC ``scalar`` (may be < 0).

        Its time depends on the scalar's bits: a secret scalar (a party's γ_i, its key
        share, a prover's mask) goes through :meth:`multiply_secret`.
        """
        return int(gmpy2.powmod(mpz(ciphertext), mpz(scalar), self._n2_mpz))

    def multiply_secret(self, ciphertext: int, scalar: int) -> int:
        """k ⊙ enc(m) for a SECRET ``scalar`` (may be negative), on ``powmod_sec``.

        ``ciphertext`` must be a unit modulo N², as every valid ciphertext is.
        """
        return powmod_secret(ciphertext, scalar, self.n2)

    def is_ciphertext(self, value: int) -> bool:
        """A valid ciphertext is a unit modulo N²."""
        return 0 < value < self.n2 and gmpy2.gcd(value, self.n) == 1

    def pow(self, base: int, exponent: int) -> int:
        """``base^exponent mod N²`` for a PUBLIC exponent (negative through the inverse)."""
        return int(gmpy2.powmod(mpz(base), mpz(exponent), self._n2_mpz))


@dataclass(frozen=True, slots=True, repr=False)
class PaillierSecretKey:
    """The factorization of N: secret. Decrypts with the CRT."""

    p: int
    q: int
    public_key: PaillierPublicKey = field(init=False)
    phi: int = field(init=False)
    _crt: tuple[Any, ...] = field(init=False, compare=False)
    _nth_root: tuple[Any, Any] | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if self.p == self.q:
            raise InvalidModulus("the two Paillier primes must differ")
        n = self.p * self.q
        object.__setattr__(self, "public_key", PaillierPublicKey(n))
        object.__setattr__(self, "phi", (self.p - 1) * (self.q - 1))
        p, q = mpz(self.p), mpz(self.q)
        p2, q2 = p * p, q * q
        # h_p = L_p(g^(p-1) mod p²)^(-1) mod p with g = 1 + N, and likewise for q. Since
        # (1 + N)^k = 1 + k·N (mod N²), g^(p-1) needs no exponentiation with the secret p − 1.
        hp = gmpy2.invert(((1 + (p - 1) * n) % p2 - 1) // p, p)
        hq = gmpy2.invert(((1 + (q - 1) * n) % q2 - 1) // q, q)
        object.__setattr__(self, "_crt", (p, q, p2, q2, hp, hq, gmpy2.invert(p, q)))
        # N-th roots modulo p and q, for randomness(): N⁻¹ mod p − 1 and mod q − 1. Computed
        # once here rather than at every call; they exist only when gcd(N, φ(N)) = 1.
        try:
            roots = (gmpy2.invert(n, p - 1), gmpy2.invert(n, q - 1))
        except ZeroDivisionError:
            object.__setattr__(self, "_nth_root", None)
        else:
            object.__setattr__(self, "_nth_root", roots)

    def __repr__(self) -> str:
        return f"PaillierSecretKey(n_bits={self.public_key.n.bit_length()}, <redacted>)"

    def decrypt(self, ciphertext: int) -> int:
        """The plaintext as a signed integer in (−N/2, N/2]."""
        if not self.public_key.is_ciphertext(ciphertext):
            raise InvalidParameters("not a Paillier ciphertext under this key")
        p, q, p2, q2, hp, hq, p_inv_q = self._crt
        c = mpz(ciphertext)
        # The exponents p − 1 and q − 1 are the secret key itself: powmod_sec.
        mp = (gmpy2.powmod_sec(c % p2, p - 1, p2) - 1) // p * hp % p
        mq = (gmpy2.powmod_sec(c % q2, q - 1, q2) - 1) // q * hq % q
        # Garner's recombination: m = mp + p·((mq − mp)·p⁻¹ mod q).
        m = mp + p * ((mq - mp) * p_inv_q % q)
        return to_signed(int(m), self.public_key.n)

    def randomness(self, ciphertext: int) -> int:
        """The ρ with ``ciphertext = enc(dec(ciphertext); ρ)``: needs the factorization."""
        if self._nth_root is None:
            raise InvalidModulus("N-th roots need gcd(N, φ(N)) = 1")
        n = mpz(self.public_key.n)
        m = self.decrypt(ciphertext)
        # (1 + N)^(−m) = 1 − m·N (mod N²): no exponentiation with the secret plaintext m.
        unmasked = mpz(ciphertext) * ((1 - (m % n) * n) % (n * n)) % (n * n)
        # unmasked = ρ^N mod N²; reduce mod N and take the N-th root modulo p and q with
        # the secret exponents N⁻¹ mod p − 1 and q − 1 (powmod_sec), then join by the CRT.
        p, q, _, _, _, _, p_inv_q = self._crt
        root_p, root_q = self._nth_root
        u = unmasked % n
        rp = gmpy2.powmod_sec(u % p, root_p, p)
        rq = gmpy2.powmod_sec(u % q, root_q, q)
        return int(rp + p * ((rq - rp) * p_inv_q % q))


def paillier_keypair(p: int, q: int) -> tuple[PaillierSecretKey, PaillierPublicKey]:
    secret = PaillierSecretKey(p, q)
    return secret, secret.public_key
