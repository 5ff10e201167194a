"""Prime-order groups behind one Group/Scalar/Element interface (RFC 9591 §3.1)."""

from mpc.group.base import DEFAULT_RNG, Element, Group, Rng, Scalar
from mpc.group.ed25519 import ED25519, Ed25519Element, Ed25519Group
from mpc.group.errors import (
    GroupError,
    InvalidIdentityElement,
    MalformedElement,
    MalformedScalar,
    ZeroScalar,
)
from mpc.group.secp256k1 import SECP256K1, Secp256k1Element, Secp256k1Group

__all__ = [
    "DEFAULT_RNG",
    "ED25519",
    "SECP256K1",
    "Ed25519Element",
    "Ed25519Group",
    "Element",
    "Group",
    "GroupError",
    "InvalidIdentityElement",
    "MalformedElement",
    "MalformedScalar",
    "Rng",
    "Scalar",
    "Secp256k1Element",
    "Secp256k1Group",
    "ZeroScalar",
]
