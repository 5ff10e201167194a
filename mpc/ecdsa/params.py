"""Security parameters (CGGMP21 §6, parameters for 128-bit security).

ε = 230, ℓ = 256, ℓ' = 848 and m = 128 repetitions for the binary-challenge proofs, with
Paillier moduli of at least 3072 bits; 2048 bits is a configurable, weaker option (and
what the fast tests use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mpc.ecdsa.errors import InvalidParameters
from mpc.group.secp256k1 import ORDER as Q


@dataclass(frozen=True, slots=True)
class SecurityParameters:
    """The sizes every party must agree on before exchanging auxiliary information."""

    modulus_bits: int = 3072
    ell: int = 256
    ell_prime: int = 848
    epsilon: int = 230
    iterations: int = 128

    def __post_init__(self) -> None:
        if self.modulus_bits < 2048 or self.modulus_bits % 2:
            raise InvalidParameters("Paillier moduli are at least 2048 bits, and even-sized")
        if self.iterations < 80:
            raise InvalidParameters("binary-challenge proofs need at least 80 repetitions")
        if self.ell < Q.bit_length():
            raise InvalidParameters("ℓ must cover the group order")

    @property
    def prime_bits(self) -> int:
        return self.modulus_bits // 2


PRODUCTION: Final = SecurityParameters()
FAST_TESTS: Final = SecurityParameters(modulus_bits=2048)
