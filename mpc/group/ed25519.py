"""Edwards25519 (RFC 8032 §5.1) on libsodium through PyNaCl.

Points are handled only as their canonical 32-byte encodings and every operation is a
libsodium ``crypto_core_ed25519_*`` or ``crypto_scalarmult_ed25519_*_noclamp`` call.
Scalars are 32-byte little-endian integers below the prime order L, as RFC 9591 §6.1
specifies for FROST(Ed25519, SHA-512).
"""

from __future__ import annotations

from typing import Final

from nacl import bindings as sodium
from nacl.exceptions import RuntimeError as SodiumRuntimeError

from mpc.group.base import Element, Group, Scalar
from mpc.group.errors import InvalidIdentityElement, MalformedElement

ORDER: Final = 2**252 + 27742317777372353535851937790883648493
FIELD_PRIME: Final = 2**255 - 19
IDENTITY_ENCODING: Final = b"\x01" + b"\x00" * 31
_GENERATOR_ENCODING: Final = bytes.fromhex(
    "5866666666666666666666666666666666666666666666666666666666666666"
)


class Ed25519Element(Element):
    """A point of the prime-order subgroup of edwards25519, held as its encoding."""

    __slots__ = ("encoding",)

    encoding: bytes

    def __init__(self, encoding: bytes) -> None:
        object.__setattr__(self, "encoding", encoding)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Ed25519Element is immutable")

    @property
    def group(self) -> Ed25519Group:
        return ED25519

    def __add__(self, other: Ed25519Element) -> Ed25519Element:
        return Ed25519Element(sodium.crypto_core_ed25519_add(self.encoding, other.encoding))

    def __sub__(self, other: Ed25519Element) -> Ed25519Element:
        return Ed25519Element(sodium.crypto_core_ed25519_sub(self.encoding, other.encoding))

    def __neg__(self) -> Ed25519Element:
        return Ed25519Element(sodium.crypto_core_ed25519_sub(IDENTITY_ENCODING, self.encoding))

    def __mul__(self, scalar: Scalar) -> Ed25519Element:
        # libsodium refuses the identity as an input or an output of a scalar
        # multiplication; both cases have the identity as their only correct answer.
        if scalar.value == 0 or self.encoding == IDENTITY_ENCODING:
            return Ed25519Element(IDENTITY_ENCODING)
        return Ed25519Element(
            sodium.crypto_scalarmult_ed25519_noclamp(
                scalar.value.to_bytes(32, "little"), self.encoding
            )
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ed25519Element):
            return NotImplemented
        return self.encoding == other.encoding

    def __hash__(self) -> int:
        return hash(self.encoding)

    def __repr__(self) -> str:
        return f"Ed25519Element({self.encoding.hex()})"

    def is_identity(self) -> bool:
        return self.encoding == IDENTITY_ENCODING

    def to_bytes(self) -> bytes:
        return ED25519.serialize_element(self)


class Ed25519Group(Group):
    name = "ed25519"
    order = ORDER
    scalar_size = 32
    element_size = 32

    def identity(self) -> Ed25519Element:
        return Ed25519Element(IDENTITY_ENCODING)

    def generator(self) -> Ed25519Element:
        return Ed25519Element(_GENERATOR_ENCODING)

    def base_mul(self, scalar: Scalar) -> Ed25519Element:
        if scalar.value == 0:
            return Ed25519Element(IDENTITY_ENCODING)
        return Ed25519Element(
            sodium.crypto_scalarmult_ed25519_base_noclamp(scalar.value.to_bytes(32, "little"))
        )

    def serialize_element(self, element: Element) -> bytes:
        if not isinstance(element, Ed25519Element):
            raise TypeError("not an ed25519 element")
        if element.encoding == IDENTITY_ENCODING:
            raise InvalidIdentityElement("RFC 9591 §6.1: the identity is not serialized")
        return element.encoding

    def deserialize_element(self, data: bytes) -> Ed25519Element:
        # RFC 9591 §6.1 DeserializeElement: canonical, on the curve, not the identity, and
        # in the prime-order subgroup. libsodium's is_valid_point checks exactly that: it
        # refuses non-canonical encodings, points off the curve, every small-order point
        # (the identity among them) and points with a torsion component.
        if len(data) != 32:
            raise MalformedElement("an ed25519 element is 32 bytes")
        if data == IDENTITY_ENCODING:
            raise InvalidIdentityElement("RFC 9591 §6.1: the identity is refused")
        if int.from_bytes(data, "little") & ((1 << 255) - 1) >= FIELD_PRIME:
            raise MalformedElement("y coordinate is not reduced below the field prime")
        try:
            valid = sodium.crypto_core_ed25519_is_valid_point(data)
        except SodiumRuntimeError as exc:
            raise MalformedElement("not a valid ed25519 point") from exc
        if not valid:
            raise MalformedElement(
                "not a canonical point of the prime-order subgroup (small order or off curve)"
            )
        return Ed25519Element(data)

    def serialize_scalar(self, scalar: Scalar) -> bytes:
        return scalar.value.to_bytes(32, "little")

    def scalar_from_bytes_reduced(self, data: bytes) -> Scalar:
        return Scalar(self, int.from_bytes(data, "little"))

    def _scalar_int_from_bytes(self, data: bytes) -> int:
        return int.from_bytes(data, "little")


ED25519: Final = Ed25519Group()
