"""FROST aggregation on the coordinator (RFC 9591 §5.3), verified twice.

Our FROST code checks every signature share against its signer's verifying share
(naming any cheater) and the aggregate signature against the group key; then a library
we did not write checks the signature again (libsecp256k1 for BIP340, libsodium for
Ed25519) before anything is recorded as produced.
"""

from __future__ import annotations

from collections.abc import Mapping

from coincurve import PublicKeyXOnly
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from activities.errors import CeremonyAbort
from activities.models import SignPlan
from activities.protocol import ciphersuite, names_by_identifier
from mpc.frost import (
    FROST_SECP256K1_TR,
    PublicKeyPackage,
    SignatureShare,
    SigningCommitments,
    SigningPackage,
    aggregate,
)
from mpc.frost.errors import FrostError
from mpc.frost.serialization import decode
from mpc.frost.taproot import tweak_public_key_package
from mpc.group import Secp256k1Element


def aggregate_signature(
    plan: SignPlan, commitments: Mapping[str, str], signature_shares: Mapping[str, str]
) -> tuple[bytes, bytes]:
    """(public key, signature) for ``plan``'s message: the BIP340 x-only output key or
    the Ed25519 key, and the 64-byte signature.

    Raises :class:`CeremonyAbort` naming the signers whose shares fail verification.
    """
    wallet = plan.wallet
    cs = ciphersuite(wallet.ciphersuite)
    names = names_by_identifier(cs, plan.signers)
    message = bytes.fromhex(plan.message)
    public = decode(bytes.fromhex(wallet.public_key_package), PublicKeyPackage)
    if cs is FROST_SECP256K1_TR:
        root = bytes.fromhex(plan.taproot_merkle_root) if plan.taproot_merkle_root else None
        public = tweak_public_key_package(public, root)
    try:
        package = SigningPackage(
            cs,
            [decode(bytes.fromhex(c), SigningCommitments) for c in commitments.values()],
            message,
        )
        shares = [decode(bytes.fromhex(s), SignatureShare) for s in signature_shares.values()]
        signature = aggregate(package, shares, public)
    except FrostError as error:
        raise CeremonyAbort(error, sorted(names.get(c, str(c)) for c in error.culprits)) from None
    encoded = signature.to_bytes()
    key = public.verifying_key
    if isinstance(key, Secp256k1Element):
        public_key = key.x_only()
        if not PublicKeyXOnly(public_key).verify(encoded, message):
            raise RuntimeError("libsecp256k1 rejected a signature our FROST code accepted")
    else:
        public_key = key.to_bytes()
        try:
            VerifyKey(public_key).verify(message, encoded)
        except BadSignatureError:
            raise RuntimeError("libsodium rejected a signature our FROST code accepted") from None
    return public_key, encoded
