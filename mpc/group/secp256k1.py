"""secp256k1 (SEC 2 §2.4.1) on libsecp256k1 through coincurve.

Elements are coincurve public keys; the identity, which libsecp256k1 cannot hold in a
public key, is represented by ``None``. Encodings are compressed SEC1 (33 bytes) and
32-byte big-endian scalars, as RFC 9591 §6.5 specifies for FROST(secp256k1, SHA-256).
"""

from __future__ import annotations

from typing import Final

from coincurve import PublicKey

from mpc.group.base import Element, Group, Scalar
from mpc.group.errors import InvalidIdentityElement, MalformedElement

ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
FIELD_PRIME: Final = 2**256 - 2**32 - 977
_GENERATOR_COMPRESSED: Final = bytes.fromhex(
    "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
)


class Secp256k1Element(Element):
    """A secp256k1 point; ``point is None`` is the identity."""

    __slots__ = ("_compressed", "point")

    point: PublicKey | None
    _compressed: bytes | None

    def __init__(self, point: PublicKey | None) -> None:
        object.__setattr__(self, "point", point)
        object.__setattr__(self, "_compressed", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secp256k1Element is immutable")

    @property
    def group(self) -> Secp256k1Group:
        return SECP256K1

    def compressed(self) -> bytes:
        """The 33-byte SEC1 encoding (cached: it is needed for every comparison and hash)."""
        if self.point is None:
            raise InvalidIdentityElement("the identity has no SEC1 compressed encoding")
        if self._compressed is None:
            object.__setattr__(self, "_compressed", self.point.format(compressed=True))
        assert self._compressed is not None  # noqa: S101 - narrowing for mypy, set just above
        return self._compressed

    def __add__(self, other: Secp256k1Element) -> Secp256k1Element:
        if self.point is None:
            return other
        if other.point is None:
            return self
        try:
            return Secp256k1Element(PublicKey.combine_keys([self.point, other.point]))
        except ValueError:
            # libsecp256k1 refuses to return the point at infinity, which is exactly the
            # case P + (-P); any other failure would mean a corrupted point and is re-raised.
            if self.compressed() == (-other).compressed():
                return Secp256k1Element(None)
            raise

    def __neg__(self) -> Secp256k1Element:
        if self.point is None:
            return self
        encoded = self.compressed()
        # Negation keeps x and flips the parity of y, which is the low bit of the prefix.
        return Secp256k1Element(PublicKey(bytes([encoded[0] ^ 1]) + encoded[1:]))

    def __mul__(self, scalar: Scalar) -> Secp256k1Element:
        if self.point is None or scalar.value == 0:
            return Secp256k1Element(None)
        return Secp256k1Element(self.point.multiply(scalar.value.to_bytes(32, "big")))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secp256k1Element):
            return NotImplemented
        if self.point is None or other.point is None:
            return self.point is None and other.point is None
        return self.compressed() == other.compressed()

    def __hash__(self) -> int:
        return hash(b"" if self.point is None else self.compressed())

    def __repr__(self) -> str:
        if self.point is None:
            return "Secp256k1Element(identity)"
        return f"Secp256k1Element({self.compressed().hex()})"

    def is_identity(self) -> bool:
        return self.point is None

    def to_bytes(self) -> bytes:
        return self.compressed()

    def has_even_y(self) -> bool:
        """BIP340's ``has_even_y``; the identity has no coordinates and raises."""
        return self.compressed()[0] == 0x02

    def x_only(self) -> bytes:
        """BIP340's ``bytes(P)``: the 32-byte x coordinate."""
        return self.compressed()[1:]


class Secp256k1Group(Group):
    name = "secp256k1"
    order = ORDER
    scalar_size = 32
    element_size = 33

    def identity(self) -> Secp256k1Element:
        return Secp256k1Element(None)

    def generator(self) -> Secp256k1Element:
        return Secp256k1Element(PublicKey(_GENERATOR_COMPRESSED))

    def base_mul(self, scalar: Scalar) -> Secp256k1Element:
        if scalar.value == 0:
            return Secp256k1Element(None)
        return Secp256k1Element(PublicKey.from_valid_secret(scalar.value.to_bytes(32, "big")))

    def serialize_element(self, element: Element) -> bytes:
        if not isinstance(element, Secp256k1Element):
            raise TypeError("not a secp256k1 element")
        return element.compressed()

    def deserialize_element(self, data: bytes) -> Secp256k1Element:
        # Only the 33-byte compressed form is canonical; libsecp256k1 checks that x is a
        # field element below p and that the point lies on the curve. The identity has no
        # compressed encoding, so it can never be produced here.
        if len(data) != 33 or data[0] not in (0x02, 0x03):
            raise MalformedElement("a secp256k1 element is 33 bytes of compressed SEC1")
        if int.from_bytes(data[1:], "big") >= FIELD_PRIME:
            raise MalformedElement("x coordinate is not reduced below the field prime")
        try:
            return Secp256k1Element(PublicKey(data))
        except ValueError as exc:
            raise MalformedElement("not a point on secp256k1") from exc

    def lift_x(self, x_only: bytes) -> Secp256k1Element:
        """BIP340 ``lift_x``: the point with x coordinate ``x_only`` and an even y."""
        if len(x_only) != 32:
            raise MalformedElement("an x-only key is 32 bytes")
        return self.deserialize_element(b"\x02" + x_only)

    def serialize_scalar(self, scalar: Scalar) -> bytes:
        return scalar.value.to_bytes(32, "big")

    def scalar_from_bytes_reduced(self, data: bytes) -> Scalar:
        return Scalar(self, int.from_bytes(data, "big"))

    def _scalar_int_from_bytes(self, data: bytes) -> int:
        return int.from_bytes(data, "big")


SECP256K1: Final = Secp256k1Group()
