"""Errors of the FROST signing and key-generation protocols.

Following ZcashFoundation/frost's ``Error::culprits()``, every error caused by a party's
message carries the identifiers of the culprits, so a ceremony that aborts names who
cheated (identifiable abort, RFC 9591 §5.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mpc.errors import MpcError

if TYPE_CHECKING:
    from mpc.frost.identifier import Identifier


class FrostError(MpcError):
    """Base class of FROST's errors; ``culprits`` names the parties at fault, if any."""

    def __init__(self, message: str, culprits: Iterable[Identifier] = ()) -> None:
        self.culprits: tuple[Identifier, ...] = tuple(culprits)
        if self.culprits:
            message = f"{message} (culprits: {', '.join(str(c) for c in self.culprits)})"
        super().__init__(message)


class InvalidParameters(FrostError):
    """A threshold or party count that the protocol cannot run with."""


class InvalidIdentifier(FrostError):
    """A zero identifier, or one of another ciphersuite."""


class DuplicateIdentifier(FrostError):
    """The same identifier appears twice where each party may appear once."""


class UnknownIdentifier(FrostError):
    """An identifier that is not part of the key, signer set or package list."""


class IncorrectNumberOfPackages(FrostError):
    """A DKG round received more or fewer packages than there are other parties."""


class IncorrectNumberOfCommitments(FrostError):
    """A VSS commitment whose length differs from the threshold."""


class InvalidProofOfKnowledge(FrostError):
    """A DKG round-1 proof of knowledge of the constant term failed."""


class InvalidSecretShare(FrostError):
    """A DKG secret share that fails its verifiable-secret-sharing check."""


class IdentityCommitment(FrostError):
    """A signing commitment that is the identity element (RFC 9591 §5.3)."""


class InvalidSignatureShare(FrostError):
    """A signature share that fails verify_signature_share (RFC 9591 §5.4)."""


class CiphersuiteMismatch(FrostError):
    """Packages of different ciphersuites combined in one operation."""


class NonceReuse(FrostError):
    """Signing nonces used a second time, through the same :class:`SigningNonces` or any
    other holding the same nonces in this process; a second share would leak the key share."""


class MalformedPackage(FrostError):
    """Bytes that do not decode to the expected package."""
