"""ECDSA keys from the same dealerless DKG as FROST (one DKG, two protocols).

The DKG (mpc.frost.dkg over FROST(secp256k1, SHA-256)) leaves each party a Shamir share
x_i with public X_i = x_i·G. CGGMP21 works with additive shares of the signer set S:
w_i = λ_i·x_i with λ_i the Lagrange coefficient of i over S, so Σ_{i∈S} w_i = x and
W_i = λ_i·X_i is public.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mpc.frost.helpers import derive_interpolating_value
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare, PublicKeyPackage
from mpc.group import Secp256k1Element


def additive_share(key_share: KeyShare, signers: Sequence[Identifier]) -> int:
    """w_i = λ_i·x_i over the signer set."""
    lam = derive_interpolating_value(key_share.identifier, signers)
    return (lam * key_share.signing_share).value


def public_shares(
    public: PublicKeyPackage, signers: Mapping[str, Identifier]
) -> dict[str, Secp256k1Element]:
    """W_j = λ_j·X_j for every signer j (named by party id)."""
    ids = list(signers.values())
    shares = {}
    for party, identifier in signers.items():
        point = public.verifying_share(identifier) * derive_interpolating_value(identifier, ids)
        if not isinstance(point, Secp256k1Element):
            raise TypeError("ECDSA keys are secp256k1 keys")
        shares[party] = point
    return shares
