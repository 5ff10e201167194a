"""Participant identifiers: non-zero scalars (RFC 9591 §3.2).

Identifiers are never assumed to be 1..n. A party named by a string (``"us-1"``) gets
the identifier ``HID(name)``, as ZcashFoundation/frost's ``Identifier::derive`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mpc.frost.errors import InvalidIdentifier
from mpc.group import Scalar

if TYPE_CHECKING:
    from mpc.frost.ciphersuite import Ciphersuite


@dataclass(frozen=True, slots=True, order=False)
class Identifier:
    """A participant's identifier: a non-zero scalar of the ciphersuite's group."""

    scalar: Scalar

    def __post_init__(self) -> None:
        if self.scalar.is_zero():
            raise InvalidIdentifier("an identifier must be a non-zero scalar")

    @classmethod
    def from_int(cls, ciphersuite: Ciphersuite, value: int) -> Identifier:
        if not 0 < value < ciphersuite.group.order:
            raise InvalidIdentifier("an identifier must be in [1, order - 1]")
        return cls(ciphersuite.group.scalar(value))

    @classmethod
    def derive(cls, ciphersuite: Ciphersuite, name: bytes) -> Identifier:
        """``HID(name)``: a reproducible identifier for a party's name."""
        return cls(ciphersuite.HID(name))

    @classmethod
    def from_bytes(cls, ciphersuite: Ciphersuite, data: bytes) -> Identifier:
        return cls(ciphersuite.group.deserialize_scalar(data))

    @property
    def value(self) -> int:
        return self.scalar.value

    def to_bytes(self) -> bytes:
        return self.scalar.to_bytes()

    def __lt__(self, other: Identifier) -> bool:
        # RFC 9591 §4.3 orders commitment lists by identifier, read as an integer.
        return self.scalar.value < other.scalar.value

    def __str__(self) -> str:
        value = self.scalar.value
        return str(value) if value < 2**16 else f"0x{self.to_bytes().hex()}"

    def __repr__(self) -> str:
        return f"Identifier({self})"
