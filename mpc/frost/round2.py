"""FROST round two: signature share generation (RFC 9591 §5.2)."""

from __future__ import annotations

from dataclasses import dataclass

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import CiphersuiteMismatch, InvalidParameters, UnknownIdentifier
from mpc.frost.helpers import (
    compute_binding_factors,
    compute_group_commitment,
    derive_interpolating_value,
)
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare
from mpc.frost.round1 import SigningNonces
from mpc.frost.signing_package import SigningPackage
from mpc.group import Scalar


@dataclass(frozen=True, slots=True)
class SignatureShare:
    """A signer's public round-two output."""

    ciphersuite: Ciphersuite
    identifier: Identifier
    share: Scalar

    def __repr__(self) -> str:
        return f"SignatureShare({self.ciphersuite.id}, {self.identifier})"


def sign(
    signing_package: SigningPackage, signing_nonces: SigningNonces, key_share: KeyShare
) -> SignatureShare:
    """RFC 9591 §5.2 sign; consumes ``signing_nonces``.

    A second call raises NonceReuse, and so does a call with any other object holding the
    same nonces in this process (re-imported or rebuilt from the scalars).
    """
    ciphersuite = key_share.ciphersuite
    identifier = key_share.identifier
    # Every check comes before the nonces are touched, so a rejected request leaves them
    # usable and reveals nothing.
    if signing_package.ciphersuite is not ciphersuite:
        raise CiphersuiteMismatch("signing package and key share differ in ciphersuite")
    if len(signing_package.commitments) < key_share.min_signers:
        raise InvalidParameters(
            f"{len(signing_package.commitments)} signers, the key needs {key_share.min_signers}"
        )
    own = signing_package.commitment_of(identifier)
    if own is None:
        raise UnknownIdentifier("this signer is not in the signing package", [identifier])
    if own != signing_nonces.commitments:
        # frost's IncorrectCommitment: signing against commitments other than the ones our
        # nonces made would let a coordinator pick binding factors for a nonce reuse.
        raise InvalidParameters("the signing package holds other commitments for this signer")

    key_share = ciphersuite.pre_sign(key_share)
    message = signing_package.message
    commitments = signing_package.commitments
    # Steps 1-2: binding factors and this signer's own binding factor.
    binding_factors = compute_binding_factors(
        ciphersuite, key_share.verifying_key, commitments, message
    )
    # Step 3: the group commitment.
    group_commitment = compute_group_commitment(commitments, binding_factors)
    # Steps 4-5: this signer's Lagrange coefficient over the signer set.
    lambda_i = derive_interpolating_value(identifier, signing_package.signers)
    # Step 6: the per-message challenge.
    challenge = ciphersuite.challenge(group_commitment, key_share.verifying_key, message)
    # Step 7: the share; the nonces are consumed here and never again.
    hiding, binding = ciphersuite.signing_nonces_for(*signing_nonces.consume(), group_commitment)
    share = (
        hiding
        + binding * binding_factors[identifier]
        + lambda_i * key_share.signing_share * challenge
    )
    return SignatureShare(ciphersuite, identifier, share)
