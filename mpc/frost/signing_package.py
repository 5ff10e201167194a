"""The coordinator's request for round two: the commitments of the signer set and the message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import CiphersuiteMismatch, DuplicateIdentifier, InvalidParameters
from mpc.frost.identifier import Identifier
from mpc.frost.round1 import SigningCommitments


@dataclass(frozen=True, slots=True, init=False)
class SigningPackage:
    """Every signer's commitments, sorted by identifier (RFC 9591 §4.3), and the message."""

    ciphersuite: Ciphersuite
    commitments: tuple[SigningCommitments, ...]
    message: bytes

    def __init__(
        self, ciphersuite: Ciphersuite, commitments: Iterable[SigningCommitments], message: bytes
    ) -> None:
        ordered = tuple(sorted(commitments, key=lambda c: c.identifier.value))
        if not ordered:
            raise InvalidParameters("a signing package needs at least one commitment")
        foreign = [c.identifier for c in ordered if c.ciphersuite is not ciphersuite]
        if foreign:
            raise CiphersuiteMismatch("commitments of another ciphersuite", foreign)
        identifiers = [c.identifier for c in ordered]
        duplicates = sorted({i for i in identifiers if identifiers.count(i) > 1})
        if duplicates:
            raise DuplicateIdentifier("a signer appears twice in the signing package", duplicates)
        object.__setattr__(self, "ciphersuite", ciphersuite)
        object.__setattr__(self, "commitments", ordered)
        object.__setattr__(self, "message", bytes(message))

    @property
    def signers(self) -> tuple[Identifier, ...]:
        return tuple(c.identifier for c in self.commitments)

    def commitment_of(self, identifier: Identifier) -> SigningCommitments | None:
        for c in self.commitments:
            if c.identifier == identifier:
                return c
        return None
