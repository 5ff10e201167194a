"""BIP341 output keys for key-path spends, computed with libsecp256k1 alone.

The chain layer derives a taproot address from the wallet's internal key itself rather
than through the MPC code, so an address is checked by a second implementation:
``Q = lift_x(P) + int(hash_TapTweak(x(P) || merkle_root)) * G`` (BIP341,
``taproot_tweak_pubkey``; an empty merkle root for a key-path-only output, BIP86).
"""

from __future__ import annotations

import hashlib

from coincurve import PublicKey

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP340's ``hash_tag(x) = SHA256(SHA256(tag) || SHA256(tag) || x)``."""
    tag_hash = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(tag_hash + tag_hash + data).digest()


def taproot_output_key(internal_key: bytes, merkle_root: bytes = b"") -> bytes:
    """The 32-byte x-only output key for an internal key (33-byte compressed or x-only)."""
    if len(internal_key) == 32:
        internal_key = b"\x02" + internal_key
    point = PublicKey(internal_key)
    x_only = point.format()[1:]
    even = PublicKey(b"\x02" + x_only)
    tweak = tagged_hash("TapTweak", x_only + merkle_root)
    if int.from_bytes(tweak, "big") >= SECP256K1_ORDER:
        raise ValueError("TapTweak out of range")
    return even.add(tweak).format()[1:]
