"""Safe primes for Paillier–Blum moduli, from OpenSSL's generator.

A naive Python search for a 1536-bit safe prime takes minutes; OpenSSL's (through the
``cryptography`` package's Diffie-Hellman parameter generation) takes seconds. A safe
prime p = 2p' + 1 with p' odd is ≡ 3 (mod 4), so a product of two is a Blum integer.
"""

from __future__ import annotations

import warnings

import gmpy2
from cryptography.hazmat.primitives.asymmetric import dh

from mpc.ecdsa.errors import InvalidParameters


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


def is_safe_prime(p: int) -> bool:
    """p and (p - 1) / 2 both prime (Miller–Rabin with gmpy2, 50 rounds)."""
    return bool(gmpy2.is_prime(p, 50)) and bool(gmpy2.is_prime((p - 1) // 2, 50))
