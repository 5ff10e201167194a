"""One interface for the prime-order groups FROST runs on (RFC 9591 §3.1).

A :class:`Group` names its order, its generator and its canonical encodings; a
:class:`Scalar` is an integer modulo the group order; an :class:`Element` is a point in
the prime-order subgroup. Scalars are Python integers (big-number arithmetic is exact and
cheap at this size) while every point operation is delegated to a library we did not
write: libsecp256k1 through coincurve, and libsodium through PyNaCl.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Self

from mpc.group.errors import MalformedScalar, ZeroScalar

Rng = Callable[[int], bytes]
"""A source of randomness: called with a length, returns that many uniformly random bytes."""

DEFAULT_RNG: Rng = os.urandom


class Scalar:
    """An integer modulo the order of ``group``; immutable, with field arithmetic."""

    __slots__ = ("group", "value")

    group: Group
    value: int

    def __init__(self, group: Group, value: int) -> None:
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "value", value % group.order)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Scalar is immutable")

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar(self.group, self.value + other.value)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar(self.group, self.value - other.value)

    def __mul__(self, other: Scalar) -> Scalar:
        return Scalar(self.group, self.value * other.value)

    def __neg__(self) -> Scalar:
        return Scalar(self.group, -self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and other.group is self.group and other.value == self.value

    def __hash__(self) -> int:
        return hash((self.group.name, self.value))

    def __repr__(self) -> str:
        # Scalars are shares, nonces and keys as often as they are public values; a scalar
        # never prints itself, so no log line or traceback can carry a secret by accident.
        return f"Scalar({self.group.name}, <redacted>)"

    def is_zero(self) -> bool:
        return self.value == 0

    def invert(self) -> Scalar:
        """The multiplicative inverse; zero has none and raises :class:`ZeroScalar`."""
        if self.value == 0:
            raise ZeroScalar("zero has no inverse")
        return Scalar(self.group, pow(self.value, -1, self.group.order))

    def to_bytes(self) -> bytes:
        return self.group.serialize_scalar(self)


class Element(ABC):
    """A point of the prime-order group, or its identity; immutable."""

    __slots__ = ()

    @property
    @abstractmethod
    def group(self) -> Group: ...

    @abstractmethod
    def __add__(self, other: Self) -> Self: ...

    @abstractmethod
    def __neg__(self) -> Self: ...

    @abstractmethod
    def __mul__(self, scalar: Scalar) -> Self: ...

    @abstractmethod
    def is_identity(self) -> bool: ...

    @abstractmethod
    def to_bytes(self) -> bytes:
        """The canonical encoding; raises ``InvalidIdentityElement`` for the identity."""

    def __sub__(self, other: Self) -> Self:
        return self + (-other)

    def __rmul__(self, scalar: Scalar) -> Self:
        return self * scalar


class Group(ABC):
    """A prime-order group with canonical encodings (RFC 9591 §3.1)."""

    name: str
    order: int
    scalar_size: int
    element_size: int

    @abstractmethod
    def identity(self) -> Element: ...

    @abstractmethod
    def generator(self) -> Element: ...

    @abstractmethod
    def base_mul(self, scalar: Scalar) -> Element:
        """``G * scalar``, through the library's fixed-base routine."""

    @abstractmethod
    def serialize_element(self, element: Element) -> bytes:
        """RFC 9591 SerializeElement: canonical bytes; the identity is refused."""

    @abstractmethod
    def deserialize_element(self, data: bytes) -> Element:
        """RFC 9591 DeserializeElement: refuses non-canonical, off-curve and identity inputs."""

    @abstractmethod
    def serialize_scalar(self, scalar: Scalar) -> bytes: ...

    @abstractmethod
    def scalar_from_bytes_reduced(self, data: bytes) -> Scalar:
        """Interprets ``data`` as an integer in this group's byte order and reduces it."""

    @abstractmethod
    def _scalar_int_from_bytes(self, data: bytes) -> int: ...

    def scalar(self, value: int) -> Scalar:
        return Scalar(self, value)

    def deserialize_scalar(self, data: bytes) -> Scalar:
        """RFC 9591 DeserializeScalar: exactly ``scalar_size`` bytes, value below the order."""
        if len(data) != self.scalar_size:
            raise MalformedScalar(f"a {self.name} scalar is {self.scalar_size} bytes")
        value = self._scalar_int_from_bytes(data)
        if value >= self.order:
            raise MalformedScalar(f"{self.name} scalar is not reduced below the group order")
        return Scalar(self, value)

    def random_scalar(self, rng: Rng = DEFAULT_RNG) -> Scalar:
        """A uniform scalar, drawn with 128 bits of headroom so the reduction bias is < 2^-128."""
        return self.scalar_from_bytes_reduced(rng(self.scalar_size + 16))

    def random_nonzero_scalar(self, rng: Rng = DEFAULT_RNG) -> Scalar:
        while True:
            candidate = self.random_scalar(rng)
            if not candidate.is_zero():
                return candidate
