"""RFC 9591 §4 helper functions, shared by round two, aggregation and share verification."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import DuplicateIdentifier, IdentityCommitment, UnknownIdentifier
from mpc.frost.identifier import Identifier
from mpc.frost.round1 import SigningCommitments
from mpc.group import Element, Scalar


def derive_interpolating_value(x_i: Identifier, participants: Iterable[Identifier]) -> Scalar:
    """RFC 9591 §4.2 derive_interpolating_value: the Lagrange coefficient of ``x_i`` at 0."""
    members = list(participants)
    if x_i not in members:
        raise UnknownIdentifier("identifier is not in the participant list", [x_i])
    if len(set(members)) != len(members):
        raise DuplicateIdentifier("participant list has duplicates")
    group = x_i.scalar.group
    numerator = group.scalar(1)
    denominator = group.scalar(1)
    for x_j in members:
        if x_j == x_i:
            continue
        numerator = numerator * x_j.scalar
        denominator = denominator * (x_j.scalar - x_i.scalar)
    return numerator * denominator.invert()


def encode_group_commitment_list(commitments: Sequence[SigningCommitments]) -> bytes:
    """RFC 9591 §4.3: identifier || hiding || binding, for each signer, sorted by identifier."""
    return b"".join(
        c.identifier.to_bytes() + c.hiding.to_bytes() + c.binding.to_bytes() for c in commitments
    )


def compute_binding_factors(
    ciphersuite: Ciphersuite,
    group_public_key: Element,
    commitments: Sequence[SigningCommitments],
    message: bytes,
) -> dict[Identifier, Scalar]:
    """RFC 9591 §4.4 compute_binding_factors."""
    # Step 1-3: the prefix binds the key, the message and the whole commitment list.
    rho_input_prefix = (
        group_public_key.to_bytes()
        + ciphersuite.H4(message)
        + ciphersuite.H5(encode_group_commitment_list(commitments))
    )
    # Step 4: one binding factor per signer, domain-separated by its identifier.
    return {
        c.identifier: ciphersuite.H1(rho_input_prefix + c.identifier.to_bytes())
        for c in commitments
    }


def compute_group_commitment(
    commitments: Sequence[SigningCommitments], binding_factors: Mapping[Identifier, Scalar]
) -> Element:
    """RFC 9591 §4.5 compute_group_commitment: sum of hiding + binding * rho."""
    group_commitment = commitments[0].hiding.group.identity()
    for c in commitments:
        # frost's check: an identity commitment would reveal the signer's share in round 2.
        if c.hiding.is_identity() or c.binding.is_identity():
            raise IdentityCommitment("a signing commitment is the identity", [c.identifier])
        group_commitment = group_commitment + c.hiding + c.binding * binding_factors[c.identifier]
    return group_commitment
