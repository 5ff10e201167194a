"""The ciphersuite object FROST is written against (RFC 9591 §6).

FROST is implemented once, generically, in ``round1``, ``round2``, ``aggregate`` and
``dkg``; a ciphersuite supplies the group, the hash functions H1..H5 (plus HDKG and HID,
ZcashFoundation/frost's extensions for key generation and identifiers) and a few hooks
that the taproot variant overrides (the BIP340 challenge and its even-Y rules). The
default hooks are exactly RFC 9591's behaviour.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from mpc.errors import InvalidSignature
from mpc.frost.errors import MalformedPackage
from mpc.frost.signature import Signature
from mpc.group import DEFAULT_RNG, Element, Group, GroupError, Rng, Scalar

if TYPE_CHECKING:
    from mpc.frost.keys import KeyShare, PublicKeyPackage


class Ciphersuite(ABC):
    """A FROST ciphersuite: a prime-order group and its hash functions."""

    #: RFC 9591's contextString, which doubles as the ciphersuite's identifier.
    context_string: bytes
    group: Group

    @property
    def id(self) -> str:
        return self.context_string.decode()

    def __repr__(self) -> str:
        return f"<Ciphersuite {self.id}>"

    # -- hash functions (RFC 9591 §6, per ciphersuite) -------------------------------------

    @abstractmethod
    def H1(self, m: bytes) -> Scalar:
        """Hash to a scalar, for binding factors ("rho")."""

    @abstractmethod
    def H2(self, m: bytes) -> Scalar:
        """Hash to a scalar, for the challenge ("chal")."""

    @abstractmethod
    def H3(self, m: bytes) -> Scalar:
        """Hash to a scalar, for nonce generation ("nonce")."""

    @abstractmethod
    def H4(self, m: bytes) -> bytes:
        """Hash of the message ("msg")."""

    @abstractmethod
    def H5(self, m: bytes) -> bytes:
        """Hash of the encoded commitment list ("com")."""

    @abstractmethod
    def HDKG(self, m: bytes) -> Scalar:
        """Hash to a scalar, for the DKG proof of knowledge ("dkg")."""

    @abstractmethod
    def HID(self, m: bytes) -> Scalar:
        """Hash to a scalar, for deriving identifiers from names ("id")."""

    # -- hooks; the defaults are RFC 9591 ---------------------------------------------------

    def challenge(self, group_commitment: Element, group_public_key: Element, msg: bytes) -> Scalar:
        """RFC 9591 §4.6 compute_challenge."""
        return self.H2(group_commitment.to_bytes() + group_public_key.to_bytes() + msg)

    def pre_sign(self, key_package: KeyShare) -> KeyShare:
        """Adjusts a key package before round two; RFC 9591 uses it unchanged."""
        return key_package

    def pre_aggregate(self, public_key_package: PublicKeyPackage) -> PublicKeyPackage:
        """Adjusts a public key package before aggregation; RFC 9591 uses it unchanged."""
        return public_key_package

    def signing_nonces_for(
        self, hiding: Scalar, binding: Scalar, group_commitment: Element
    ) -> tuple[Scalar, Scalar]:
        """The nonces round two uses once the group commitment is known (unchanged here)."""
        return hiding, binding

    def commitment_share_for(self, commitment_share: Element, group_commitment: Element) -> Element:
        """The commitment share verify_signature_share checks against (unchanged here)."""
        return commitment_share

    def proof_nonce(self, rng: Rng = DEFAULT_RNG) -> tuple[Scalar, Element]:
        """A fresh nonce and its commitment, for the DKG proof of knowledge."""
        k = self.group.random_nonzero_scalar(rng)
        return k, self.group.base_mul(k)

    # -- signatures -------------------------------------------------------------------------

    def signature_from(self, group_commitment: Element, z: Scalar) -> Signature:
        """The signature aggregation outputs (RFC 9591 §5.3: ``(R, z)`` as computed)."""
        return Signature(self, group_commitment, z)

    def serialize_signature(self, signature: Signature) -> bytes:
        """RFC 9591 §6: SerializeElement(R) || SerializeScalar(z)."""
        return signature.R.to_bytes() + signature.z.to_bytes()

    def deserialize_signature(self, data: bytes) -> Signature:
        size = self.group.element_size + self.group.scalar_size
        if len(data) != size:
            raise MalformedPackage(f"a {self.id} signature is {size} bytes")
        try:
            R = self.group.deserialize_element(data[: self.group.element_size])
            z = self.group.deserialize_scalar(data[self.group.element_size :])
        except GroupError as exc:
            raise MalformedPackage(f"malformed {self.id} signature: {exc}") from exc
        return Signature(self, R, z)

    def verify(self, message: bytes, signature: Signature, public_key: Element) -> None:
        """Schnorr verification for prime-order groups (RFC 9591 Appendix B / §6 notes).

        Checks ``z*G == R + c*PK``; raises :class:`InvalidSignature` otherwise.
        """
        if signature.ciphersuite is not self:
            raise InvalidSignature("signature of another ciphersuite")
        c = self.challenge(signature.R, public_key, message)
        if self.group.base_mul(signature.z) != signature.R + public_key * c:
            raise InvalidSignature(f"{self.id} signature does not verify")

    def verify_bytes(self, message: bytes, signature: bytes, public_key: bytes) -> None:
        """Verifies encoded inputs; any decoding failure is an :class:`InvalidSignature`."""
        try:
            decoded = self.deserialize_signature(signature)
            key = self.group.deserialize_element(public_key)
        except (MalformedPackage, GroupError) as exc:
            raise InvalidSignature(f"{self.id} signature or key is malformed") from exc
        self.verify(message, decoded, key)
