"""Signature checks by libraries we did not write: libsecp256k1 (coincurve) and libsodium
(PyNaCl). Every benchmark runs them outside its timed region, so that its figures are of
real signatures."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from coincurve import PublicKey, PublicKeyXOnly
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from nacl.signing import VerifyKey

from mpc.group.secp256k1 import ORDER

if TYPE_CHECKING:
    from activities.models import CreateWalletResult, SignResult


def bip86_output_key(group_public_key: bytes) -> bytes:
    """The BIP86 (no script tree) taproot output key, computed with libsecp256k1 alone."""
    x = group_public_key[-32:]  # compressed (33 bytes) or x-only (32 bytes)
    tag = hashlib.sha256(b"TapTweak").digest()
    tweak = hashlib.sha256(tag + tag + x).digest()
    internal = PublicKey(b"\x02" + x)  # the even-y lift, as BIP340 keys are
    return internal.add(tweak).format(compressed=True)[1:]


def verify_ecdsa(public_key: bytes, digest: bytes, r: int, s: int, v: int | None) -> None:
    """ECDSA verification by coincurve alone: low s, verify, and recovery of the key."""
    if not 0 < r < ORDER or not 0 < s <= ORDER // 2:
        raise RuntimeError("not a low-s ECDSA signature")
    if not PublicKey(public_key).verify(encode_dss_signature(r, s), digest, hasher=None):
        raise RuntimeError("libsecp256k1 rejected an ECDSA signature")
    if v is not None:
        rs = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        recovered = PublicKey.from_signature_and_message(rs + bytes([v]), digest, hasher=None)
        if recovered.format(compressed=True) != PublicKey(public_key).format(compressed=True):
            raise RuntimeError("the recovery id does not recover the public key")


def expected_public_key(wallet: CreateWalletResult) -> bytes:
    """The key a wallet's signatures verify under: the tweaked output key for BIP340, the
    compressed group key for ECDSA, the group key itself for Ed25519."""
    group = bytes.fromhex(wallet.group_public_key)
    if wallet.scheme == "bip340":
        return bip86_output_key(group)
    if wallet.scheme == "ecdsa-secp256k1":
        return PublicKey(group).format(compressed=True)
    return group


def verify_sign_result(wallet: CreateWalletResult, message: bytes, result: SignResult) -> None:
    """A Sign workflow's result: for this wallet and message, under the wallet's key, and a
    valid signature of its scheme."""
    public_key = expected_public_key(wallet)
    signature = bytes.fromhex(result.signature)
    signed_with = bytes.fromhex(result.public_key)
    if wallet.scheme == "ecdsa-secp256k1":
        signed_with = PublicKey(signed_with).format(compressed=True)
    if bytes.fromhex(result.message) != message or result.wallet_id != wallet.wallet_id:
        raise RuntimeError(f"{result.ceremony_id}: the result is for another request")
    if signed_with != public_key:
        raise RuntimeError(
            f"{result.ceremony_id}: signed with {result.public_key}, expected {public_key.hex()}"
        )
    if wallet.scheme == "bip340":
        if not PublicKeyXOnly(public_key).verify(signature, message):
            raise RuntimeError(f"{result.ceremony_id}: libsecp256k1 rejected the signature")
    elif wallet.scheme == "ecdsa-secp256k1":
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
        verify_ecdsa(public_key, message, r, s, result.recovery_id)
    else:
        VerifyKey(public_key).verify(message, signature)  # raises BadSignatureError
