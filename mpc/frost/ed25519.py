"""FROST(Ed25519, SHA-512), RFC 9591 §6.1.

H2 is plain SHA-512 with no context string, so that every FROST(Ed25519) signature is an
ordinary RFC 8032 Ed25519 signature that any Ed25519 verifier (libsodium here) accepts.
"""

from __future__ import annotations

import hashlib
from typing import Final

from mpc.frost.ciphersuite import Ciphersuite
from mpc.group import ED25519, Scalar


class Ed25519Sha512(Ciphersuite):
    """RFC 9591 §6.1: SHA-512 outputs read little-endian and reduced modulo L."""

    group = ED25519
    context_string = b"FROST-ED25519-SHA512-v1"

    def _hash_to_scalar(self, data: bytes) -> Scalar:
        return ED25519.scalar_from_bytes_reduced(hashlib.sha512(data).digest())

    def H1(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(self.context_string + b"rho" + m)

    def H2(self, m: bytes) -> Scalar:
        # RFC 9591 §6.1: no context string, for compatibility with RFC 8032.
        return self._hash_to_scalar(m)

    def H3(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(self.context_string + b"nonce" + m)

    def H4(self, m: bytes) -> bytes:
        return hashlib.sha512(self.context_string + b"msg" + m).digest()

    def H5(self, m: bytes) -> bytes:
        return hashlib.sha512(self.context_string + b"com" + m).digest()

    def HDKG(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(self.context_string + b"dkg" + m)

    def HID(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(self.context_string + b"id" + m)


FROST_ED25519: Final = Ed25519Sha512()
