"""FROST aggregation and signature-share verification (RFC 9591 §5.3, §5.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mpc.errors import InvalidSignature
from mpc.frost.errors import (
    CiphersuiteMismatch,
    DuplicateIdentifier,
    InvalidParameters,
    InvalidSignatureShare,
    UnknownIdentifier,
)
from mpc.frost.helpers import (
    compute_binding_factors,
    compute_group_commitment,
    derive_interpolating_value,
)
from mpc.frost.identifier import Identifier
from mpc.frost.keys import PublicKeyPackage
from mpc.frost.round2 import SignatureShare
from mpc.frost.signature import Signature
from mpc.frost.signing_package import SigningPackage
from mpc.group import Element, Scalar


def _shares_by_signer(
    signing_package: SigningPackage,
    signature_shares: Iterable[SignatureShare],
    public_key_package: PublicKeyPackage,
) -> dict[Identifier, SignatureShare]:
    ciphersuite = public_key_package.ciphersuite
    if signing_package.ciphersuite is not ciphersuite:
        raise CiphersuiteMismatch("signing package and key differ in ciphersuite")
    shares: dict[Identifier, SignatureShare] = {}
    for share in signature_shares:
        if share.ciphersuite is not ciphersuite:
            raise CiphersuiteMismatch("share of another ciphersuite", [share.identifier])
        if share.identifier in shares:
            raise DuplicateIdentifier("two shares from one signer", [share.identifier])
        shares[share.identifier] = share
    signers = set(signing_package.signers)
    strangers = sorted(set(shares) - signers)
    if strangers:
        raise UnknownIdentifier("shares from parties outside the signer set", strangers)
    missing = sorted(signers - set(shares))
    if missing:
        raise InvalidParameters(f"missing signature shares from {', '.join(map(str, missing))}")
    outsiders = sorted(i for i in signers if i not in public_key_package.verifying_shares)
    if outsiders:
        raise UnknownIdentifier("signers that are not parties of this key", outsiders)
    if len(signers) < public_key_package.min_signers:
        raise InvalidParameters(
            f"{len(signers)} signers, the key needs {public_key_package.min_signers}"
        )
    return shares


def aggregate(
    signing_package: SigningPackage,
    signature_shares: Iterable[SignatureShare],
    public_key_package: PublicKeyPackage,
) -> Signature:
    """RFC 9591 §5.3 aggregate, then verification of the result.

    The aggregate is verified against the group key; if it fails, every share is checked
    with verify_signature_share (§5.4) and :class:`InvalidSignatureShare` names each
    cheater, so a bad signature is never returned.
    """
    shares = _shares_by_signer(signing_package, signature_shares, public_key_package)
    ciphersuite = public_key_package.ciphersuite
    public_key_package = ciphersuite.pre_aggregate(public_key_package)
    commitments = signing_package.commitments
    binding_factors = compute_binding_factors(
        ciphersuite, public_key_package.verifying_key, commitments, signing_package.message
    )
    group_commitment = compute_group_commitment(commitments, binding_factors)
    z = ciphersuite.group.scalar(0)
    for share in shares.values():
        z = z + share.share
    signature = ciphersuite.signature_from(group_commitment, z)
    try:
        ciphersuite.verify(signing_package.message, signature, public_key_package.verifying_key)
    except InvalidSignature:
        challenge = ciphersuite.challenge(
            group_commitment, public_key_package.verifying_key, signing_package.message
        )
        culprits = [
            identifier
            for identifier, share in sorted(shares.items(), key=lambda item: item[0].value)
            if not _share_is_valid(
                signing_package,
                share,
                public_key_package.verifying_shares[identifier],
                binding_factors,
                group_commitment,
                challenge,
            )
        ]
        if culprits:
            raise InvalidSignatureShare("invalid signature share", culprits) from None
        raise
    return signature


def _share_is_valid(
    signing_package: SigningPackage,
    share: SignatureShare,
    verifying_share: Element,
    binding_factors: Mapping[Identifier, Scalar],
    group_commitment: Element,
    challenge: Scalar,
) -> bool:
    ciphersuite = signing_package.ciphersuite
    identifier = share.identifier
    commitment = signing_package.commitment_of(identifier)
    if commitment is None:
        return False
    # RFC 9591 §5.4 steps 1-2: this signer's commitment share.
    commitment_share = ciphersuite.commitment_share_for(
        commitment.hiding + commitment.binding * binding_factors[identifier], group_commitment
    )
    # Steps 3-5: its Lagrange coefficient and the challenge.
    lambda_i = derive_interpolating_value(identifier, signing_package.signers)
    # Step 6: G * z_i == comm_share + PK_i * (c * lambda_i).
    expected = commitment_share + verifying_share * (challenge * lambda_i)
    return ciphersuite.group.base_mul(share.share) == expected


def verify_signature_share(
    signing_package: SigningPackage,
    signature_share: SignatureShare,
    public_key_package: PublicKeyPackage,
) -> None:
    """RFC 9591 §5.4 verify_signature_share; raises :class:`InvalidSignatureShare`."""
    ciphersuite = public_key_package.ciphersuite
    if signature_share.ciphersuite is not ciphersuite:
        raise CiphersuiteMismatch("share of another ciphersuite", [signature_share.identifier])
    if signing_package.commitment_of(signature_share.identifier) is None:
        raise UnknownIdentifier(
            "signer is not in the signing package", [signature_share.identifier]
        )
    public_key_package = ciphersuite.pre_aggregate(public_key_package)
    verifying_share = public_key_package.verifying_share(signature_share.identifier)
    binding_factors = compute_binding_factors(
        ciphersuite,
        public_key_package.verifying_key,
        signing_package.commitments,
        signing_package.message,
    )
    group_commitment = compute_group_commitment(signing_package.commitments, binding_factors)
    challenge = ciphersuite.challenge(
        group_commitment, public_key_package.verifying_key, signing_package.message
    )
    if not _share_is_valid(
        signing_package,
        signature_share,
        verifying_share,
        binding_factors,
        group_commitment,
        challenge,
    ):
        raise InvalidSignatureShare("invalid signature share", [signature_share.identifier])
