"""Security parameters (CGGMP21 §6, parameters for 128-bit security).

ε = 230, ℓ = 256, ℓ' = 848 and m = 128 repetitions for the binary-challenge proofs, with
Paillier moduli of at least 3072 bits. :class:`SecurityParameters` refuses anything
weaker: a smaller modulus or fewer repetitions exist only through
:meth:`SecurityParameters.unsafe_for_tests`, which is what ``FAST_TESTS`` (2048-bit
moduli) is built with.

Weak parameters cannot leak into a production check either: every verifier takes its own
parameters and holds the other side to them (aux_info refuses a modulus shorter than
``modulus_bits``, Π_mod and Π_prm demand exactly ``iterations`` repetitions, the range
proofs bind ℓ, ℓ' and ε into their transcripts), so a party running ``PRODUCTION``
rejects moduli and proofs made with ``FAST_TESTS``.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Final

from mpc.ecdsa.errors import InvalidParameters
from mpc.group.secp256k1 import ORDER as Q

MIN_MODULUS_BITS: Final = 3072
"""Paillier and ring-Pedersen moduli below this are refused outside tests."""

MIN_ITERATIONS: Final = 128
"""Binary-challenge proofs (Π_mod, Π_prm) with fewer repetitions are refused outside tests."""

MIN_ELL: Final = 256
MIN_ELL_PRIME: Final = 848
MIN_EPSILON: Final = 230
"""CGGMP21's ℓ, ℓ' and ε: smaller ranges or slack break the range proofs' privacy or the
MtA masks, so they too are minimums outside tests."""

UNSAFE_MIN_MODULUS_BITS: Final = 2048
UNSAFE_MIN_ITERATIONS: Final = 80
"""Even :meth:`SecurityParameters.unsafe_for_tests` goes no lower than these."""


class _UnsafeForTests:
    """The private token :meth:`SecurityParameters.unsafe_for_tests` passes; nothing else."""

    __slots__ = ()


_UNSAFE_FOR_TESTS: Final = _UnsafeForTests()


@dataclass(frozen=True, slots=True, repr=False)
class SecurityParameters:
    """The sizes every party must agree on before exchanging auxiliary information.

    Built directly, the parameters must be at least CGGMP21's 128-bit ones (a 3072-bit
    modulus, 128 repetitions, ℓ = 256, ℓ' = 848, ε = 230); larger values are accepted.
    """

    modulus_bits: int = MIN_MODULUS_BITS
    ell: int = MIN_ELL
    ell_prime: int = MIN_ELL_PRIME
    epsilon: int = MIN_EPSILON
    iterations: int = MIN_ITERATIONS
    _unsafe: InitVar[_UnsafeForTests | None] = field(default=None, kw_only=True)

    def __post_init__(self, _unsafe: _UnsafeForTests | None) -> None:
        for name in ("modulus_bits", "ell", "ell_prime", "epsilon", "iterations"):
            if type(getattr(self, name)) is not int:
                raise InvalidParameters(f"{name} must be an int")
        if self.modulus_bits % 2:
            raise InvalidParameters("Paillier moduli are even-sized (two primes of equal size)")
        if self.ell < Q.bit_length():
            raise InvalidParameters("ℓ must cover the group order")
        if _unsafe is _UNSAFE_FOR_TESTS:
            if self.modulus_bits < UNSAFE_MIN_MODULUS_BITS:
                raise InvalidParameters(
                    f"even tests use Paillier moduli of at least {UNSAFE_MIN_MODULUS_BITS} bits"
                )
            if self.iterations < UNSAFE_MIN_ITERATIONS:
                raise InvalidParameters(
                    f"even tests use at least {UNSAFE_MIN_ITERATIONS} proof repetitions"
                )
            return
        if _unsafe is not None:
            raise InvalidParameters("weaker parameters come only from unsafe_for_tests()")
        if self.modulus_bits < MIN_MODULUS_BITS:
            raise InvalidParameters(
                f"Paillier moduli are at least {MIN_MODULUS_BITS} bits, not {self.modulus_bits} "
                "(tests: SecurityParameters.unsafe_for_tests)"
            )
        if self.iterations < MIN_ITERATIONS:
            raise InvalidParameters(
                f"binary-challenge proofs need at least {MIN_ITERATIONS} repetitions, "
                f"not {self.iterations}"
            )
        for name, minimum in (
            ("ell", MIN_ELL),
            ("ell_prime", MIN_ELL_PRIME),
            ("epsilon", MIN_EPSILON),
        ):
            if getattr(self, name) < minimum:
                raise InvalidParameters(f"{name} is at least {minimum}")

    @classmethod
    def unsafe_for_tests(
        cls,
        *,
        modulus_bits: int = MIN_MODULUS_BITS,
        ell: int = MIN_ELL,
        ell_prime: int = MIN_ELL_PRIME,
        epsilon: int = MIN_EPSILON,
        iterations: int = MIN_ITERATIONS,
    ) -> SecurityParameters:
        """Parameters below the production minimums, for tests and benchmarks ONLY.

        Down to 2048-bit moduli and 80 repetitions, and any ℓ, ℓ', ε (the proofs check
        their own constraints on those). Never for keys that protect anything: a party
        with these parameters accepts other parties' weak moduli and short proofs.
        """
        return cls(
            modulus_bits=modulus_bits,
            ell=ell,
            ell_prime=ell_prime,
            epsilon=epsilon,
            iterations=iterations,
            _unsafe=_UNSAFE_FOR_TESTS,
        )

    def __repr__(self) -> str:
        values = ", ".join(
            f"{name}={getattr(self, name)}"
            for name in ("modulus_bits", "ell", "ell_prime", "epsilon", "iterations")
        )
        if self.is_production_strength:
            return f"SecurityParameters({values})"
        return f"SecurityParameters.unsafe_for_tests({values})"

    @property
    def prime_bits(self) -> int:
        return self.modulus_bits // 2

    @property
    def is_production_strength(self) -> bool:
        """Whether these parameters meet the minimums the plain constructor enforces."""
        return (
            self.modulus_bits >= MIN_MODULUS_BITS
            and self.iterations >= MIN_ITERATIONS
            and self.ell >= MIN_ELL
            and self.ell_prime >= MIN_ELL_PRIME
            and self.epsilon >= MIN_EPSILON
        )


PRODUCTION: Final = SecurityParameters()
FAST_TESTS: Final = SecurityParameters.unsafe_for_tests(modulus_bits=2048)
"""CGGMP21's sizes with 2048-bit moduli: for tests and benchmarks only."""
