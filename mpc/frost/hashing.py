"""Hash constructions used by the ciphersuites.

- ``expand_message_xmd`` and ``hash_to_field`` from RFC 9380 §5.2–§5.3, used by
  FROST(secp256k1, SHA-256) for H1, H3 and HDKG (RFC 9591 §6.5).
- BIP340's tagged hash, used by the taproot variant's challenge and by BIP341's TapTweak.
"""

from __future__ import annotations

import hashlib
from functools import cache


def expand_message_xmd(message: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 expand_message_xmd with SHA-256."""
    b_in_bytes = 32
    s_in_bytes = 64
    ell = -(-length // b_in_bytes)
    # RFC 9380 §5.3.1, step 2: the output length and the DST length are bounded.
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: requested length or DST too long")
    dst_prime = dst + bytes([len(dst)])
    z_pad = bytes(s_in_bytes)
    l_i_b_str = length.to_bytes(2, "big")
    b_0 = hashlib.sha256(z_pad + message + l_i_b_str + b"\x00" + dst_prime).digest()
    b_i = hashlib.sha256(b_0 + b"\x01" + dst_prime).digest()
    uniform = [b_i]
    for i in range(2, ell + 1):
        b_i = hashlib.sha256(
            bytes(x ^ y for x, y in zip(b_0, b_i, strict=True)) + bytes([i]) + dst_prime
        ).digest()
        uniform.append(b_i)
    return b"".join(uniform)[:length]


def hash_to_field_secp256k1(message: bytes, dst: bytes, order: int) -> int:
    """RFC 9380 §5.2 hash_to_field with count 1, m 1 and L = 48 for secp256k1's scalar field."""
    return int.from_bytes(expand_message_xmd(message, dst, 48), "big") % order


@cache
def _tag_digest(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def tagged_hash(tag: str, message: bytes) -> bytes:
    """BIP340 ``hash_tag(x) = SHA256(SHA256(tag) || SHA256(tag) || x)``."""
    tag_digest = _tag_digest(tag)
    return hashlib.sha256(tag_digest + tag_digest + message).digest()
