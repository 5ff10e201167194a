"""Threshold ECDSA online signing: one round on a presignature (CGGMP21 Fig. 8).

With a presignature (R, k_i, χ_i) where Σk_i = k, Σχ_i = k·x and R = k⁻¹·G, signer i
sends σ_i = k_i·m + r·χ_i with r = x(R) mod q, so Σσ_i = k(m + r·x): an ECDSA signature.
Each signer also sends S_i = χ_i·R, which lets anyone check every share on its own:
σ_i·R = m·R_i + r·S_i with R_i = k_i·R from presigning; a share that fails names its
signer. The S_i must add up to the public key (Σχ_i·R = k·x·k⁻¹·G = X).

A presignature is single-use: signing two messages with one reveals the key, so callers
record its consumption durably (the party's vault) before a share leaves the party.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mpc.ecdsa.errors import ConsistencyCheckFailed, InvalidParameters, InvalidSignature
from mpc.ecdsa.presign import Presignature
from mpc.ecdsa.signature import EcdsaSignature, assemble, digest_scalar, verify
from mpc.group import SECP256K1, Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q


@dataclass(frozen=True, slots=True)
class SignatureShare:
    party: str
    sigma: int
    S: Secp256k1Element


def sign_share(presignature: Presignature, digest: bytes) -> SignatureShare:
    """Fig. 8, round 1: σ_i = k_i·m + r·χ_i, with S_i = χ_i·R for share verification."""
    m = digest_scalar(digest)
    r = int.from_bytes(presignature.R.x_only(), "big") % Q
    sigma = (presignature.k * m + r * presignature.chi) % Q
    S = presignature.R * SECP256K1.scalar(presignature.chi)
    return SignatureShare(presignature.party, sigma, S)


def combine(
    R: Secp256k1Element,
    R_shares: Mapping[str, Secp256k1Element],
    public_key: Secp256k1Element,
    digest: bytes,
    shares: Mapping[str, SignatureShare],
) -> EcdsaSignature:
    """Fig. 8, output: checks each share, sums them, normalizes to low s, verifies."""
    if set(shares) != set(R_shares):
        raise InvalidParameters("one share per signer of the presignature is needed")
    m = SECP256K1.scalar(digest_scalar(digest))
    r = SECP256K1.scalar(int.from_bytes(R.x_only(), "big") % Q)
    culprits = []
    S_total = SECP256K1.identity()
    for party, share in sorted(shares.items()):
        if share.party != party or not 0 <= share.sigma < Q:
            culprits.append(party)
            continue
        # σ_i·R = m·R_i + r·S_i: what an honest σ_i satisfies for the S_i it sent.
        if R * SECP256K1.scalar(share.sigma) != R_shares[party] * m + share.S * r:
            culprits.append(party)
        S_total = S_total + share.S
    if culprits:
        raise InvalidSignature("invalid ECDSA signature share", culprits)
    if S_total != public_key:
        # Someone's S_i is inconsistent with its χ_i; this presignature is abandoned.
        raise ConsistencyCheckFailed("ΣS_i differs from the public key")
    signature = assemble(R, sum(share.sigma for share in shares.values()))
    verify(public_key, digest, signature)
    return signature
