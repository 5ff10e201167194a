"""Key material of a FROST key: a party's secret share and the group's public data.

Names follow ZcashFoundation/frost: a party's *signing share* is its secret Shamir share,
its *verifying share* the matching public point, and the *verifying key* the group
public key. :class:`KeyShare` holds a secret and never prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import InvalidParameters, UnknownIdentifier
from mpc.frost.identifier import Identifier
from mpc.group import Element, Scalar


def validate_threshold(min_signers: int, max_signers: int) -> None:
    """A t-of-n policy needs 2 <= t <= n (frost's ``validate_num_of_signers``)."""
    if min_signers < 2:
        raise InvalidParameters("the threshold must be at least 2")
    if max_signers < min_signers:
        raise InvalidParameters("the threshold cannot exceed the number of parties")


@dataclass(frozen=True, slots=True, repr=False)
class KeyShare:
    """One party's share of a group key: secret."""

    ciphersuite: Ciphersuite
    identifier: Identifier
    signing_share: Scalar
    verifying_share: Element
    verifying_key: Element
    min_signers: int

    def __repr__(self) -> str:
        return (
            f"KeyShare({self.ciphersuite.id}, identifier={self.identifier}, "
            "signing_share=<redacted>)"
        )

    def negated(self) -> KeyShare:
        """The share of the negated key ``-x``: every component negated."""
        return KeyShare(
            self.ciphersuite,
            self.identifier,
            -self.signing_share,
            -self.verifying_share,
            -self.verifying_key,
            self.min_signers,
        )


@dataclass(frozen=True, slots=True)
class PublicKeyPackage:
    """The group's public key data: the verifying key and every party's verifying share."""

    ciphersuite: Ciphersuite
    verifying_shares: Mapping[Identifier, Element] = field(hash=False)
    verifying_key: Element
    min_signers: int

    def __post_init__(self) -> None:
        validate_threshold(self.min_signers, len(self.verifying_shares))
        object.__setattr__(self, "verifying_shares", MappingProxyType(dict(self.verifying_shares)))

    def verifying_share(self, identifier: Identifier) -> Element:
        try:
            return self.verifying_shares[identifier]
        except KeyError:
            raise UnknownIdentifier("not a party of this key", [identifier]) from None

    def negated(self) -> PublicKeyPackage:
        return PublicKeyPackage(
            self.ciphersuite,
            {i: -share for i, share in self.verifying_shares.items()},
            -self.verifying_key,
            self.min_signers,
        )
