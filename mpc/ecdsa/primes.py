"""Safe primes for Paillier–Blum moduli, from OpenSSL's generator.

A naive Python search for a 1536-bit safe prime takes minutes; OpenSSL's (through the
``cryptography`` package's Diffie-Hellman parameter generation) takes seconds. A safe
prime p = 2p' + 1 with p' odd is ≡ 3 (mod 4), so a product of two is a Blum integer.
"""

from __future__ import annotations

import os
import warnings

import gmpy2
from cryptography.hazmat.primitives.asymmetric import dh

from mpc.ecdsa.errors import InvalidParameters
from mpc.ecdsa.paillier import random_below
from mpc.group import Rng


def generate_safe_prime(bits: int) -> int:
    """A random safe prime of exactly ``bits`` bits (OpenSSL's BN_generate_prime_ex)."""
    if bits < 512:
        raise InvalidParameters("safe primes for Paillier are at least 512 bits")
    with warnings.catch_warnings():
        # FFDH is deprecated as a key exchange; we use only its safe-prime generator.
        warnings.simplefilter("ignore")
        parameters = dh.generate_parameters(generator=2, key_size=bits)
    p = int(parameters.parameter_numbers().p)
    if not is_safe_prime(p) or p.bit_length() != bits:
        raise InvalidParameters("OpenSSL returned a number that is not a safe prime")
    return p


def is_safe_prime(p: int, rng: Rng = os.urandom) -> bool:
    """p and (p - 1) / 2 both prime: Miller–Rabin, 50 random bases each.

    The candidates are the secret factors of a Paillier modulus, and Miller–Rabin raises a
    base to (n − 1)/2^s, an exponent that gives n away: so it runs on ``gmpy2.powmod_sec``
    rather than ``gmpy2.is_prime`` (GMP's test exponentiates in variable time), and every
    round does all its squarings whatever it finds (no early exit that would time the
    order of the base). Only 2-adic valuation of n − 1 (a few low bits, public for a
    Blum prime anyway) shapes the work."""
    if p < 7 or p % 4 != 3:
        return False
    return _probably_prime_secret(p, 50, rng) and _probably_prime_secret((p - 1) // 2, 50, rng)


def _probably_prime_secret(n: int, rounds: int, rng: Rng) -> bool:
    """Miller–Rabin with secret-exponent exponentiations; error below 4^-rounds."""
    if n < 5 or n % 2 == 0:
        return n in (2, 3)
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    composite = False
    for _ in range(rounds):
        base = 2 + random_below(n - 3, rng)
        x = int(gmpy2.powmod_sec(base, d, n))
        passes = x in (1, n - 1)
        for _ in range(s - 1):
            x = x * x % n
            passes = passes or x == n - 1
        composite = composite or not passes
    return not composite
