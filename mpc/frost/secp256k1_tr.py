"""FROST(secp256k1, SHA-256)-TR: FROST producing BIP340 Schnorr signatures for taproot.

Interoperable with ZcashFoundation/frost's ``frost-secp256k1-tr``: the RFC 9591 secp256k1
ciphersuite with its own context string, except that

- H2 is BIP340's tagged hash ``"BIP0340/challenge"`` over x-only R and PK, reduced
  modulo the order, so the challenge is BIP340's ``e``;
- the group key is used with an even Y coordinate (BIP340 ``lift_x``): a key whose Y is
  odd is used negated, i.e. every share and verifying share is negated before signing;
- a group commitment R with odd Y is negated, i.e. each signer negates its nonces and
  the coordinator negates each commitment share when it verifies signature shares;
- signatures are 64 bytes, ``bytes(R) || bytes(z)`` with x-only R (BIP340).

Taproot's TapTweak (BIP341) lives in :mod:`mpc.frost.taproot`.
"""

from __future__ import annotations

from typing import Final

from mpc.errors import InvalidSignature
from mpc.frost.errors import MalformedPackage
from mpc.frost.hashing import tagged_hash
from mpc.frost.keys import KeyShare, PublicKeyPackage
from mpc.frost.secp256k1 import Secp256k1Sha256
from mpc.frost.signature import Signature
from mpc.group import DEFAULT_RNG, SECP256K1, Element, GroupError, Rng, Scalar, Secp256k1Element
from mpc.group.secp256k1 import FIELD_PRIME


def _even_y(element: Element) -> bool:
    if not isinstance(element, Secp256k1Element):
        raise TypeError("the taproot variant works on secp256k1 elements")
    return element.has_even_y()


def _x_only(element: Element) -> bytes:
    if not isinstance(element, Secp256k1Element):
        raise TypeError("the taproot variant works on secp256k1 elements")
    return element.x_only()


def bip340_verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """BIP340 ``Verify(pk, m, sig)``; raises :class:`InvalidSignature` on any failure."""
    if len(public_key) != 32 or len(signature) != 64:
        raise InvalidSignature("BIP340 takes a 32-byte key and a 64-byte signature")
    try:
        # Let P = lift_x(int(pk)); fail if that fails.
        P = SECP256K1.lift_x(public_key)
    except GroupError as exc:
        raise InvalidSignature("BIP340 public key is not an x coordinate on the curve") from exc
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    # Fail if r >= p or s >= n.
    if r >= FIELD_PRIME or s >= SECP256K1.order:
        raise InvalidSignature("BIP340 signature component out of range")
    e = SECP256K1.scalar_from_bytes_reduced(
        tagged_hash("BIP0340/challenge", signature[:32] + public_key + message)
    )
    # R = s*G - e*P; fail if R is infinite, has odd y, or x(R) != r.
    R = SECP256K1.base_mul(SECP256K1.scalar(s)) + (-P) * e
    if R.is_identity() or not R.has_even_y() or R.x_only() != signature[:32]:
        raise InvalidSignature("BIP340 signature does not verify")


class Secp256k1Sha256Taproot(Secp256k1Sha256):
    """The taproot (BIP340) variant of FROST(secp256k1, SHA-256)."""

    def __init__(self) -> None:
        super().__init__(b"FROST-secp256k1-SHA256-TR-v1")

    def H2(self, m: bytes) -> Scalar:
        return SECP256K1.scalar_from_bytes_reduced(tagged_hash("BIP0340/challenge", m))

    def challenge(self, group_commitment: Element, group_public_key: Element, msg: bytes) -> Scalar:
        # BIP340: e = hash_BIP0340/challenge(bytes(R) || bytes(P) || m), x-only encodings.
        return self.H2(_x_only(group_commitment) + _x_only(group_public_key) + msg)

    def pre_sign(self, key_package: KeyShare) -> KeyShare:
        return key_package if _even_y(key_package.verifying_key) else key_package.negated()

    def pre_aggregate(self, public_key_package: PublicKeyPackage) -> PublicKeyPackage:
        if _even_y(public_key_package.verifying_key):
            return public_key_package
        return public_key_package.negated()

    def signing_nonces_for(
        self, hiding: Scalar, binding: Scalar, group_commitment: Element
    ) -> tuple[Scalar, Scalar]:
        # BIP340 signs with the R of even Y; negating every nonce negates R.
        if _even_y(group_commitment):
            return hiding, binding
        return -hiding, -binding

    def commitment_share_for(self, commitment_share: Element, group_commitment: Element) -> Element:
        return commitment_share if _even_y(group_commitment) else -commitment_share

    def proof_nonce(self, rng: Rng = DEFAULT_RNG) -> tuple[Scalar, Element]:
        # The proof of knowledge travels as a 64-byte BIP340-style signature whose R is
        # x-only, so R must have even Y for the receiver to recover it.
        k, R = super().proof_nonce(rng)
        return (k, R) if _even_y(R) else (-k, -R)

    def signature_from(self, group_commitment: Element, z: Scalar) -> Signature:
        # The signers negated their nonces if R had odd Y, so z belongs to the even-Y R;
        # returning that R makes the signature equal to its own (x-only) decoding.
        R = group_commitment if _even_y(group_commitment) else -group_commitment
        return Signature(self, R, z)

    def serialize_signature(self, signature: Signature) -> bytes:
        return _x_only(signature.R) + signature.z.to_bytes()

    def deserialize_signature(self, data: bytes) -> Signature:
        if len(data) != 64:
            raise MalformedPackage("a BIP340 signature is 64 bytes")
        try:
            R = SECP256K1.lift_x(data[:32])
            z = SECP256K1.deserialize_scalar(data[32:])
        except GroupError as exc:
            raise MalformedPackage(f"malformed BIP340 signature: {exc}") from exc
        return Signature(self, R, z)

    def verify(self, message: bytes, signature: Signature, public_key: Element) -> None:
        """BIP340 verification against the x-only form of ``public_key``."""
        if signature.ciphersuite is not self:
            raise InvalidSignature("signature of another ciphersuite")
        bip340_verify(_x_only(public_key), message, self.serialize_signature(signature))

    def verify_bytes(self, message: bytes, signature: bytes, public_key: bytes) -> None:
        """Accepts a 32-byte x-only key (BIP340) or a 33-byte compressed one."""
        if len(public_key) == 33:
            public_key = public_key[1:]
        bip340_verify(public_key, message, signature)


FROST_SECP256K1_TR: Final = Secp256k1Sha256Taproot()
