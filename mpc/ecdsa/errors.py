"""Errors of threshold ECDSA; protocol errors name the culprit parties (identifiable abort)."""

from __future__ import annotations

from collections.abc import Iterable

from mpc.errors import InvalidSignature as MpcInvalidSignature
from mpc.errors import MpcError


class EcdsaError(MpcError):
    """Base class; ``culprits`` are the party identifiers at fault (strings), if any."""

    def __init__(self, message: str, culprits: Iterable[str] = ()) -> None:
        self.culprits: tuple[str, ...] = tuple(culprits)
        if self.culprits:
            message = f"{message} (culprits: {', '.join(self.culprits)})"
        super().__init__(message)


class InvalidParameters(EcdsaError):
    """Sizes, counts or identifiers the protocol cannot run with."""


class InvalidModulus(EcdsaError):
    """A Paillier or ring-Pedersen modulus that is too small, even, prime or reused."""


class InvalidRingPedersen(EcdsaError):
    """Ring-Pedersen parameters that are equal, of low order or not units."""


class InvalidProof(EcdsaError):
    """A zero-knowledge proof that does not verify."""


class ConsistencyCheckFailed(EcdsaError):
    """A protocol check between parties' messages failed (e.g. g^δ ≠ ∏Δ_j)."""


class ChiCheckFailed(ConsistencyCheckFailed):
    """ΣS_i ≠ X in signing: every share passed its own check, so the shares alone name
    nobody. Carries nothing secret; callers run the χ identification
    (:func:`mpc.ecdsa.identify.prove_chi`, :func:`mpc.ecdsa.identify.identify_chi_culprits`)
    to name the cheater."""


class PresignatureReuse(EcdsaError):
    """A presignature used a second time; reuse would reveal the key."""


class InvalidSignature(EcdsaError, MpcInvalidSignature):
    """An assembled ECDSA signature that does not verify: an ECDSA error (culprits, if
    any) that ``except mpc.errors.InvalidSignature`` also catches, like FROST's."""
