"""ECDSA signatures over secp256k1: assembly, low-s normalization, recovery id, verification.

A threshold signature is ``(r, s)`` with ``r = x(R) mod q``; Ethereum and Bitcoin accept
only ``s ≤ q/2`` (EIP-2, BIP62/146 LOW_S), so ``s`` is negated when high, which flips the
parity bit of the recovery id. Every assembled signature is verified by libsecp256k1.
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from mpc.ecdsa.errors import InvalidSignature
from mpc.group import SECP256K1, Element, Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q


@dataclass(frozen=True, slots=True)
class EcdsaSignature:
    r: int
    s: int
    recovery_id: int

    def to_bytes(self) -> bytes:
        """64 bytes ``r || s`` (the recovery id travels separately)."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big")

    def to_der(self) -> bytes:
        return encode_dss_signature(self.r, self.s)

    def recoverable(self) -> bytes:
        """65 bytes ``r || s || v`` with v the recovery id (0..3), as libsecp256k1 takes it."""
        return self.to_bytes() + bytes([self.recovery_id])


def digest_scalar(digest: bytes) -> int:
    """The message representative: a 32-byte digest read big-endian, reduced mod q."""
    if len(digest) != 32:
        raise InvalidSignature("ECDSA signs a 32-byte digest")
    return int.from_bytes(digest, "big") % Q


def assemble(R: Element, s: int) -> EcdsaSignature:
    """``(r, s)`` from the nonce point and the summed response, normalized to low s."""
    if not isinstance(R, Secp256k1Element) or R.is_identity():
        raise InvalidSignature("the nonce point must be a secp256k1 point")
    x = int.from_bytes(R.x_only(), "big")
    r = x % Q
    s %= Q
    if r == 0 or s == 0:
        raise InvalidSignature("degenerate signature (r or s is zero)")
    recovery_id = (0 if R.has_even_y() else 1) | (2 if x >= Q else 0)
    if s > Q // 2:
        s = Q - s
        recovery_id ^= 1
    return EcdsaSignature(r, s, recovery_id)


def verify(public_key: Element, digest: bytes, signature: EcdsaSignature) -> None:
    """libsecp256k1 verification, plus public-key recovery from the recovery id."""
    key = SECP256K1.serialize_element(public_key)
    if signature.s > Q // 2:
        raise InvalidSignature("high-s signature")
    if not PublicKey(key).verify(signature.to_der(), digest, hasher=None):
        raise InvalidSignature("libsecp256k1 rejects the ECDSA signature")
    recovered = PublicKey.from_signature_and_message(signature.recoverable(), digest, hasher=None)
    if recovered.format(compressed=True) != key:
        raise InvalidSignature("the recovery id does not recover the public key")
