"""A trusted-dealer key split (RFC 9591 Appendix C), for tests only.

Production keys come from :mod:`mpc.frost.dkg`; a dealer holds the whole key, which
Quorate never allows outside tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare, PublicKeyPackage, validate_threshold
from mpc.frost.vss import evaluate_polynomial
from mpc.group import DEFAULT_RNG, Rng, Scalar
from tests.helpers.ceremony import KeySplit


def trusted_dealer_keygen(
    ciphersuite: Ciphersuite,
    identifiers: Sequence[Identifier],
    min_signers: int,
    rng: Rng = DEFAULT_RNG,
    secret: Scalar | None = None,
    coefficients: Sequence[Scalar] | None = None,
) -> KeySplit:
    """RFC 9591 Appendix C trusted_dealer_keygen over arbitrary identifiers."""
    validate_threshold(min_signers, len(identifiers))
    group = ciphersuite.group
    if secret is None:
        secret = group.random_nonzero_scalar(rng)
    if coefficients is None:
        coefficients = [group.random_scalar(rng) for _ in range(min_signers - 1)]
    polynomial = [secret, *coefficients]
    verifying_key = group.base_mul(secret)
    shares = {i: evaluate_polynomial(polynomial, i.scalar) for i in identifiers}
    verifying_shares = {i: group.base_mul(s) for i, s in shares.items()}
    key_shares = {
        i: KeyShare(ciphersuite, i, s, verifying_shares[i], verifying_key, min_signers)
        for i, s in shares.items()
    }
    return key_shares, PublicKeyPackage(ciphersuite, verifying_shares, verifying_key, min_signers)
