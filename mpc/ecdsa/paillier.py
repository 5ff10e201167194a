"""The Paillier cryptosystem on gmpy2 (Paillier 1999; CGGMP21 §2.2).

``enc(m; ρ) = (1 + N)^m · ρ^N mod N²``. Plaintexts are read as signed integers in
(−N/2, N/2], since the protocols encrypt small signed values and add them
homomorphically. Decryption uses the CRT over p² and q²: about four times faster than
working modulo N².
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
        """Homomorphic scaling: k ⊙ enc(m) = enc(k·m); ``scalar`` may be negative."""
        return int(gmpy2.powmod(mpz(ciphertext), mpz(scalar), self._n2_mpz))

    def is_ciphertext(self, value: int) -> bool:
        """A valid ciphertext is a unit modulo N²."""
        return 0 < value < self.n2 and gmpy2.gcd(value, self.n) == 1

    def pow(self, base: int, exponent: int) -> int:
        """``base^exponent mod N²`` (negative exponents through the inverse)."""
        return int(gmpy2.powmod(mpz(base), mpz(exponent), self._n2_mpz))


@dataclass(frozen=True, slots=True, repr=False)
class PaillierSecretKey:
    """The factorization of N: secret. Decrypts with the CRT."""

    p: int
    q: int
    public_key: PaillierPublicKey = field(init=False)
    phi: int = field(init=False)
    _crt: tuple[Any, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if self.p == self.q:
            raise InvalidModulus("the two Paillier primes must differ")
        n = self.p * self.q
        object.__setattr__(self, "public_key", PaillierPublicKey(n))
        object.__setattr__(self, "phi", (self.p - 1) * (self.q - 1))
        p, q = mpz(self.p), mpz(self.q)
        p2, q2 = p * p, q * q
        g = mpz(n) + 1
        # h_p = L_p(g^(p-1) mod p²)^(-1) mod p, and likewise for q.
        hp = gmpy2.invert((gmpy2.powmod(g, p - 1, p2) - 1) // p, p)
        hq = gmpy2.invert((gmpy2.powmod(g, q - 1, q2) - 1) // q, q)
        object.__setattr__(self, "_crt", (p, q, p2, q2, hp, hq, gmpy2.invert(p, q)))

    def __repr__(self) -> str:
        return f"PaillierSecretKey(n_bits={self.public_key.n.bit_length()}, <redacted>)"

    def decrypt(self, ciphertext: int) -> int:
        """The plaintext as a signed integer in (−N/2, N/2]."""
        if not self.public_key.is_ciphertext(ciphertext):
            raise InvalidParameters("not a Paillier ciphertext under this key")
        p, q, p2, q2, hp, hq, p_inv_q = self._crt
        c = mpz(ciphertext)
        mp = (gmpy2.powmod(c, p - 1, p2) - 1) // p * hp % p
        mq = (gmpy2.powmod(c, q - 1, q2) - 1) // q * hq % q
        # Garner's recombination: m = mp + p·((mq − mp)·p⁻¹ mod q).
        m = mp + p * ((mq - mp) * p_inv_q % q)
        return to_signed(int(m), self.public_key.n)

    def randomness(self, ciphertext: int) -> int:
        """The ρ with ``ciphertext = enc(dec(ciphertext); ρ)``: needs the factorization."""
        n = mpz(self.public_key.n)
        m = self.decrypt(ciphertext)
        unmasked = mpz(ciphertext) * gmpy2.powmod(1 + n, -m, n * n) % (n * n)
        # unmasked = ρ^N mod N²; reduce mod N and take the N-th root with N⁻¹ mod φ(N).
        return int(gmpy2.powmod(unmasked % n, gmpy2.invert(n, self.phi), n))


def paillier_keypair(p: int, q: int) -> tuple[PaillierSecretKey, PaillierPublicKey]:
    secret = PaillierSecretKey(p, q)
    return secret, secret.public_key
