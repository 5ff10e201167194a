"""A Schnorr signature ``(R, z)`` as FROST produces it (RFC 9591 §5.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mpc.group import Element, Scalar

if TYPE_CHECKING:
    from mpc.frost.ciphersuite import Ciphersuite


@dataclass(frozen=True, slots=True)
class Signature:
    """The group commitment ``R`` and the response ``z``; public."""

    ciphersuite: Ciphersuite
    R: Element
    z: Scalar

    def to_bytes(self) -> bytes:
        """The ciphersuite's signature encoding (64 bytes for Ed25519 and BIP340)."""
        return self.ciphersuite.serialize_signature(self)
